"""The `landline` command: serve, worker, admin and sim."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import sys
from pathlib import Path
from typing import Annotated, Any

import click
import typer
import uvicorn

from landline.core import numbers, sessions, times
from landline.core.optout import DEFAULT_HELP_TEXT
from landline.runtime import Runtime
from landline.settings import Settings
from landline.store import lines
from landline.store.access import Store

app = typer.Typer(
    help="Landline: a self-hosted texting server for the AT&T Landline Texting API.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
admin = typer.Typer(help="Manage lines and session keys.", no_args_is_help=True)
line_app = typer.Typer(help="Text-enabled lines.", no_args_is_help=True)
session_app = typer.Typer(help="Session keys.", no_args_is_help=True)
sim = typer.Typer(help="The simulated phone network.", no_args_is_help=True)
app.add_typer(admin, name="admin")
admin.add_typer(line_app, name="line")
admin.add_typer(session_app, name="session")
app.add_typer(sim, name="sim")

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Folder for the SQLite store (default ./landline-data)."),
]


class CliError(click.ClickException):
    """A one-line error and exit status 1."""


def _settings(data_dir: Path | None = None, **overrides: Any) -> Settings:
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    return Settings(**overrides)


def _store(data_dir: Path | None) -> Store:
    from landline.core.clock import SystemClock
    from landline.runtime import database_url

    return Store(database_url(_settings(data_dir)), SystemClock())


def _number(raw: str) -> str:
    try:
        return numbers.to_e164(raw)
    except numbers.InvalidNumber as exc:
        raise CliError(f"not a valid phone number: {raw}") from exc


def _print(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2))


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    data_dir: DataDir = None,
    api_only: Annotated[
        bool, typer.Option("--api-only", help="Serve the API; run no workers.")
    ] = False,
) -> None:
    """Run the API and, unless --api-only, every worker, in one process."""
    overrides: dict[str, Any] = {}
    if host is not None:
        overrides["host"] = host
    if port is not None:
        overrides["port"] = port
    settings = _settings(data_dir, **overrides)
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    runtime = Runtime(settings, workers=not api_only)
    url = f"http://{settings.host}:{settings.port}"
    where = (settings.database_url and "PostgreSQL") or f"SQLite at {settings.sqlite_path()}"
    typer.echo(f"Landline listening on {url} ({where}; routes {settings.routes})")
    typer.echo("Create a line and its first session key:")
    typer.echo("  landline admin line add +12065550123 --password secret")
    config = uvicorn.Config(
        runtime.api(),
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        # The access log would write session keys, which travel in query strings.
        access_log=False,
        log_level=settings.log_level,
    )
    uvicorn.Server(config).run()


@app.command()
def worker(data_dir: DataDir = None) -> None:
    """Run the workers (dispatcher, carrier connectors) without the API."""
    settings = _settings(data_dir)
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )

    async def run() -> None:
        runtime = Runtime(settings)
        await runtime.start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        typer.echo(f"Landline worker running (node {runtime.store.node})")
        await stop.wait()
        await runtime.stop()

    asyncio.run(run())


@line_app.command("add")
def line_add(
    number: Annotated[str, typer.Argument(help="The line's number: 10 digits (US) or E.164.")],
    mms: Annotated[bool, typer.Option("--mms", help="Enable MMS on the line.")] = False,
    password: Annotated[
        str | None, typer.Option(help="Password for user/login with the number.")
    ] = None,
    timezone: Annotated[
        str, typer.Option(help="Time zone for dates in answers.")
    ] = times.DEFAULT_TIMEZONE,
    help_text: Annotated[str | None, typer.Option(help="Answer to HELP and INFO.")] = None,
    verified_by: Annotated[
        str | None, typer.Option(help="Who verified the customer owns the number.")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Create a text-enabled line and print it with a new session key."""
    e164 = _number(number)
    try:
        times.zone(timezone)
    except times.InvalidTime as exc:
        raise CliError(str(exc)) from exc
    store = _store(data_dir)
    try:
        if store.read_sync(lines.by_number, e164) is not None:
            raise CliError(f"line {e164} already exists")
        device_id = _new_device_id(store)
        key = sessions.new_key(device_id)
        now = store.clock.now_ms()
        password_hash = sessions.hash_password(password) if password else None

        def create(connection: Any) -> None:
            lines.create(
                connection,
                device_id=device_id,
                number=e164,
                mms=mms,
                timezone=timezone,
                password_hash=password_hash,
                help_text=help_text or DEFAULT_HELP_TEXT,
                verified_by=verified_by,
                now=now,
            )
            lines.create_session(
                connection,
                key_hash=sessions.hash_key(key),
                device_id=device_id,
                operator_id=None,
                now=now,
            )

        store.write_sync(create)
    finally:
        store.close()
    _print(
        {"number": e164, "deviceId": device_id, "mms": mms, "timezone": timezone, "session": key}
    )


def _new_device_id(store: Store) -> int:
    import secrets

    while True:
        candidate = secrets.randbelow(900_000_000) + 100_000_000
        if not store.read_sync(lines.device_exists, candidate):
            return candidate


@line_app.command("state")
def line_state(
    number: Annotated[str, typer.Argument(help="The line's number.")],
    state: Annotated[str, typer.Argument(help="active, spam or suspended.")],
    data_dir: DataDir = None,
) -> None:
    """Flag a line as spam (sends answer -801), suspend it, or make it active again."""
    if state not in ("active", "spam", "suspended"):
        raise CliError("state must be active, spam or suspended")
    e164 = _number(number)
    store = _store(data_dir)
    try:
        if not store.write_sync(lambda c: lines.set_state(c, e164, state)):
            raise CliError(f"no line {e164}")
    finally:
        store.close()
    _print({"number": e164, "state": state})


@line_app.command("operator")
def line_operator(
    number: Annotated[str, typer.Argument(help="The line's number.")],
    username: Annotated[str, typer.Argument(help="The operator's user name for user/login.")],
    password: Annotated[str, typer.Option(help="The operator's password.")],
    data_dir: DataDir = None,
) -> None:
    """Give a person their own login to a line."""
    e164 = _number(number)
    store = _store(data_dir)
    try:
        line = store.read_sync(lines.by_number, e164)
        if line is None:
            raise CliError(f"no line {e164}")
        operator_id, now = store.ids.next_id(), store.clock.now_ms()
        store.write_sync(
            lambda c: lines.add_operator(
                c,
                operator_id=operator_id,
                device_id=line.device_id,
                username=username,
                password_hash=sessions.hash_password(password),
                now=now,
            )
        )
    finally:
        store.close()
    _print({"number": e164, "username": username})


@session_app.command("create")
def session_create(
    number: Annotated[str, typer.Argument(help="The line's number.")],
    data_dir: DataDir = None,
) -> None:
    """Create a new session key for a line."""
    e164 = _number(number)
    store = _store(data_dir)
    try:
        line = store.read_sync(lines.by_number, e164)
        if line is None:
            raise CliError(f"no line {e164}")
        key, now = sessions.new_key(line.device_id), store.clock.now_ms()
        store.write_sync(
            lambda c: lines.create_session(
                c,
                key_hash=sessions.hash_key(key),
                device_id=line.device_id,
                operator_id=None,
                now=now,
            )
        )
    finally:
        store.close()
    _print({"number": e164, "deviceId": line.device_id, "session": key})


@session_app.command("revoke")
def session_revoke(
    key: Annotated[str, typer.Argument(help="The session key to revoke.")],
    data_dir: DataDir = None,
) -> None:
    """Revoke a session key at once."""
    store = _store(data_dir)
    try:
        now = store.clock.now_ms()
        if not store.write_sync(lambda c: lines.revoke_session(c, sessions.hash_key(key), now)):
            raise CliError("no live session with that key")
    finally:
        store.close()
    _print({"revoked": True})


@sim.command("text")
def sim_text(
    body: Annotated[str, typer.Argument(help="What the handset texts.")],
    source: Annotated[str, typer.Option("--from", help="The handset's number.")],
    to: Annotated[str, typer.Option("--to", help="The line's number.")],
    data_dir: DataDir = None,
) -> None:
    """A simulated handset texts a line; the running server receives it shortly."""
    from landline.carriers.simulator import handset_text

    handset, line_number = _number(source), _number(to)
    store = _store(data_dir)
    try:
        if store.read_sync(lines.by_number, line_number) is None:
            raise CliError(f"no line {line_number}")
        text_id, now = store.ids.next_id(), store.clock.now_ms()
        store.write_sync(
            lambda c: handset_text(
                c, text_id=text_id, source=handset, destination=line_number, body=body, now=now
            )
        )
    finally:
        store.close()
    _print({"from": handset, "to": line_number, "body": body, "queued": True})


def main() -> None:
    try:
        app(standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        sys.exit(130)
    except click.UsageError as exc:
        hint = f" (see: {exc.ctx.command_path} --help)" if exc.ctx else ""
        typer.echo(f"landline: {exc.format_message()}{hint}", err=True)
        sys.exit(2)
    except click.ClickException as exc:
        typer.echo(f"landline: {exc.format_message()}", err=True)
        sys.exit(1)
