"""The `landline` command, run as a user runs it: a real process, its output, its exit code."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from conftest import PG_ADMIN_URL, free_port, postgres_schema

LINE = "2065550123"
LINE_E164 = "+12065550123"
HANDSET = "+13125551010"
PASSWORD = "Tr0ub4dor&3-never-shown"


def _command() -> list[str]:
    beside = Path(sys.executable).with_name("landline")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("landline")
    return [found] if found else [sys.executable, "-m", "landline"]


LANDLINE = _command()


@dataclass
class Ran:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        assert self.code == 0, self.err
        return json.loads(self.out)

    @property
    def error_lines(self) -> list[str]:
        return self.err.splitlines()


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    # Settings of the machine running the tests must not leak into the command.
    env = {k: v for k, v in os.environ.items() if not k.startswith("LANDLINE_")}
    env.update(extra or {})
    return env


def _start(
    args: Sequence[str], cwd: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*LANDLINE, *args],
        cwd=cwd,
        env=_env(env),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(process: subprocess.Popen[str], stdin: str | None = None) -> Ran:
    out, err = process.communicate(stdin, timeout=60)
    return Ran(process.returncode, out, err)


def landline(*args: str, cwd: Path, env: dict[str, str] | None = None, stdin: str = "") -> Ran:
    return _finish(_start(args, cwd, env), stdin)


def landline_many(
    commands: list[list[str]], cwd: Path, envs: Sequence[dict[str, str] | None] = ()
) -> list[Ran]:
    """Run several commands at once: each pays the interpreter's start-up."""
    envs = list(envs) or [None] * len(commands)
    processes = [_start(args, cwd, env) for args, env in zip(commands, envs, strict=True)]
    return [_finish(process) for process in processes]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


def test_help_of_every_command(tmp_path: Path) -> None:
    expected = {
        (): ["serve", "worker", "admin", "sim", "Landline Texting API"],
        ("serve",): ["--port", "--host", "--data-dir", "--api-only"],
        ("worker",): ["--data-dir", "dispatcher"],
        ("admin",): ["line", "session"],
        ("admin", "line"): ["add", "state", "operator"],
        ("admin", "line", "add"): ["NUMBER", "--mms", "--password", "--timezone", "--help-text"],
        ("admin", "line", "state"): ["NUMBER", "STATE", "spam", "suspended"],
        ("admin", "line", "operator"): ["USERNAME", "--password"],
        ("admin", "session"): ["create", "revoke"],
        ("admin", "session", "create"): ["NUMBER"],
        ("admin", "session", "revoke"): ["KEY"],
        ("sim",): ["text"],
        ("sim", "text"): ["--from", "--to", "BODY"],
    }
    commands = [[*words, "--help"] for words in expected]
    for (words, fragments), ran in zip(
        expected.items(), landline_many(commands, tmp_path), strict=True
    ):
        shown = " ".join(words)
        assert ran.code == 0, f"landline {shown} --help: {ran.err}"
        assert ran.out.startswith(f"Usage: landline {shown}".rstrip() + " "), ran.out
        for fragment in fragments:
            assert fragment in ran.out, f"landline {shown} --help lacks {fragment}"
        assert ran.err == ""
    assert not (tmp_path / "landline-data").exists()  # help creates nothing


def test_bad_arguments_answer_one_line(tmp_path: Path, data_dir: Path) -> None:
    d = str(data_dir)
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    busy_port = str(taken.getsockname()[1])
    cases: list[tuple[list[str], str, dict[str, str] | None]] = [
        (["admin", "line", "add", LINE, "--bogus"], "--bogus", None),
        (["admin", "line", "add", "206555012", "--data-dir", d], "206555012", None),
        (
            ["admin", "line", "add", LINE, "--timezone", "Mars/Olympus", "--data-dir", d],
            "Mars",
            None,
        ),
        (["admin", "line", "add"], "number", None),
        (["admin", "line", "add", LINE, "extra", "--data-dir", d], "extra", None),
        (["admin", "line", "state", LINE, "sleepy", "--data-dir", d], "state", None),
        (["admin", "line", "operator", LINE, "alice"], "--password", None),
        (["sim", "text", "--to", LINE, "Hi"], "--from", None),
        (["serve", "--port", "eighty"], "--port", None),
        (["serve", "--port", busy_port, "--data-dir", d], "cannot listen", None),
        (["serve", "--data-dir", d], "LANDLINE_ROUTES", {"LANDLINE_ROUTES": "+1"}),
        (["admin", "session", "create", LINE, "--data-dir", d], "no line", None),
        (["frobnicate"], "frobnicate", None),
    ]
    try:
        results = landline_many(
            [args for args, _, _ in cases], tmp_path, [env for _, _, env in cases]
        )
    finally:
        taken.close()
    for (args, mention, _), ran in zip(cases, results, strict=True):
        assert ran.code != 0, args
        assert ran.out == "", args
        assert len(ran.error_lines) == 1, f"{args}: {ran.err}"
        assert ran.err.startswith("landline: "), ran.err
        assert mention.lower() in ran.err.lower(), ran.err


def test_admin_commands_and_the_running_server(tmp_path: Path, data_dir: Path) -> None:
    d = ["--data-dir", str(data_dir)]
    everything: list[str] = []  # every byte the commands printed, to look for the password

    def run(*args: str, stdin: str = "") -> Ran:
        ran = landline(*args, cwd=tmp_path, stdin=stdin)
        everything.extend([ran.out, ran.err])
        return ran

    added = run(
        "admin", "line", "add", LINE, "--mms", "--password", PASSWORD,
        "--timezone", "America/New_York", *d,
    ).json()  # fmt: skip
    device_id = added["deviceId"]
    assert isinstance(device_id, int)
    assert added["number"] == LINE_E164 and added["mms"] is True
    assert added["timezone"] == "America/New_York"
    key = added["session"]
    assert re.fullmatch(rf"[0-9a-f]{{8}}-[0-9a-f-]{{27}}:{device_id}", key), key

    again = run("admin", "line", "add", f"+1{LINE}", "--password", PASSWORD, *d)
    assert again.code != 0 and again.out == ""
    assert again.error_lines == [f"landline: line {LINE_E164} already exists"]

    second = run("admin", "session", "create", LINE, *d).json()
    assert second["deviceId"] == device_id and second["session"] != key
    assert run("admin", "session", "revoke", second["session"], *d).json() == {"revoked": True}
    revoked_again = run("admin", "session", "revoke", second["session"], *d)
    assert revoked_again.code != 0 and len(revoked_again.error_lines) == 1

    operator = run("admin", "line", "operator", LINE, "alice", "--password", "-", *d,
                   stdin="alice's secret\n")  # fmt: skip
    assert operator.json() == {"number": LINE_E164, "username": "alice"}
    taken = run("admin", "line", "operator", LINE, "alice", "--password", "x", *d)
    assert taken.code != 0 and len(taken.error_lines) == 1 and "taken" in taken.err

    queued = run("sim", "text", "--from", HANDSET, "--to", LINE, "Hello from a phone", *d).json()
    assert queued["queued"] is True and queued["to"] == LINE_E164

    port = free_port()
    server = _start(
        ["serve", "--port", str(port), *d], tmp_path, {"LANDLINE_LOGIN_FAILURES_PER_ADDRESS": "2"}
    )
    url = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=url, timeout=10) as http:
            _wait_for(server, http)

            def call(path: str, **params: Any) -> dict[str, Any]:
                return http.post(path, data=params).json()  # type: ignore[no-any-return]

            # The handset's text, queued before the server started, arrives as MO.
            inbound = _poll(lambda: _inbound(call("/message/list", session=key)))
            assert inbound["body"] == "Hello from a phone"
            assert inbound["finalSource"] == numbers_display(HANDSET)
            assert inbound["dateCreated"].endswith(("-04:00", "-05:00"))  # New York

            assert (
                http.post("/message/list", data={"session": second["session"]}).status_code == 401
            )
            login = call("/user/login", username="alice", password="alice's secret")
            assert login["success"] is True and login["response"].endswith(f":{device_id}")
            assert call("/user/login", username=LINE, password=PASSWORD)["success"] is True

            assert run("admin", "line", "state", LINE, "spam", *d).json() == {
                "number": LINE_E164,
                "state": "spam",
            }
            # Another process's change reaches the server's session cache within seconds.
            refused = _poll(
                lambda: (
                    (r := call("/message/send", session=key, contacts=HANDSET, body="Hi"))
                    and not r["success"]
                    and r
                )
            )
            assert refused["response"]["code"] == -801
            run("admin", "line", "state", LINE, "active", *d).json()
            _poll(
                lambda: call("/message/send", session=key, contacts=HANDSET, body="Hi")["success"]
            )

            # No proxy is trusted: X-Forwarded-For does not make a client someone else.
            for hop in ("198.51.100.1", "198.51.100.2", "198.51.100.3"):
                wrong = http.post(
                    "/user/login",
                    data={"username": "nobody", "password": "guess"},
                    headers={"X-Forwarded-For": hop},
                )
            assert wrong.status_code == 429 and wrong.headers["retry-after"] == "900"
    finally:
        server.terminate()
        try:
            served = _finish(server)
        except subprocess.TimeoutExpired:
            server.kill()
            served = _finish(server)
    everything.extend([served.out, served.err])
    assert f"Landline listening on {url}" in served.out
    assert "landline admin session create" in served.out
    assert f"--data-dir {data_dir}" in served.out  # the admin commands must find this store
    assert "/user/login" in served.out
    printed = "\n".join(everything)
    assert PASSWORD not in printed and "alice's secret" not in printed


def numbers_display(e164: str) -> str:
    return e164[2:] if e164.startswith("+1") else e164


def _inbound(listed: dict[str, Any]) -> dict[str, Any] | None:
    found = [m for m in listed["response"] if m["messageType"] == "MO"]
    return found[0] if found else None


def _poll(probe: Any, seconds: float = 15) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        found = probe()
        if found:
            return found
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.05)


def _wait_for(server: subprocess.Popen[str], http: httpx.Client) -> None:
    deadline = time.monotonic() + 20
    while True:
        if server.poll() is not None:
            raise AssertionError(f"landline serve exited: {_finish(server).err}")
        try:
            http.get("/user/login")
            return
        except httpx.TransportError:
            assert time.monotonic() < deadline, "landline serve did not start"
            time.sleep(0.05)


@pytest.fixture
def pg_schema() -> Iterator[str]:
    with postgres_schema() as (schema, _):
        yield schema


def test_admin_commands_on_postgresql(tmp_path: Path, pg_schema: str) -> None:
    env = {"LANDLINE_DATABASE_URL": f"{PG_ADMIN_URL}?options=-csearch_path%3D{pg_schema}"}
    added = landline("admin", "line", "add", LINE, "--password", PASSWORD, cwd=tmp_path, env=env)
    device_id = added.json()["deviceId"]
    created = landline("admin", "session", "create", LINE, cwd=tmp_path, env=env).json()
    assert created["deviceId"] == device_id
    assert not (tmp_path / "landline-data").exists()  # PostgreSQL, not a SQLite file

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        line = conn.execute(
            f"SELECT number, password_hash FROM {pg_schema}.lines WHERE device_id = %s",
            (device_id,),
        ).fetchone()
        kept = conn.execute(
            f"SELECT key_hash FROM {pg_schema}.sessions WHERE device_id = %s", (device_id,)
        ).fetchall()
    assert line is not None and line[0] == LINE_E164
    assert line[1].startswith("$argon2id$") and PASSWORD not in line[1]
    # Two keys, kept only as hashes.
    hashes = {row[0] for row in kept}
    assert len(hashes) == 2
    assert not hashes & {added.json()["session"], created["session"]}
