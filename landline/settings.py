"""Settings, from LANDLINE_* environment variables or the command line."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

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
    # How long a worker owns claimed work before another may take it over.
    lease_seconds: float = Field(default=15.0, gt=0)
    # How often idle workers look for due work (new work wakes them at once).
    poll_interval_ms: int = Field(default=200, gt=0)
    default_timezone: str = "America/Los_Angeles"
    log_level: str = "info"

    # What one client may hold of the HTTP server. Unfinished headers are buffered, so
    # both their size and the time they take are bounded; over the size or count, 431.
    # Request line and headers together:
    max_header_bytes: int = Field(default=16 * 1024, ge=1024, le=1024 * 1024)
    max_header_count: int = Field(default=100, ge=10, le=1000)
    # From the connection (or the request's first byte) to the end of its headers.
    header_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
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

    @field_validator("default_timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        from landline.core import times

        try:
            times.zone(value)
        except times.InvalidTime as exc:
            raise ValueError(str(exc)) from exc
        return value

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        if value.lower() not in LOG_LEVELS:
            raise ValueError("log_level must be one of " + ", ".join(LOG_LEVELS))
        return value.lower()

    def sqlite_path(self) -> Path:
        return self.data_dir / "landline.db"
