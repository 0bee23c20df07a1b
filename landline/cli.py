"""The `landline` command: serve, worker, admin and sim.

Heavy modules (the server, the store, phone-number tables) are imported inside the
commands that use them, so `--help` and argument errors answer at once.
"""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path
from shlex import quote
from typing import TYPE_CHECKING, Annotated, Any

import typer

from landline.core import sessions
from landline.core.times import DEFAULT_TIMEZONE

if TYPE_CHECKING:
    from landline.settings import Settings
    from landline.store.access import Store

app = typer.Typer(
    help="Landline: a self-hosted texting server for the AT&T Landline Texting API.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
admin = typer.Typer(help="Manage lines, operators and session keys.", no_args_is_help=True)
line_app = typer.Typer(help="Text-enabled lines.", no_args_is_help=True)
session_app = typer.Typer(help="Session keys.", no_args_is_help=True)
sim = typer.Typer(help="The simulated phone network.", no_args_is_help=True)
app.add_typer(admin, name="admin")
admin.add_typer(line_app, name="line")
admin.add_typer(session_app, name="session")
app.add_typer(sim, name="sim")

DEFAULT_DATA_DIR = Path("landline-data")
LINE_STATES = ("active", "spam", "suspended")

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


class CliError(Exception):
    """A failure the user can fix: printed as one line, exit status 1."""


def _settings(data_dir: Path | None = None, **overrides: Any) -> Settings:
    from landline.settings import Settings

    if data_dir is not None:
        overrides["data_dir"] = data_dir
    return Settings(**overrides)


def _store(data_dir: Path | None) -> Store:
    from landline.core.clock import SystemClock
    from landline.runtime import database_url
    from landline.store.access import Store

    return Store(database_url(_settings(data_dir)), SystemClock())


def _number(raw: str) -> str:
    from landline.core import numbers

    try:
        return numbers.to_e164(raw)
    except numbers.InvalidNumber as exc:
        raise CliError(f"not a valid phone number: {raw!r}") from exc


def _password(given: str) -> str:
    if given != "-":
        password = given
    elif sys.stdin.isatty():
        import getpass

        password = getpass.getpass("Password: ")
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise CliError("the password must not be empty")
    return password


def _print(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2))


def _is_duplicate(exc: Exception) -> bool:
    from sqlalchemy.exc import IntegrityError

    return isinstance(exc, IntegrityError)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(metavar="HOST", help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(metavar="PORT", help="Port to listen on.")] = None,
    data_dir: DataDir = None,
    api_only: Annotated[
        bool, typer.Option("--api-only", help="Serve the API; run no workers.")
    ] = False,
) -> None:
    """Run the API and, unless --api-only, every worker, in one process."""
    import logging

    from sqlalchemy.engine import make_url

    from landline.http.server import run_server
    from landline.runtime import Runtime

    overrides: dict[str, Any] = {}
    if host is not None:
        overrides["host"] = host
    if port is not None:
        overrides["port"] = port
    settings = _settings(data_dir, **overrides)
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # Bind first, so a taken port is one clear line, not a banner followed by a server
    # that never was.
    listener = _listen(settings.host, settings.port)
    runtime = Runtime(settings, workers=not api_only)
    url = f"http://{settings.host}:{listener.getsockname()[1]}"
    if settings.database_url:
        # The URL may carry the database password; show where, never how to get in.
        shown = make_url(settings.database_url).render_as_string(hide_password=True)
        where, store_flag = f"PostgreSQL at {shown}", ""
    else:
        where = f"SQLite at {settings.sqlite_path()}"
        store_flag = (
            ""
            if settings.data_dir == DEFAULT_DATA_DIR
            else f" --data-dir {quote(str(settings.data_dir))}"
        )
    typer.echo(f"Landline listening on {url} ({where}; routes {settings.routes})")
    typer.echo("Get a session key, from another terminal in this folder:")
    typer.echo(f"  new line:      landline admin line add 2065550123 --password -{store_flag}")
    typer.echo(f"  existing line: landline admin session create 2065550123{store_flag}")
    typer.echo(f"  API clients:   POST {url}/user/login with username and password")
    run_server(runtime.api(), settings, listener)


def _listen(host: str, port: int) -> socket.socket:
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        listener = socket.socket(family, kind, proto)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(address)
    except OSError as exc:
        raise CliError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return listener


@app.command()
def worker(data_dir: DataDir = None) -> None:
    """Run the workers (dispatcher, carrier connectors) without the API."""
    import asyncio
    import logging
    import signal

    from landline.runtime import Runtime

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
    number: Annotated[
        str, typer.Argument(metavar="NUMBER", help="The line's number: 10 digits (US) or E.164.")
    ],
    mms: Annotated[bool, typer.Option("--mms", help="Enable MMS on the line.")] = False,
    password: Annotated[str | None, typer.Option(metavar="PASSWORD", help=PASSWORD_HELP)] = None,
    timezone: Annotated[str, typer.Option(metavar="TZ", help="Time zone for dates in answers.")] = (
        DEFAULT_TIMEZONE
    ),
    help_text: Annotated[
        str | None, typer.Option(metavar="TEXT", help="Answer to HELP and INFO.")
    ] = None,
    verified_by: Annotated[
        str | None, typer.Option(metavar="WHO", help="Who verified the customer owns the number.")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Create a text-enabled line and print it with a new session key."""
    from landline import accounts
    from landline.core import times

    e164 = _number(number)
    try:
        times.zone(timezone)
    except times.InvalidTime as exc:
        raise CliError(str(exc)) from exc
    secret = _password(password) if password is not None else None
    store = _store(data_dir)
    try:
        line = accounts.add_line(
            store,
            number=e164,
            mms=mms,
            timezone=timezone,
            password=secret,
            help_text=help_text,
            verified_by=verified_by,
        )
    except accounts.LineExists:
        raise CliError(f"line {e164} already exists") from None
    finally:
        store.close()
    _print(
        {
            "number": e164,
            "deviceId": line.device_id,
            "mms": mms,
            "timezone": timezone,
            "session": line.session,
        }
    )


@line_app.command("state")
def line_state(
    number: Annotated[str, typer.Argument(metavar="NUMBER", help="The line's number.")],
    state: Annotated[str, typer.Argument(metavar="STATE", help="active, spam or suspended.")],
    data_dir: DataDir = None,
) -> None:
    """Flag a line as spam (sends answer -801), suspend it, or make it active again."""
    from landline.store import lines

    state = state.strip().lower()
    if state not in LINE_STATES:
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
    number: Annotated[str, typer.Argument(metavar="NUMBER", help="The line's number.")],
    username: Annotated[
        str, typer.Argument(metavar="USERNAME", help="The operator's user name for user/login.")
    ],
    password: Annotated[str, typer.Option(metavar="PASSWORD", help=PASSWORD_HELP)],
    data_dir: DataDir = None,
) -> None:
    """Give a person their own login to a line."""
    from landline.core import numbers
    from landline.store import lines

    e164 = _number(number)
    username = username.strip()
    if not username:
        raise CliError("the user name must not be empty")
    try:
        numbers.to_e164(username)
    except numbers.InvalidNumber:
        pass
    else:
        # user/login reads a phone number as a line's number, so this name could not log in.
        raise CliError(f"user name {username!r} looks like a phone number; choose another")
    password_hash = sessions.hash_password(_password(password))
    store = _store(data_dir)
    try:
        line = store.read_sync(lines.by_number, e164)
        if line is None:
            raise CliError(f"no line {e164}")
        if store.read_sync(lines.operator_login, username) is not None:
            raise CliError(f"user name {username!r} is taken")
        operator_id, now = store.ids.next_id(), store.clock.now_ms()
        try:
            store.write_sync(
                lambda c: lines.add_operator(
                    c,
                    operator_id=operator_id,
                    device_id=line.device_id,
                    username=username,
                    password_hash=password_hash,
                    now=now,
                )
            )
        except Exception as exc:
            if _is_duplicate(exc):
                raise CliError(f"user name {username!r} is taken") from None
            raise
    finally:
        store.close()
    _print({"number": e164, "username": username})


@session_app.command("create")
def session_create(
    number: Annotated[str, typer.Argument(metavar="NUMBER", help="The line's number.")],
    data_dir: DataDir = None,
) -> None:
    """Create a new session key for a line."""
    from landline import accounts

    e164 = _number(number)
    store = _store(data_dir)
    try:
        line = accounts.add_session(store, e164)
    finally:
        store.close()
    if line is None:
        raise CliError(f"no line {e164}")
    _print({"number": e164, "deviceId": line.device_id, "session": line.session})


@session_app.command("revoke")
def session_revoke(
    key: Annotated[str, typer.Argument(metavar="KEY", help="The session key to revoke.")],
    data_dir: DataDir = None,
) -> None:
    """Revoke a session key at once."""
    from landline.store import lines

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
    body: Annotated[str, typer.Argument(metavar="BODY", help="What the handset texts.")],
    source: Annotated[str, typer.Option("--from", metavar="NUMBER", help="The handset's number.")],
    to: Annotated[str, typer.Option("--to", metavar="NUMBER", help="The line's number.")],
    data_dir: DataDir = None,
) -> None:
    """A simulated handset texts a line; the running server receives it shortly."""
    from landline.carriers.simulator import handset_text
    from landline.store import lines

    handset, line_number = _number(source), _number(to)
    if not body:
        raise CliError("the text must not be empty")
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


def main(argv: list[str] | None = None) -> None:
    """Run the command; every failure a user can cause ends as one line on stderr."""
    try:
        result = app(args=argv, prog_name="landline", standalone_mode=False)
    except Exception as exc:
        code, message = _explain(exc)
        if message:
            typer.echo(f"landline: {' '.join(message.split())}", err=True)
        sys.exit(code)
    except KeyboardInterrupt:
        sys.exit(130)
    sys.exit(result if isinstance(result, int) else 0)


def _click_exceptions() -> list[Any]:
    """The exception modules of click and of typer's own copy of it (typer >= 0.20)."""
    found = []
    try:
        from typer._click import exceptions as vendored

        found.append(vendored)
    except ImportError:
        pass
    try:
        from click import exceptions as upstream

        found.append(upstream)
    except ImportError:
        pass
    return found


def _of(exc: Exception, name: str) -> bool:
    kinds = tuple(getattr(module, name) for module in _click_exceptions() if hasattr(module, name))
    return bool(kinds) and isinstance(exc, kinds)


def _explain(exc: Exception) -> tuple[int, str | None]:
    """(exit status, the one line to print) for an exception that ends the command."""
    if isinstance(exc, CliError):
        return 1, str(exc)
    if _of(exc, "NoArgsIsHelpError"):
        # A command group given no command: its help is the answer, as click prints it.
        typer.echo(exc.format_message(), err=True)  # type: ignore[attr-defined]
        return 2, None
    if _of(exc, "UsageError"):
        ctx = getattr(exc, "ctx", None)
        hint = f" (see: {ctx.command_path} --help)" if ctx is not None else ""
        return 2, f"{exc.format_message()}{hint}"  # type: ignore[attr-defined]
    if _of(exc, "ClickException"):
        return int(getattr(exc, "exit_code", 1)), exc.format_message()  # type: ignore[attr-defined]
    if _of(exc, "Exit"):
        return int(getattr(exc, "exit_code", 0)), None
    if _of(exc, "Abort") or isinstance(exc, typer.Abort):
        return 130, "aborted"
    return _explain_environment(exc)


def _explain_environment(exc: Exception) -> tuple[int, str | None]:
    """Failures of the surroundings: settings, the database, the file system."""
    from pydantic import ValidationError
    from sqlalchemy.exc import ArgumentError, DBAPIError

    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        return 2, f"bad setting {where} (LANDLINE_{where.upper()}): {first['msg']}"
    if isinstance(exc, ArgumentError):
        return 2, "LANDLINE_DATABASE_URL is not a database URL"
    if isinstance(exc, DBAPIError):
        # The driver's own first line names the problem (refused, no such database...);
        # the SQL and its parameters stay out of it.
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        return 1, f"the database failed: {reason}"
    if isinstance(exc, OSError):
        return 1, str(exc)
    from landline.runtime import WorkersBusy

    if isinstance(exc, WorkersBusy):
        return 1, str(exc)
    raise exc
