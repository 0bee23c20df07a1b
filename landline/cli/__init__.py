"""The `landline` command: serve, worker, admin and sim."""

from __future__ import annotations

import sys

import typer

from landline.cli import serve as serving
from landline.cli.admin import admin
from landline.cli.errors import explain
from landline.cli.sim import sim

app = typer.Typer(
    help="Landline: a self-hosted texting server for the AT&T Landline Texting API.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
app.command()(serving.serve)
app.command()(serving.worker)
app.add_typer(admin, name="admin")
app.add_typer(sim, name="sim")


def main(argv: list[str] | None = None) -> None:
    """Run the command; every failure a user can cause ends as one line on stderr."""
    try:
        result = app(args=argv, prog_name="landline", standalone_mode=False)
    except Exception as exc:
        code, message = explain(exc)
        if message:
            typer.echo(f"landline: {' '.join(message.split())}", err=True)
        sys.exit(code)
    except KeyboardInterrupt:
        sys.exit(130)
    sys.exit(result if isinstance(result, int) else 0)
