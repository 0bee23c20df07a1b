"""`landline admin smpp ...`: what the SMPP connector recorded of a text."""

from __future__ import annotations

from typing import Annotated

import typer

from landline.cli import inputs
from landline.cli.errors import CliError
from landline.cli.inputs import DataDir

smpp_app = typer.Typer(help="The SMPP connector's records.", no_args_is_help=True)


@smpp_app.command("message")
def smpp_message(
    message_id: Annotated[int, typer.Argument(metavar="MESSAGE_ID", help="The message id.")],
    data_dir: DataDir = None,
) -> None:
    """Each part of a text as the SMSC answered it: its id, state, and the SMPP status of
    a refusal or the stat of its receipt."""
    from landline.core import times
    from landline.store import smpp

    store = inputs.open_store(data_dir)
    try:
        parts = store.read_sync(smpp.submits_of, message_id)
    finally:
        store.close()
    if not parts:
        raise CliError(f"no SMPP record of message {message_id}")
    inputs.print_json(
        {
            "message": str(message_id),
            "connector": parts[0].connector,
            "parts": [
                {
                    "part": row.part,
                    "of": row.parts,
                    "smscId": row.smsc_id,
                    "state": row.state,
                    "smppStatus": f"{row.smpp_status:#010x}" if row.smpp_status else None,
                    "stat": row.stat,
                    "submittedAt": times.render(row.submitted_at, "UTC"),
                    "updatedAt": times.render(row.updated_at, "UTC"),
                }
                for row in parts
            ],
        }
    )
