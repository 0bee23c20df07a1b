"""`landline serve` and `landline worker`."""

from __future__ import annotations

import socket
from pathlib import Path
from shlex import quote
from typing import Annotated, Any

import typer

from landline.cli import inputs
from landline.cli.errors import CliError
from landline.cli.inputs import DataDir


def serve(
    host: Annotated[str | None, typer.Option(metavar="HOST", help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(metavar="PORT", help="Port to listen on.")] = None,
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
    settings = inputs.settings(data_dir, **overrides)
    _count_in_files(settings.data_dir)

    from sqlalchemy.engine import make_url

    from landline import logs
    from landline.http.server import run_server
    from landline.runtime import Runtime

    logs.configure(settings.log_level)
    # Bind first, so a taken port is one clear line, not a banner followed by a server
    # that never was.
    listener = _listen(settings.host, settings.port)
    runtime = Runtime(settings, workers=False, worker_process=not api_only)
    url = f"http://{settings.host}:{listener.getsockname()[1]}"
    if settings.database_url:
        # The URL may carry the database password; show where, never how to get in.
        shown = make_url(settings.database_url).render_as_string(hide_password=True)
        where, store_flag = f"PostgreSQL at {shown}", ""
    else:
        where = f"SQLite at {settings.sqlite_path()}"
        store_flag = (
            ""
            if settings.data_dir == inputs.DEFAULT_DATA_DIR
            else f" --data-dir {quote(str(settings.data_dir))}"
        )
    typer.echo(f"Landline listening on {url} ({where}; routes {settings.routes})")
    typer.echo(f"Inbox: open {url}/ in a browser (phone simulator: {url}/simulator)")
    typer.echo("Get a session key, from another terminal in this folder:")
    typer.echo(f"  new line:      landline admin line add 2065550123 --password -{store_flag}")
    typer.echo(f"  existing line: landline admin session create 2065550123{store_flag}")
    typer.echo(f"  API clients:   POST {url}/user/login with username and password")
    run_server(runtime.site(), settings, listener)


def _count_in_files(data_dir: Path) -> None:
    """Metrics go to files this machine's processes share, so the API's /metrics shows
    the workers' counts too. Before anything imports prometheus-client."""
    from landline.metric_files import use_process_files

    use_process_files(data_dir)


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


def worker(data_dir: DataDir = None) -> None:
    """Run the workers (dispatcher, carrier connectors) without the API."""
    import asyncio
    import os
    import signal

    settings = inputs.settings(data_dir)
    _count_in_files(settings.data_dir)

    from landline import logs
    from landline.runtime import Runtime
    from landline.supervisor import STOP_TIMEOUT_S, listen_for_wakes

    logs.configure(settings.log_level)

    async def run() -> None:
        runtime = Runtime(settings)
        await runtime.start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        if not listen_for_wakes(loop, runtime.dispatcher.wake, stop.set):
            typer.echo(f"Landline worker running (node {runtime.store.node})")
        await stop.wait()
        # Told to stop (or orphaned), a worker must not linger whatever holds up a clean
        # stop: what it had claimed is safe behind its leases.
        loop.call_later(STOP_TIMEOUT_S, os._exit, 1)
        await runtime.stop()

    asyncio.run(run())
