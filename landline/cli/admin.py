"""`landline admin ...`: lines, operators and session keys."""

from __future__ import annotations

from typing import Annotated

import typer

from landline.cli import inputs
from landline.cli.errors import CliError
from landline.cli.inputs import PASSWORD_HELP, DataDir
from landline.cli.smpp import smpp_app
from landline.cli.webhooks import webhooks_app
from landline.core.lines import LineState
from landline.core.times import DEFAULT_TIMEZONE

admin = typer.Typer(
    help="Manage lines, operators, session keys and webhook deliveries.", no_args_is_help=True
)
line_app = typer.Typer(help="Text-enabled lines.", no_args_is_help=True)
session_app = typer.Typer(help="Session keys.", no_args_is_help=True)
admin.add_typer(line_app, name="line")
admin.add_typer(session_app, name="session")
admin.add_typer(webhooks_app, name="webhooks")
admin.add_typer(smpp_app, name="smpp")


@line_app.command("add")
def line_add(
    number: Annotated[
        str, typer.Argument(metavar="NUMBER", help="The line's number: 10 digits (US) or E.164.")
    ],
    mms: Annotated[bool, typer.Option("--mms", help="Enable MMS on the line.")] = False,
    password: Annotated[str | None, typer.Option(metavar="PASSWORD", help=PASSWORD_HELP)] = None,
    timezone: Annotated[
        str | None,
        typer.Option(
            metavar="TZ",
            help=f"Time zone for dates in answers (default LANDLINE_DEFAULT_TIMEZONE, "
            f"else {DEFAULT_TIMEZONE}).",
        ),
    ] = None,
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

    e164 = inputs.number(number)
    zone = timezone or inputs.settings(data_dir).default_timezone
    try:
        times.zone(zone)
    except times.InvalidTime as exc:
        raise CliError(str(exc)) from exc
    secret = inputs.password(password) if password is not None else None
    store = inputs.open_store(data_dir)
    try:
        line = accounts.add_line(
            store,
            number=e164,
            mms=mms,
            timezone=zone,
            password=secret,
            help_text=help_text,
            verified_by=verified_by,
        )
    except accounts.LineExists:
        raise CliError(f"line {e164} already exists") from None
    finally:
        store.close()
    inputs.print_json(
        {
            "number": e164,
            "deviceId": line.device_id,
            "mms": mms,
            "timezone": zone,
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
    from landline import accounts

    try:
        chosen = LineState(state.strip().lower())
    except ValueError:
        raise CliError("state must be active, spam or suspended") from None
    e164 = inputs.number(number)
    store = inputs.open_store(data_dir)
    try:
        if not accounts.set_state(store, e164, chosen, reason="set by the operator"):
            raise CliError(f"no line {e164}")
    finally:
        store.close()
    inputs.print_json({"number": e164, "state": str(chosen)})


@line_app.command("mms")
def line_mms(
    number: Annotated[str, typer.Argument(metavar="NUMBER", help="The line's number.")],
    setting: Annotated[str, typer.Argument(metavar="on|off", help="Enable or disable MMS.")],
    data_dir: DataDir = None,
) -> None:
    """Enable or disable MMS (messaging/send) on a line."""
    from landline.store import lines

    chosen = setting.strip().lower()
    if chosen not in ("on", "off"):
        raise CliError("the setting must be on or off")
    e164 = inputs.number(number)
    store = inputs.open_store(data_dir)
    try:
        if not store.write_sync(lambda c: lines.set_mms(c, e164, chosen == "on")):
            raise CliError(f"no line {e164}")
    finally:
        store.close()
    inputs.print_json({"number": e164, "mms": chosen == "on"})


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
    from landline import accounts
    from landline.core import numbers

    e164 = inputs.number(number)
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
    secret = inputs.password(password)
    store = inputs.open_store(data_dir)
    try:
        if not accounts.add_operator(store, e164, username, secret):
            raise CliError(f"no line {e164}")
    except accounts.UsernameTaken:
        raise CliError(f"user name {username!r} is taken") from None
    finally:
        store.close()
    inputs.print_json({"number": e164, "username": username})


@line_app.command("acl")
def line_acl(
    number: Annotated[str, typer.Argument(metavar="NUMBER", help="The line's number.")],
    networks: Annotated[
        str,
        typer.Argument(
            metavar="NETWORKS",
            help="Comma-separated client networks that may use the line's session keys "
            "(203.0.113.0/24,2001:db8::/32), or 'clear' to allow any.",
        ),
    ],
    data_dir: DataDir = None,
) -> None:
    """Restrict which client addresses may use a line's session keys; others answer 401."""
    from landline import accounts
    from landline.core import acl

    e164 = inputs.number(number)
    cleared = networks.strip().lower() == "clear"
    try:
        chosen = () if cleared else acl.parse(networks)
    except acl.BadAcl as exc:
        raise CliError(f"bad networks: {exc}") from None
    if not cleared and not chosen:
        raise CliError("give networks, or 'clear'")
    store = inputs.open_store(data_dir)
    try:
        if not accounts.set_acl(store, e164, chosen):
            raise CliError(f"no line {e164}")
    finally:
        store.close()
    inputs.print_json({"number": e164, "acl": [str(network) for network in chosen] or None})


@session_app.command("create")
def session_create(
    number: Annotated[str, typer.Argument(metavar="NUMBER", help="The line's number.")],
    data_dir: DataDir = None,
) -> None:
    """Create a new session key for a line."""
    from landline import accounts

    e164 = inputs.number(number)
    store = inputs.open_store(data_dir)
    try:
        line = accounts.add_session(store, e164)
    finally:
        store.close()
    if line is None:
        raise CliError(f"no line {e164}")
    inputs.print_json({"number": e164, "deviceId": line.device_id, "session": line.session})


@session_app.command("revoke")
def session_revoke(
    key: Annotated[str, typer.Argument(metavar="KEY", help="The session key to revoke.")],
    data_dir: DataDir = None,
) -> None:
    """Revoke a session key at once: running servers refuse it from the next request."""
    from landline import accounts

    store = inputs.open_store(data_dir)
    try:
        if not accounts.revoke_session(store, key):
            raise CliError("no live session with that key")
    finally:
        store.close()
    inputs.print_json({"revoked": True})


@line_app.command("unflag")
def line_unflag(
    number: Annotated[str, typer.Argument(metavar="NUMBER", help="The line's number.")],
    reason: Annotated[
        str, typer.Option(metavar="TEXT", help="Why the flag is cleared (kept with it).")
    ] = "cleared by the operator",
    data_dir: DataDir = None,
) -> None:
    """Clear a line's spam flag: its sends go out again."""
    from landline.store import line_flags, lines

    e164 = inputs.number(number)
    store = inputs.open_store(data_dir)
    try:
        line = store.read_sync(lines.by_number, e164)
        if line is None:
            raise CliError(f"no line {e164}")
        flag_id, now = store.ids.next_id(), store.clock.now_ms()
        cleared = store.write_sync(
            lambda c: line_flags.clear(
                c,
                device_id=line.device_id,
                reason=reason,
                actor="operator",
                flag_id=flag_id,
                now=now,
            )
        )
    finally:
        store.close()
    if not cleared:
        raise CliError(f"line {e164} is not flagged for spam")
    inputs.print_json({"number": e164, "state": str(LineState.ACTIVE)})


@line_app.command("show")
def line_show(
    number: Annotated[str, typer.Argument(metavar="NUMBER", help="The line's number.")],
    data_dir: DataDir = None,
) -> None:
    """A line's state, with every spam flag and clear and its reason, newest first."""
    from landline.core import times
    from landline.store import line_flags, lines

    e164 = inputs.number(number)
    store = inputs.open_store(data_dir)
    try:
        line = store.read_sync(lines.by_number, e164)
        if line is None:
            raise CliError(f"no line {e164}")
        flags = store.read_sync(line_flags.history, line.device_id)
    finally:
        store.close()
    inputs.print_json(
        {
            "number": e164,
            "deviceId": line.device_id,
            "state": line.state,
            "mms": line.mms,
            "timezone": line.timezone,
            "flags": [
                {
                    "action": row.action,
                    "reason": row.reason,
                    "by": row.actor,
                    "at": times.render(row.created_at, "UTC"),
                }
                for row in flags
            ],
        }
    )
