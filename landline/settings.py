"""Settings, from LANDLINE_* environment variables or the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from landline.core import groups, throttle

LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LANDLINE_", extra="ignore")

    data_dir: Path = Path("landline-data")
    # Empty means SQLite in data_dir; e.g. postgresql://localhost/test for PostgreSQL.
    database_url: str = ""
    host: str = "127.0.0.1"
    # 0 picks a free port (`landline serve` prints which).
    port: int = Field(default=8080, ge=0, le=65535)
    # Number prefix -> connector; the simulator serves North America by default.
    routes: str = "+1=simulator"
    # How long the simulated network takes to send a delivery receipt.
    sim_receipt_delay_ms: int = Field(default=1000, ge=0)
    # A text handed to a carrier that no receipt confirms within this time ends as
    # status 0 (delivered, no confirmation). Carriers keep trying for up to 48 hours.
    receipt_timeout_hours: float = Field(default=48.0, gt=0)
    # Requests a second one line may make through one API process, as a burst of the
    # same size that refills at this rate; over it, HTTP 429. 0 means no limit.
    rate_limit: float = Field(default=0, ge=0)
    # Members one group may hold; a send to a group is bounded by it (core/groups.py).
    group_max_members: int = Field(default=groups.DEFAULT_MAX_MEMBERS, ge=1, le=100_000)
    # user/login: failed logins a user name, and a client address, may make in a window
    # that opens at its first failure; past that, HTTP 429 until the window closes
    # (core/throttle.py). Counted per API process, in at most login_throttle_keys user
    # names and as many addresses (the oldest are forgotten first).
    login_failures_per_user: int = Field(default=throttle.FAILURES_PER_USER, ge=1)
    login_failures_per_address: int = Field(default=throttle.FAILURES_PER_ADDRESS, ge=1)
    login_window_seconds: float = Field(default=throttle.WINDOW_MS / 1000, gt=0)
    login_throttle_keys: int = Field(default=throttle.MAX_KEYS, ge=1)
    # Threads that check passwords (each takes a core and 19 MiB while it hashes), and
    # logins that may wait for one; past both, user/login answers HTTP 429 at once.
    login_threads: int = Field(default=2, ge=1, le=64)
    login_queue: int = Field(default=16, ge=0, le=10_000)
    # Proxies whose X-Forwarded-For names the client (comma-separated addresses or CIDRs,
    # e.g. "10.0.0.0/8,::1"). Empty: the peer is the client and the header is ignored.
    trusted_proxies: str = ""
    # How long a worker owns claimed work before another may take it over.
    lease_seconds: float = Field(default=15.0, gt=0)
    # Writer threads an API process commits with on PostgreSQL, each with its own
    # connection, so one batch's wait for its commit does not hold up the next. SQLite,
    # and a process that runs the workers, have one.
    pg_writers: int = Field(default=4, ge=1, le=16)
    # How often idle workers look for due work (new work wakes them at once).
    poll_interval_ms: int = Field(default=200, gt=0)
    default_timezone: str = "America/Los_Angeles"
    # Webhooks reach only public addresses; these comma-separated CIDRs are allowed too,
    # e.g. `127.0.0.0/8,::1/128` for receivers on this machine during development.
    webhook_allow_nets: str = ""
    # Deliveries one worker process has in flight to one webhook host at most.
    webhook_host_concurrency: int = Field(default=8, ge=1, le=256)
    # An attempt that has no complete answer in this time fails (the document says 7 s;
    # shorter is for tests).
    webhook_timeout_s: float = Field(default=7.0, gt=0, le=7.0)
    # The key that encrypts webhook signing secrets at rest (a Fernet key). Empty: the
    # key in data_dir/secret.key, made on first use. Every machine of an installation
    # that shares one PostgreSQL store must be given the same key here.
    secret_key: SecretStr = SecretStr("")
    log_level: str = "info"

    # SMPP connections, name -> smpp:// URL: every LANDLINE_SMPP_<NAME> variable, routed
    # as `smpp:<name>` (carriers/smpp/config.py lists the URL's parameters).
    smpp: dict[str, str] = Field(default_factory=dict)
    # Automatic spam protection per line (core/spam.py); 0 turns a limit off. A send
    # that would cross one is refused with -801 and the line stays flagged until
    # `landline admin line unflag`.
    spam_per_minute: int = Field(default=1000, ge=0)
    spam_per_day: int = Field(default=100_000, ge=0)
    spam_same_body_contacts: int = Field(default=1000, ge=0)

    # Where MMS content is kept: "disk" (data_dir/media) or "s3", any S3-compatible
    # store. S3 credentials come from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or a
    # profile or instance role), never from these settings.
    media_backend: Literal["disk", "s3"] = "disk"
    media_s3_bucket: str = ""
    # Empty means AWS itself; e.g. http://127.0.0.1:9000 for a MinIO.
    media_s3_endpoint: str = ""
    # Empty means AWS_REGION, then AWS_DEFAULT_REGION, then us-east-1.
    media_s3_region: str = ""
    # Put before every object's key, for a bucket shared with other things.
    media_s3_prefix: str = ""
    # Hosted content older than this many days is removed; 0 keeps it for ever.
    media_retention_days: int = Field(default=0, ge=0)
    # Hosted content one line may keep, in MB (uploads past it are refused); 0: no limit.
    media_quota_mb: int = Field(default=1024, ge=0)
    # The address carriers reach this server at (https://texts.example.com): where a REST
    # provider fetches an MMS's parts (signed links) and sends its callbacks.
    public_url: str = ""
    # A REST messaging provider that speaks Twilio's Messages API (Twilio, SignalWire,
    # ...), as the connector `twilio` (route e.g. `mms:+1=twilio`). Empty sid: none.
    upstream_account_sid: str = ""
    upstream_auth_token: SecretStr = SecretStr("")
    upstream_base_url: str = "https://api.twilio.com"
    # What one client may hold of the HTTP server. Unfinished headers are buffered, so
    # both their size and the time they take are bounded; over the size or count, 431.
    # Request line and headers together:
    max_header_bytes: int = Field(default=16 * 1024, ge=1024, le=1024 * 1024)
    max_header_count: int = Field(default=100, ge=10, le=1000)
    # From the connection (or the request's first byte) to the end of its headers.
    header_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    # From the end of the headers to the end of the body (600 KB at most).
    body_timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    # An idle connection between requests is closed after this.
    keep_alive_seconds: float = Field(default=5.0, gt=0, le=300)
    # Open connections; one more is answered 503 and closed without reading it.
    max_connections: int = Field(default=1000, ge=1, le=100_000)
    # On SIGTERM, requests still running after this are cancelled.
    shutdown_grace_seconds: float = Field(default=10.0, ge=0, le=600)

    # A mistake here would surface as failures of every request; refuse it at start.
    @field_validator("routes")
    @classmethod
    def _routes(cls, value: str) -> str:
        from landline.core.routes import RouteTable

        RouteTable.parse(value)
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _trusted_proxies(cls, value: str) -> str:
        from landline.api.clients import parse_networks

        parse_networks(value)
        return value

    @field_validator("default_timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        from landline.core import times

        try:
            times.zone(value)
        except times.InvalidTime as exc:
            raise ValueError(str(exc)) from exc
        return value

    @field_validator("webhook_allow_nets")
    @classmethod
    def _webhook_allow_nets(cls, value: str) -> str:
        from landline.core.address_policy import parse_nets

        parse_nets(value)
        return value

    @field_validator("secret_key")
    @classmethod
    def _secret_key(cls, value: SecretStr) -> SecretStr:
        from landline.webhooks.secrets import check_key

        if value.get_secret_value():
            check_key(value.get_secret_value())
        return value

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        if value.lower() not in LOG_LEVELS:
            raise ValueError("log_level must be one of " + ", ".join(LOG_LEVELS))
        return value.lower()

    @field_validator("media_s3_prefix")
    @classmethod
    def _media_s3_prefix(cls, value: str) -> str:
        if value.startswith("/") or len(value) > 200:
            raise ValueError("media_s3_prefix must not start with / (at most 200 characters)")
        return value

    @model_validator(mode="after")
    def _smpp_connections(self) -> Settings:
        import os

        from landline.carriers.smpp import config
        from landline.core.routes import RouteTable

        self.smpp = {**config.from_environ(os.environ), **self.smpp}
        for name, url in self.smpp.items():
            config.parse(name, url)
        named = {f"smpp:{name.lower()}" for name in self.smpp}
        for connector in RouteTable.parse(self.routes).connectors():
            if connector.startswith("smpp:") and connector not in named:
                raise ValueError(
                    f"route to {connector}, but LANDLINE_SMPP_{connector[5:].upper()} is not set"
                )
        return self

    @model_validator(mode="after")
    def _media_s3_bucket(self) -> Settings:
        if self.media_backend == "s3" and not self.media_s3_bucket:
            raise ValueError("media_backend s3 needs media_s3_bucket")
        return self

    @model_validator(mode="after")
    def _upstream_needs_public_url(self) -> Settings:
        if self.upstream_account_sid and not self.public_url.startswith(("https://", "http://")):
            raise ValueError(
                "upstream_account_sid needs public_url (http:// or https://), the address "
                "the provider calls back and fetches media from"
            )
        return self

    def sqlite_path(self) -> Path:
        return self.data_dir / "landline.db"
