"""The one settings object, read from ``COUPONRUSH_*`` environment variables.

Built in the entry point (CLI command or the app factory) and passed down; nothing here
runs at import time.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Annotated, Literal, TypedDict

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from couponrush.core.errors import ConfigError

# Values that must never guard a real deployment.
_WEAK_SECRETS = frozenset({"", "changeme", "change-me", "admin", "secret", "token", "default"})
_MIN_SECRET_LEN = 16
# Replicas per primary of the recommended Sentinel and Cluster layouts (and the local
# stack's): a win waits for all of them unless REDIS_WAIT_REPLICAS says otherwise.
DEFAULT_REPLICAS = 2
# Clock-rate skew between hosts and the gateway's cached time, on top of the lease.
_FENCE_MARGIN_S = 0.5
# Secrets that may come from a file instead (<name>_file: a mounted compose or Kubernetes
# secret), so that their value stays out of the process's environment.
SECRET_FILES = ("redis_password", "database_password", "kafka_sasl_password")
SslMode = Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]


class DatabaseArgs(TypedDict, total=False):
    """asyncpg.connect's arguments besides the URL (Settings.database_connect_args)."""

    password: str
    ssl: SslMode


def _default_workers() -> int:
    """App workers of the stack: one per core but one, which is left to nginx, Redis,
    PostgreSQL and the consumer. On 2 cores one worker answers ~30k sold-out req/s through
    the gateway and two ~24k: a second process there buys context switches, not work."""
    return max(1, (os.cpu_count() or 1) - 1)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="COUPONRUSH_", extra="ignore")

    redis_url: str = "redis://127.0.0.1:6379/0"
    # standalone: REDIS_URL is the server; sentinel: REDIS_URL lists the sentinels
    # (redis+sentinel://h1:p1,h2:p2/master-name); cluster: REDIS_URL lists seed nodes.
    redis_mode: Literal["standalone", "sentinel", "cluster"] = "standalone"
    # Replicas that must confirm a batch of wins (WAIT) before "issued" is answered;
    # unset: every replica of the recommended layout (2 per primary) in sentinel and
    # cluster modes, 0 standalone. Fewer than every replica can lose an acknowledged win
    # when the replica that did not confirm is the one promoted (docs/high-availability.md).
    redis_wait_replicas: int | None = Field(default=None, ge=0, le=16)
    redis_wait_timeout_ms: int = Field(default=200, ge=1, le=60_000)
    # Redis credentials: an ACL user of deploy/redis/users.acl ("" = the default user, as
    # the local stack's loopback-only Redis has it) and its password.
    redis_username: str = ""
    redis_password: SecretStr = SecretStr("")
    redis_password_file: Path | None = None
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    workers: int = Field(default_factory=_default_workers, ge=1, le=256)
    admin_token: SecretStr = SecretStr("")
    coupon_secret: SecretStr = SecretStr("")

    # Deadline for one pipelined Redis round trip; past it the request gets 503.
    redis_timeout_ms: int = Field(default=500, ge=10, le=60_000)
    retry_after_s: int = Field(default=1, ge=1, le=3600)
    max_body_bytes: int = Field(default=2048, ge=64, le=1_048_576)
    # Most issue calls sent to Redis in one pipeline.
    batch_max: int = Field(default=1024, ge=1, le=100_000)
    redis_pool_size: int = Field(default=16, ge=1, le=1024)

    # Edge traffic management. The gateway (nginx) is the public entry of the stack.
    gateway_host: str = "127.0.0.1"
    gateway_port: int = Field(default=8080, ge=0, le=65535)
    # CIDRs whose X-Forwarded-For is believed; empty = believe no one.
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    client_rate_per_s: int = Field(default=20, ge=1, le=1_000_000)
    client_burst: int = Field(default=40, ge=1, le=1_000_000)
    conn_per_client: int = Field(default=64, ge=1, le=65_535)
    # Requests one app worker takes at once through the gateway (global capacity).
    worker_max_conns: int = Field(default=256, ge=1, le=100_000)
    gateway_workers: str = "auto"
    # How the gateway reaches the app workers: Unix sockets (cheaper) or loopback TCP.
    app_transport: Literal["uds", "tcp"] = "uds"
    client_timeout_s: int = Field(default=5, ge=1, le=300)
    # The gateway's global request-rate bound: requests per second it passes on to each app
    # worker behind it (0 = off); beyond that it answers 503 overloaded at once. Sized from
    # one worker's measured issuing capacity through the gateway (bench/overload; on the
    # 2-core reference box 5-10k a second, docs/gateway.md). Needs gateway_lua.
    worker_rate_per_s: int = Field(default=10_000, ge=0, le=1_000_000)
    # The gateway's overload answers (503) say Retry-After between retry_after_s and this
    # many seconds more, chosen per request, so that shed clients come back spread out.
    retry_after_spread_s: int = Field(default=2, ge=0, le=15)
    # nginx's Lua module (Debian libnginx-mod-http-lua) at the gateway: the sold-out edge,
    # the global rate bound and /gateway/metrics. Off: plain nginx (deploy/'s official image).
    gateway_lua: bool = True
    # The gateway's JSON access log (the local stack writes var/logs/gateway-access.log).
    gateway_access_log: bool = True
    # CIDRs besides loopback that may read the gateway's /gateway/metrics.
    gateway_metrics_from: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # The sold-out edge: once an event has sold out, the gateway answers non-winners' issue
    # requests with the app's own 410 itself. Each gateway polls the app's internal feed
    # (/internal/edge/, with this bearer token; empty: the feed is closed) every
    # edge_poll_ms and answers only from what it verified within soldout_lease_ms.
    edge_answers: bool = True
    edge_poll_ms: int = Field(default=200, ge=10, le=30_000)
    edge_feed_token: SecretStr = SecretStr("")
    # Events with more winners are left to the app; the shared memory holds the winners.
    edge_max_winners: int = Field(default=100_000, ge=0, le=10_000_000)
    edge_memory_mb: int = Field(default=64, ge=1, le=4096)
    # How long a verified sold-out state may be answered from without verifying it again,
    # at the gateway and in the app workers' caches. A write that could re-open a sold-out
    # event (restore, repair) fences it and waits this long (plus a margin) first.
    soldout_lease_ms: int = Field(default=2000, ge=100, le=60_000)
    # The win lane: the gateway runs issue.lua itself for a plain claim and answers a win
    # (docs/gateway.md); anything else goes on to the app. Needs gateway_lua, Debian's
    # lua-nginx-redis and lua-nginx-redis-connector, unsigned user ids (auth=none: the
    # gateway verifies no token) and Redis standalone or Sentinel (not Cluster).
    gateway_wins: bool = True
    # The gateway's read timeout for the operator's long calls (a top-up waits out the
    # lease behind its fence; an export streams); the issue path keeps its own deadline.
    operator_timeout_s: int = Field(default=30, ge=5, le=3600)
    # App layer: a token bucket per user id in Redis (0 = off) and a bound on in-flight
    # Redis work per worker process (admission control).
    user_rate_per_s: float = Field(default=5.0, ge=0)
    user_burst: int = Field(default=10, ge=1, le=1_000_000)
    max_in_flight: int = Field(default=512, ge=1, le=1_000_000)

    # Live dashboard (/dashboard/<event>): viewers per worker process (more -> 503), how
    # often its one poller per worker reads Redis, and how long a login lasts.
    dashboard_max_viewers: int = Field(default=16, ge=1, le=10_000)
    dashboard_interval_ms: int = Field(default=1000, ge=100, le=60_000)
    dashboard_session_s: int = Field(default=1800, ge=60, le=86_400)
    # Signed user identity. "jwt": the user id is the `sub` of a bearer token signed with
    # the shop's key (RS256 or ES256), so no client can claim a coupon for someone else.
    auth: Literal["none", "jwt"] = "none"
    # "none" serves only next to this, and logs a warning at start: anyone may then claim
    # a coupon under any user id (a shop's backend calling, a load test, the local stack).
    allow_unsigned_users: bool = False
    # The verifying keys: a JWKS URL (fetched and cached, refetched for a key id it has
    # not seen, so the shop can rotate), or one public key as PEM text or a file.
    jwt_jwks_url: str = ""
    jwt_jwks_cache_s: int = Field(default=300, ge=10, le=86_400)
    jwt_public_key: str = ""
    jwt_public_key_file: Path | None = None
    jwt_algorithms: Annotated[list[str], NoDecode] = Field(default=["RS256", "ES256"])
    jwt_issuer: str = ""  # checked when set
    jwt_audience: str = ""  # required with auth=jwt: a token minted for another service fails
    jwt_leeway_s: int = Field(default=30, ge=0, le=600)

    # Persistence pipeline (outbox -> [Kafka] -> consumer -> PostgreSQL).
    database_url: str = "postgresql://couponrush@127.0.0.1:5432/couponrush"
    # Given apart from the URL (a secret of its own); wins over a password in the URL.
    database_password: SecretStr = SecretStr("")
    database_password_file: Path | None = None
    # libpq's sslmode for asyncpg and the migrations alike; unset: the URL's, else prefer.
    database_sslmode: SslMode | None = None
    # "stream": the consumer reads the Redis outbox directly (no broker);
    # "kafka": the relay moves the outbox to Kafka and the consumer reads the topic.
    queue: Literal["stream", "kafka"] = "stream"
    kafka_bootstrap: str = ""
    # SASL (SASL_PLAINTEXT, or SASL_SSL with the CA of kafka_ssl_ca_file) for the relay,
    # the consumer and the topic set-up; PLAINTEXT: no authentication.
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "SCRAM-SHA-512"
    kafka_sasl_username: str = ""
    kafka_sasl_password: SecretStr = SecretStr("")
    kafka_sasl_password_file: Path | None = None
    kafka_ssl_ca_file: Path | None = None
    kafka_topic: str = "coupon.issued"
    # The topic as the pipeline creates it when it is missing, and checks it at every start
    # (a topic that disagrees is refused): as compose runs it, 12 partitions (room for 12
    # consumers), 3 copies of each, a write acknowledged once 2 of them hold it.
    kafka_partitions: int = Field(default=12, ge=1, le=10_000)
    kafka_replication_factor: int = Field(default=3, ge=1, le=16)
    kafka_min_insync_replicas: int = Field(default=2, ge=1, le=16)
    # How long the relay's producer tries to deliver a message before the batch fails and
    # is sent again by a new producer (librdkafka's message.timeout.ms).
    kafka_delivery_timeout_ms: int = Field(default=10_000, ge=1_000, le=600_000)
    # A consumer that does not poll for this long leaves its group. While a batch waits on
    # the database it keeps polling with its partitions paused, so an outage of any length
    # keeps it in; this bounds only a consumer that is truly stuck. At least the session
    # timeout (6 s).
    kafka_max_poll_interval_ms: int = Field(default=300_000, ge=6_000, le=86_400_000)
    consumer_group: str = "couponrush-db"
    relay_group: str = "couponrush-relay"
    consumer_batch: int = Field(default=500, ge=1, le=50_000)
    consumer_block_ms: int = Field(default=100, ge=1, le=60_000)
    # A pending outbox entry idle this long belongs to a dead consumer and is reclaimed.
    reclaim_idle_ms: int = Field(default=30_000, ge=100)
    # Transient failures are retried with capped exponential backoff and full jitter
    # for this long before the process gives up (and is restarted by its supervisor).
    retry_for_s: float = Field(default=600.0, ge=0)
    retry_cap_s: float = Field(default=5.0, gt=0)

    # Local stack (couponrush up): state folder and ports; 0 = pick a free port.
    var_dir: Path = Path("var")
    stack_redis_port: int = Field(default=0, ge=0, le=65535)
    stack_pg_port: int = Field(default=0, ge=0, le=65535)
    stack_kafka_port: int = Field(default=0, ge=0, le=65535)
    # Apache Kafka brokers of the local stack in Kafka mode (3: as compose, replication 3,
    # min.insync.replicas 2).
    stack_kafka_brokers: int = Field(default=1, ge=1, le=9)
    # The local stack also runs a Prometheus and the Redis and PostgreSQL exporters.
    stack_prometheus: bool = True
    log_level: str = "info"
    # Where the pipeline processes serve /metrics and /readyz (127.0.0.1: this host only).
    metrics_host: str = "127.0.0.1"
    # How often the pipeline reads the per-event figures of its metrics from Redis, and for
    # how many events at most (the newest live ones).
    metrics_interval_s: float = Field(default=1.0, gt=0, le=300)
    metrics_max_events: int = Field(default=1000, ge=0, le=100_000)
    # A finished event (window over, or sold out) stays live this long: in the sweeps, the
    # gateways' feed and the metrics; then, once its outbox is drained, it leaves them.
    live_linger_s: float = Field(default=600.0, ge=0, le=86_400)

    @field_validator("trusted_proxies", "jwt_algorithms", "gateway_metrics_from", mode="before")
    @classmethod
    def _split_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("jwt_public_key")
    @classmethod
    def _pem_lines(cls, value: str) -> str:
        # An env file holds one line: a PEM there has its newlines written as \n.
        return value.replace("\\n", "\n")

    @field_validator("trusted_proxies", "gateway_metrics_from")
    @classmethod
    def _valid_cidrs(cls, value: list[str]) -> list[str]:
        return [str(ipaddress.ip_network(cidr, strict=False)) for cidr in value]

    @field_validator("jwt_algorithms")
    @classmethod
    def _asymmetric_only(cls, value: list[str]) -> list[str]:
        # A shared-secret algorithm would let anyone holding the verifying key sign.
        allowed = {
            "RS256",
            "RS384",
            "RS512",
            "ES256",
            "ES384",
            "ES512",
            "PS256",
            "PS384",
            "PS512",
            "EdDSA",
        }
        if not value or set(value) - allowed:
            raise ValueError(f"jwt_algorithms must be among {sorted(allowed)}")
        return value

    def jwt_key(self) -> str:
        """The verifying key's PEM text ("" with a JWKS URL); ConfigError when jwt is on
        and there is neither."""
        key = self.jwt_public_key
        if not key and self.jwt_public_key_file is not None:
            key = self.jwt_public_key_file.read_text()
        if self.auth == "jwt" and not self.jwt_jwks_url and "BEGIN PUBLIC KEY" not in key:
            raise ConfigError(
                "COUPONRUSH_AUTH=jwt needs COUPONRUSH_JWT_JWKS_URL, COUPONRUSH_JWT_PUBLIC_KEY "
                "or COUPONRUSH_JWT_PUBLIC_KEY_FILE holding a PEM public key"
            )
        return key

    def check_identity(self) -> None:
        """Refuse to serve unsigned user ids unless allowed on purpose, and signed ones
        without an audience to check."""
        if self.auth == "none" and not self.allow_unsigned_users:
            raise ConfigError(
                "COUPONRUSH_AUTH=none lets anyone claim a coupon under any user id: set "
                "COUPONRUSH_AUTH=jwt (docs/identity.md), or COUPONRUSH_ALLOW_UNSIGNED_USERS=true "
                "where only a trusted backend or a load test calls"
            )
        if self.auth == "jwt" and not self.jwt_audience:
            raise ConfigError("COUPONRUSH_AUTH=jwt needs COUPONRUSH_JWT_AUDIENCE")
        self.jwt_key()

    @model_validator(mode="after")
    def _secret_files(self) -> Settings:
        """<name>_file (a mounted secret) stands for <name>: its text, less the line end."""
        for name in SECRET_FILES:
            path: Path | None = getattr(self, f"{name}_file")
            if path is None:
                continue
            if getattr(self, name).get_secret_value():
                raise ValueError(f"set {name} or {name}_file, not both")
            try:
                text = path.read_text().rstrip("\r\n")
            except OSError as exc:
                raise ValueError(f"{name}_file: {exc}") from exc
            setattr(self, name, SecretStr(text))
        return self

    @model_validator(mode="after")
    def _poll_within_lease(self) -> Settings:
        # A poll that cannot come twice within the lease lets every answer lapse.
        if self.edge_poll_ms * 2 > self.soldout_lease_ms:
            raise ValueError("edge_poll_ms must be at most half of soldout_lease_ms")
        if self.operator_timeout_s <= self.fence_wait_s:
            raise ValueError("operator_timeout_s must exceed the fence's wait (the lease + 0.5 s)")
        return self

    @model_validator(mode="after")
    def _in_sync_within_copies(self) -> Settings:
        if self.kafka_min_insync_replicas > self.kafka_replication_factor:
            raise ValueError("kafka_min_insync_replicas must be at most kafka_replication_factor")
        return self

    @property
    def fence_wait_s(self) -> float:
        """How long a write that could re-open a sold-out event waits behind its fence: by
        then every gateway and app cache dropped what it had verified before the fence."""
        return self.soldout_lease_ms / 1000 + _FENCE_MARGIN_S

    def database_connect_args(self) -> DatabaseArgs:
        """asyncpg's arguments besides the URL: the password and sslmode, where set."""
        args = DatabaseArgs()
        if self.database_password.get_secret_value():
            args["password"] = self.database_password.get_secret_value()
        if self.database_sslmode:
            args["ssl"] = self.database_sslmode
        return args

    @property
    def outbox_group(self) -> str:
        """The consumer group that drains the outbox: the consumer's in stream mode, the
        relay's in Kafka mode (the backlog is counted against it)."""
        return self.consumer_group if self.queue == "stream" else self.relay_group

    @property
    def wait_replicas(self) -> int:
        """Replicas that must confirm a batch of wins before it is answered (0: no WAIT)."""
        if self.redis_wait_replicas is not None:
            return self.redis_wait_replicas
        return 0 if self.redis_mode == "standalone" else DEFAULT_REPLICAS

    def check_secrets(self, *names: str) -> None:
        """Refuse to serve with an empty, default or short admin token or code secret
        (both unless ``names`` picks some)."""
        for name in names or ("admin_token", "coupon_secret"):
            value: SecretStr = getattr(self, name)
            raw = value.get_secret_value()
            if raw.lower() in _WEAK_SECRETS or len(raw) < _MIN_SECRET_LEN:
                env = f"COUPONRUSH_{name.upper()}"
                raise ConfigError(
                    f"{env} must be set to a random value of at least {_MIN_SECRET_LEN} "
                    "characters (couponrush up generates one for the local stack)"
                )
