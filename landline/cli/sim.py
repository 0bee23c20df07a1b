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


@sim.command("receiver")
def sim_receiver(
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 9000,
    host: Annotated[str, typer.Option(metavar="HOST", help="Address to listen on.")] = "127.0.0.1",
    secret: Annotated[
        str | None,
        typer.Option(
            metavar="SECRET",
            help="The line's signing secret (landline admin webhooks secret NUMBER), to "
            "check each delivery's signature.",
        ),
    ] = None,
    status: Annotated[
        int, typer.Option(min=100, max=599, help="The HTTP status to answer with.")
    ] = 200,
) -> None:
    """A webhook receiver for development: prints each delivery and checks its signature."""
    from landline.webhooks.receiver import run
    from landline.webhooks.signing import BadSecret, check_secret

    if secret is not None:
        try:
            check_secret(secret.strip())
        except BadSecret as exc:
            raise CliError(f"--secret: {exc}") from None
    typer.echo(f"Receiving webhooks at http://{host}:{port}/ (Ctrl-C stops)")
    run(host, port, secret.strip() if secret else None, typer.echo, status)
