"""Settings, from LANDLINE_* environment variables or the command line."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LANDLINE_", extra="ignore")

    data_dir: Path = Path("landline-data")
    # Empty means SQLite in data_dir; e.g. postgresql://localhost/test for PostgreSQL.
    database_url: str = ""
    host: str = "127.0.0.1"
    port: int = 8080
    # Number prefix -> connector; the simulator serves North America by default.
    routes: str = "+1=simulator"
    # How long the simulated network takes to send a delivery receipt.
    sim_receipt_delay_ms: int = 1000
    # How long a worker owns claimed work before another may take it over.
    lease_seconds: float = 15.0
    # How often idle workers look for due work (new work wakes them at once).
    poll_interval_ms: int = 200
    default_timezone: str = "America/Los_Angeles"
    log_level: str = "info"

    def sqlite_path(self) -> Path:
        return self.data_dir / "landline.db"
