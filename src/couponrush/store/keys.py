"""Every Redis key name the project uses, in one place.

All keys of one event share the hash tag ``{E}`` so that every script touching them
runs on one Redis Cluster slot.
"""

from __future__ import annotations

from dataclasses import dataclass

# The live index: a sorted set of the events the sweeps, the gateways' feed and the
# metrics look at, scored by when each was created (ms), so the newest come first. An
# event enters at create (before its keys), comes back on a top-up, extend, restore or
# repair, and leaves once it was archived, or finished LIVE_LINGER_S ago, and its outbox
# is drained (store.live). Past events stay out of every periodic read.
LIVE = "coupon:live"
# The set of every event id ever created, which the index replaced: read once, to adopt
# its events, then deleted (store.live.adopt_legacy).
LEGACY_EVENTS = "coupon:events"
# Dead letters of the persistence pipeline: one entry per message that will never go
# through unaided. Never trimmed: an entry leaves by a successful replay or a deliberate
# delete.
DLQ = "coupon:dlq"
# The outcome of the last reconcile of each event (event id -> JSON), for the metrics.
RECONCILE = "coupon:reconcile"


@dataclass(frozen=True, slots=True)
class EventKeys:
    event_id: str
    stock: str
    participants: str
    meta: str
    outbox: str
    # Set while a write that could re-open a sold-out event waits (see store.frozen).
    fence: str
    # The app's issue answers by result (hash result -> count), for the dashboard's mix.
    results: str
    # A counter written before each WAIT, so that the WAIT covers what was read, not only
    # what this connection wrote (see store.nodes.ReplicaWait).
    barrier: str
    # A shuffled opening's queue (docs/fair-opening.md): a sorted set in the order served,
    # the pre-queue first (score 0, member "order_key:ticket"), then those who joined
    # after the opening (score: their arrival number, member: the ticket).
    queue: str
    # Who is in the queue: user_id -> its member of ``queue``.
    queue_users: str

    @property
    def script_keys(self) -> tuple[str, str, str, str]:
        """The KEYS order shared by issue.lua, queue.lua, create_event.lua and
        amend_event.lua."""
        return (self.stock, self.participants, self.meta, self.outbox)

    @property
    def issue_keys(self) -> tuple[str, str, str, str, str, str]:
        """issue.lua's and queue.lua's KEYS: the script keys, then the queue's two."""
        return (*self.script_keys, self.queue, self.queue_users)


_TAG_START = len("coupon:{")


def event_keys(event_id: str) -> EventKeys:
    tag = f"coupon:{{{event_id}}}"
    return EventKeys(
        event_id=event_id,
        stock=f"{tag}:stock",
        participants=f"{tag}:participants",
        meta=f"{tag}:meta",
        outbox=f"{tag}:outbox",
        fence=f"{tag}:fence",
        results=f"{tag}:results",
        barrier=f"{tag}:barrier",
        queue=f"{tag}:queue",
        queue_users=f"{tag}:queue:users",
    )


def event_of(key: str) -> str:
    """The event id of any per-event key (the inverse of event_keys)."""
    return key[_TAG_START : key.rindex("}")]


def bucket_key(event_id: str, user_id: str) -> str:
    """The per-user token bucket of issue.lua; it shares the event's hash tag."""
    return f"coupon:{{{event_id}}}:bucket:{user_id}"


def encode_participant(slot: int, issued_at_ms: int) -> str:
    """Value stored per winner in the participants hash (see issue.lua)."""
    return f"{slot}:{issued_at_ms}"


def decode_participant(value: str | bytes) -> tuple[int, int]:
    text = value.decode() if isinstance(value, bytes) else value
    slot, _, issued = text.partition(":")
    return int(slot), int(issued or 0)
