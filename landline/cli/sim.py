"""`landline sim ...`: the simulated phone network."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from landline.cli import inputs
from landline.cli.errors import CliError
from landline.cli.inputs import DataDir

# A handset's file: what fits in one MMS.
MAX_FILE_BYTES = 600 * 1024

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


@sim.command("mms")
def sim_mms(
    source: Annotated[str, typer.Option("--from", metavar="NUMBER", help="The handset's number.")],
    to: Annotated[str, typer.Option("--to", metavar="NUMBER", help="The line's number.")],
    files: Annotated[
        list[Path],
        typer.Option("--file", metavar="FILE", help="A picture or text file; repeat for more."),
    ],
    body: Annotated[str, typer.Argument(metavar="[TEXT]", help="Text sent with it.")] = "",
    data_dir: DataDir = None,
) -> None:
    """A simulated handset sends a picture message to a line (with the SMIL part a real
    handset adds); the running server receives it shortly."""
    import asyncio

    from landline.carriers.handset_media import store_handset_parts
    from landline.carriers.simulator import handset_sends
    from landline.media.backends import build_content_store
    from landline.store import lines

    handset, line_number = inputs.number(source), inputs.number(to)
    loaded = []
    for path in files:
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                raise CliError(f"{path} is larger than {MAX_FILE_BYTES} bytes")
            loaded.append((path.name, path.read_bytes()))
        except OSError as exc:
            raise CliError(f"cannot read {path}: {exc.strerror}") from None
    store = inputs.open_store(data_dir)
    if store.read_sync(lines.by_number, line_number) is None:
        store.close()
        raise CliError(f"no line {line_number}")
    content = build_content_store(inputs.settings(data_dir))

    async def put() -> list[Any]:
        try:
            return await store_handset_parts(content, loaded, store.ids.next_id())
        finally:
            await content.close()

    try:
        try:
            parts = asyncio.run(put())
        except ValueError as exc:
            raise CliError(f"refused: {exc}") from None
        if not handset_sends(store, source=handset, line=line_number, body=body, parts=parts):
            raise CliError(f"no line {line_number}")
    finally:
        store.close()
    inputs.print_json(
        {
            "from": handset,
            "to": line_number,
            "body": body,
            "parts": [{"fileName": p.file_name, "mimeType": p.mime_type} for p in parts],
            "queued": True,
        }
    )


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


@sim.command("smsc")
def sim_smsc(
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on.")] = 2775,
    host: Annotated[str, typer.Option(metavar="HOST", help="Address to listen on.")] = "127.0.0.1",
    account: Annotated[
        list[str] | None,
        typer.Option(
            metavar="SYSTEM_ID:PASSWORD",
            help="An account ESMEs may bind with (repeatable; default landline:secret).",
        ),
    ] = None,
    receipt_delay: Annotated[
        float, typer.Option(min=0, help="Seconds before each delivery receipt.")
    ] = 0.0,
    receipt_stat: Annotated[
        str, typer.Option(metavar="STAT", help="The stat receipts report (DELIVRD, UNDELIV...).")
    ] = "DELIVRD",
    message_ids: Annotated[
        str, typer.Option(metavar="hex|decimal", help="How submit_sm_resp writes ids.")
    ] = "hex",
    receipt_ids: Annotated[
        str | None, typer.Option(metavar="hex|decimal", help="How receipts write ids.")
    ] = None,
    tls_cert: Annotated[
        str | None, typer.Option(metavar="PEM", help="Certificate chain: serve SMPP over TLS.")
    ] = None,
    tls_key: Annotated[str | None, typer.Option(metavar="PEM", help="Its private key.")] = None,
) -> None:
    """A simulated SMSC: an SMPP 3.4 server for Landline's SMPP connector (or any ESME)
    that accepts every text and sends its delivery receipt."""
    from landline.carriers.smpp import smsc

    argv = ["--host", host, "--port", str(port), "--receipt-delay", str(receipt_delay)]
    argv += ["--receipt-stat", receipt_stat.upper(), "--message-ids", message_ids]
    for item in account or []:
        argv += ["--account", item]
    if receipt_ids:
        argv += ["--receipt-ids", receipt_ids]
    if tls_cert:
        argv += ["--tls-cert", tls_cert, "--tls-key", tls_key or tls_cert]
    try:
        smsc.main(argv)
    except SystemExit as exc:
        raise CliError("bad options for the SMSC simulator") from exc
    except KeyboardInterrupt:
        pass
