"""`landline sim ...`: the simulated phone network."""

from __future__ import annotations

from typing import Annotated

import typer

from landline.cli import inputs
from landline.cli.errors import CliError
from landline.cli.inputs import DataDir

sim = typer.Typer(help="The simulated phone network.", no_args_is_help=True)


@sim.command("text")
def sim_text(
    body: Annotated[str, typer.Argument(metavar="BODY", help="What the handset texts.")],
    source: Annotated[str, typer.Option("--from", metavar="NUMBER", help="The handset's number.")],
    to: Annotated[str, typer.Option("--to", metavar="NUMBER", help="The line's number.")],
    data_dir: DataDir = None,
) -> None:
    """A simulated handset texts a line; the running server receives it shortly."""
    from landline.carriers.simulator import handset_sends

    handset, line_number = inputs.number(source), inputs.number(to)
    if not body:
        raise CliError("the text must not be empty")
    store = inputs.open_store(data_dir)
    try:
        if not handset_sends(store, source=handset, line=line_number, body=body):
            raise CliError(f"no line {line_number}")
    finally:
        store.close()
    inputs.print_json({"from": handset, "to": line_number, "body": body, "queued": True})
