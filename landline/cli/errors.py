"""Every failure a user can cause ends as one line on stderr and an exit status."""

from __future__ import annotations

from typing import Any

import typer


class CliError(Exception):
    """A failure the user can fix: printed as one line, exit status 1."""


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


def explain(exc: Exception) -> tuple[int, str | None]:
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
