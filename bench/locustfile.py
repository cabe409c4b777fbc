"""A Locust scenario for couponrush, for teams who already run Locust.

It is a convenience, not the measuring tool (that is `couponrush rush`, which drives far
more clients per core). Each Locust user is one shopper with its own user id and its own
X-Forwarded-For, and honours Retry-After on 429/503.

    pip install locust
    couponrush up && couponrush event create locust-sale --stock 1000
    COUPONRUSH_EVENT=locust-sale locust -f bench/locustfile.py --headless \\
        -H http://127.0.0.1:8080 -u 500 -r 100 -t 60s

Start the stack with COUPONRUSH_TRUSTED_PROXIES=127.0.0.1/32 so the gateway gives each
simulated shopper its own bucket.
"""

from __future__ import annotations

import itertools
import os

from locust import FastHttpUser, between, task

_numbers = itertools.count()
EVENT = os.environ.get("COUPONRUSH_EVENT", "locust-sale")


class Shopper(FastHttpUser):
    wait_time = between(0.0, 0.5)

    def on_start(self) -> None:
        n = next(_numbers)
        self.user_id = f"locust-{os.getpid()}-{n}"
        self.address = f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"
        self.done = False

    @task
    def issue(self) -> None:
        if self.done:
            return
        with self.client.post(
            f"/v1/events/{EVENT}/issue",
            json={"user_id": self.user_id},
            headers={"X-Forwarded-For": self.address},
            catch_response=True,
            name="/v1/events/[event]/issue",
        ) as response:
            if response.status_code in (200, 201, 410):
                self.done = True  # a final answer: issued, already issued or sold out
                response.success()
            elif response.status_code in (429, 503):
                response.success()  # shed on purpose; try again after Retry-After
                self.wait_time = lambda: float(response.headers.get("Retry-After", "1"))
            else:
                response.failure(f"{response.status_code}: {response.text[:200]}")
