"""`landline admin webhooks ...`: deliveries, hosts, signing secrets and replays."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from landline.cli import inputs
from landline.cli.errors import CliError
from landline.cli.inputs import DataDir

if TYPE_CHECKING:
    from rich.console import Console

    from landline.store.delivery_reports import DeliveryReport

webhooks_app = typer.Typer(
    help="Webhook deliveries, hosts, signing secrets and replays.", no_args_is_help=True
)

STATES = ("pending", "failed", "delivered", "given-up")
# How an attempt's failure kind is shown.
_KIND_NAMES = {
    "dns": "DNS",
    "connect": "connect",
    "tls": "TLS",
    "timeout": "timeout",
    "redirect": "redirect",
    "http": "HTTP",
    "protocol": "protocol",
    "refused": "refused",
}


def _console() -> Console:
    from rich.console import Console

    # Piped output is read by people and scripts too: do not squeeze it into 80 columns.
    return Console(width=None if sys.stdout.isatty() else 200, highlight=False)


def _when(ms: int | None) -> str:
    if ms is None:
        return ""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _ago(ms: int | None, now: int) -> str:
    if ms is None:
        return ""
    seconds = max(now - ms, 0) // 1000
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86_400
    if days:
        return f"{days}d {hours % 24}h"
    if hours:
        return f"{hours}h {minutes % 60}m"
    if minutes:
        return f"{minutes}m {seconds % 60}s"
    return f"{seconds}s"


def _outcome(kind: str | None, status: int | None) -> str:
    if kind in (None, "http") and status is not None:
        return f"HTTP {status}"
    name = _KIND_NAMES.get(kind or "", kind or "?")
    return f"{name} {status}" if status is not None else name


def _attempts(report: DeliveryReport) -> str:
    lines = [f"{_when(f.at)}  {_outcome(f.kind, f.status)}" for f in report.failures]
    if report.failures_left_out:
        half = len(lines) // 2
        lines.insert(half, f"... {report.failures_left_out} more failed attempts ...")
    if report.state == "delivered" and report.last_attempt_at is not None:
        lines.append(f"{_when(report.last_attempt_at)}  HTTP {report.last_status} delivered")
    return "\n".join(lines) or "(none yet)"


def _run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


@webhooks_app.command("deliveries")
def deliveries(
    line: Annotated[
        str | None, typer.Option("--line", metavar="NUMBER", help="Only this line's.")
    ] = None,
    state: Annotated[
        str | None,
        typer.Option(metavar="STATE", help="Only in this state: " + ", ".join(STATES) + "."),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            metavar="WHEN",
            help="Only events from then on: ISO 8601, epoch ms, or a while ago (90m, 2h, 3d).",
        ),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="At most this many.")] = 50,
    data_dir: DataDir = None,
) -> None:
    """Deliveries, newest first, with every attempt (time, HTTP status or error kind)."""
    from rich.table import Table

    from landline.webhooks import operations
    from landline.webhooks.payloads import webhook_id

    if state is not None and state not in STATES:
        raise CliError("state must be one of " + ", ".join(STATES))
    number = inputs.number(line) if line is not None else None
    store = inputs.open_store(data_dir)
    try:
        now = store.clock.now_ms()
        when = inputs.instant(since, now) if since is not None else None
        try:
            found = _run(
                operations.delivery_list(store, number=number, state=state, since=when, limit=limit)
            )
        except operations.NoSuchLine:
            raise CliError(f"no line {number}") from None
    finally:
        store.close()
    table = Table(title=f"Webhook deliveries (times UTC; {len(found)} shown)", show_lines=True)
    # Ids and attempts (one a line) are never broken.
    table.add_column("webhook-id", no_wrap=True)
    for column in ("line", "event", "host", "state"):
        table.add_column(column, overflow="fold")
    table.add_column("attempts", no_wrap=True)
    table.add_column("next / ended", overflow="fold")
    for report in found:
        if report.state in ("pending", "failed"):
            ended = f"next {_when(report.next_at)}"
        elif report.state == "given-up":
            ended = f"given up {_when(report.given_up_at)}"
        else:
            ended = f"delivered {_when(report.delivered_at)}"
        table.add_row(
            webhook_id(report.event_id),
            report.number,
            report.kind,
            report.host,
            report.state,
            _attempts(report),
            ended,
        )
    _console().print(table)


@webhooks_app.command("hosts")
def hosts(data_dir: DataDir = None) -> None:
    """Each webhook host: up, or down since when; its next probe; its queue."""
    from rich.table import Table

    from landline.webhooks import operations

    store = inputs.open_store(data_dir)
    try:
        now = store.clock.now_ms()
        found = _run(operations.host_list(store))
    finally:
        store.close()
    table = Table(title="Webhook hosts (times UTC)")
    for column in ("host", "state", "next probe", "queue", "oldest pending", "last success"):
        table.add_column(column, overflow="fold")
    for report in found:
        if report.down_since is not None:
            state = f"down since {_when(report.down_since)}"
        elif report.first_failure_at is not None:
            state = f"up, failing since {_when(report.first_failure_at)}"
        else:
            state = "up"
        table.add_row(
            report.host,
            state,
            _when(report.next_probe_at) if report.down_since is not None else "",
            str(report.depth),
            _ago(report.oldest_event_at, now),
            _when(report.last_success_at),
        )
    _console().print(table)


@webhooks_app.command("secret")
def secret(
    number: Annotated[str, typer.Argument(metavar="NUMBER", help="The line's number.")],
    rotate: Annotated[
        bool,
        typer.Option("--rotate", help="Make a new secret; the old one keeps signing for 24 hours."),
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """Print a line's webhook signing secret (whsec_...), made on first use."""
    from landline.webhooks import operations

    e164 = inputs.number(number)
    box = inputs.secret_box(data_dir)
    store = inputs.open_store(data_dir)
    try:
        found = _run(operations.secret(store, box, e164, rotate=rotate))
    except operations.NoSuchLine:
        raise CliError(f"no line {e164}") from None
    finally:
        store.close()
    typer.echo(found.secret)
    if rotate and found.previous_until is not None:
        typer.echo(
            f"The previous secret also signs until {_when(found.previous_until)} UTC.", err=True
        )


@webhooks_app.command("replay")
def replay(
    delivery: Annotated[
        str | None,
        typer.Option(metavar="WEBHOOK_ID", help="One delivery (msg_...), whatever its state."),
    ] = None,
    line: Annotated[
        str | None,
        typer.Option(
            "--line", metavar="NUMBER", help="With --since: the line's given-up deliveries."
        ),
    ] = None,
    since: Annotated[
        str | None, typer.Option(metavar="WHEN", help="Events from then (as for deliveries).")
    ] = None,
    until: Annotated[str | None, typer.Option(metavar="WHEN", help="...to then (now).")] = None,
    data_dir: DataDir = None,
) -> None:
    """Send deliveries again: one, or every given-up one of a line in a time window."""
    from landline.webhooks import operations
    from landline.webhooks.payloads import event_id_of

    store = inputs.open_store(data_dir)
    try:
        now = store.clock.now_ms()
        if delivery is not None:
            event_id = event_id_of(delivery)
            if event_id is None:
                raise CliError(f"not a delivery id: {delivery!r}")
            outcome = _run(operations.replay_one(store, event_id))
            if outcome != "replayed":
                raise CliError(f"delivery {delivery}: {outcome}")
            inputs.print_json({"replayed": 1, "complete": True})
            return
        if line is None or since is None:
            raise CliError("give --delivery, or --line and --since")
        start = inputs.instant(since, now)
        end = inputs.instant(until, now) if until is not None else now
        try:
            count, complete = _run(operations.replay_line(store, inputs.number(line), start, end))
        except operations.NoSuchLine:
            raise CliError(f"no line {line}") from None
        inputs.print_json({"replayed": count, "complete": complete})
    finally:
        store.close()
