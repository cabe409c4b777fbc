"""`couponrush chaos`: a burst through the gateway with one fault injected mid-burst, then a
set check in the style of Jepsen and the time the system took to recover."""
