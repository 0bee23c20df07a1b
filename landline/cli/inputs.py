"""What the commands share: options, and reading what the user typed.

Heavy modules (the store, phone-number tables) are imported inside the functions that
use them, so `--help` and argument errors answer at once.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from landline.cli.errors import CliError

if TYPE_CHECKING:
    from landline.settings import Settings
    from landline.store.access import Store
    from landline.webhooks.secrets import SecretBox

DEFAULT_DATA_DIR = Path("landline-data")

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        metavar="DIR",
        help="Folder for the SQLite store (default ./landline-data; "
        "LANDLINE_DATABASE_URL selects PostgreSQL instead).",
    ),
]
PASSWORD_HELP = "Password for user/login; '-' reads it from standard input (keeps it out of ps)."


def settings(data_dir: Path | None = None, **overrides: Any) -> Settings:
    from landline.settings import Settings

    if data_dir is not None:
        overrides["data_dir"] = data_dir
    return Settings(**overrides)


def open_store(data_dir: Path | None) -> Store:
    from landline.core.clock import SystemClock
    from landline.runtime import database_url
    from landline.store.access import Store

    return Store(database_url(settings(data_dir)), SystemClock())


def secret_box(data_dir: Path | None) -> SecretBox:
    """What opens and seals webhook signing secrets: the installation's key."""
    from landline.webhooks.secrets import SecretBox, installation_key

    found = settings(data_dir)
    return SecretBox(installation_key(found.secret_key.get_secret_value(), found.data_dir))


_UNITS_MS = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


def instant(raw: str, now_ms: int) -> int:
    """A moment: ISO 8601 with an offset, epoch milliseconds, or a while ago (`90m`, `2h`,
    `3d`)."""
    from landline.core import times

    text = raw.strip().lower()
    if len(text) >= 2 and text[-1] in _UNITS_MS and text[:-1].isdigit():
        return now_ms - int(text[:-1]) * _UNITS_MS[text[-1]]
    try:
        return times.parse_instant(raw)
    except times.InvalidTime as exc:
        raise CliError(f"not a time: {raw!r} ({exc}; or a while ago, like 90m, 2h or 3d)") from None


def number(raw: str) -> str:
    from landline.core import numbers

    try:
        return numbers.to_e164(raw)
    except numbers.InvalidNumber as exc:
        raise CliError(f"not a valid phone number: {raw!r}") from exc


def password(given: str) -> str:
    if given != "-":
        found = given
    elif sys.stdin.isatty():
        import getpass

        found = getpass.getpass("Password: ")
    else:
        found = sys.stdin.readline().rstrip("\r\n")
    if not found:
        raise CliError("the password must not be empty")
    return found


def print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2))
