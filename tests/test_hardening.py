"""No request, signed in or not, can stall, crash or bloat the server.

Each test here is a defect an attacker's review found, reproduced: it failed before the
fix. The login and HTTP-layer defects have their own files (test_login.py,
test_http_limits.py).
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import Landline, free_port, fresh_line
from sqlalchemy import event

from landline.api import context
from landline.api import message as message_api
from landline.logs import MAX_LINE_CHARS, BoundedFormatter
from landline.store import messages


def post(server: Landline, path: str, body: bytes | str, content_type: str) -> Any:
    raw = body.encode() if isinstance(body, str) else body
    response = server.http.post(path, content=raw, headers={"content-type": content_type})
    return response.status_code, response.json()


def form(server: Landline, path: str, body: str) -> Any:
    return post(server, path, body, "application/x-www-form-urlencoded")


def assert_bad_arguments(answer: Any, *words: str) -> str:
    status, data = answer
    assert status == 200, data
    assert data["success"] is False
    assert data["response"]["code"] == -703, data
    desc: str = data["response"]["desc"]
    for word in words:
        assert word in desc, desc
    return desc


@contextmanager
def writer_statements(server: Landline) -> Iterator[list[str]]:
    """Every statement the writer engine runs while the block runs."""
    seen: list[str] = []

    def count(*args: Any) -> None:
        seen.append(args[2])

    engine = server.store.writer_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


# -- 1, 2 and 10: id lists are bounded, looked up as sets, and errors do not echo them


def test_a_huge_contact_list_is_refused_before_any_lookup(server: Landline) -> None:
    key = fresh_line(server).key
    body = f"session={key}&contact=" + ",".join(["1"] * 290_000)
    with writer_statements(server) as seen:
        answer = form(server, "/contact/delete", body)
    desc = assert_bad_arguments(answer, "contact", "at most 1000")
    assert len(desc) < 200
    # (On PostgreSQL the session lookup shares the engine.)
    assert [statement for statement in seen if "contacts" in statement] == []


@pytest.mark.parametrize("path", ["/message/read", "/message/delete", "/message/cancel"])
def test_more_ids_than_allowed_answer_703_not_500(server: Landline, path: str) -> None:
    key = fresh_line(server).key
    body = f"session={key}&message=" + ",".join(["7"] * 260_000)
    assert_bad_arguments(form(server, path, body), "at most 1000")


def test_unknown_ids_are_named_a_few_and_counted(server: Landline) -> None:
    key = fresh_line(server).key
    body = f"session={key}&message=" + ",".join(str(n) for n in range(1, 1001))
    desc = assert_bad_arguments(form(server, "/message/read", body), "and 995 more", "not found")
    assert len(desc) < 200


def test_deleting_many_contacts_is_set_based(server: Landline) -> None:
    """1,000 contacts are checked and forgotten with a handful of statements, not one
    (or more) per id: no request may hold the one writer for long."""
    key = fresh_line(server).key
    numbers = [f"+1303555{n:04d}" for n in range(1000)]
    for start in range(0, len(numbers), 15):
        chunk = numbers[start : start + 15]
        sent = server.call("/message/send", session=key, contacts=",".join(chunk), body="hi")
        assert sent["success"], sent
    listed = server.call("/contact/list", session=key, pageSize=1000)["response"]
    ids = ",".join(str(c["id"]) for c in listed)
    assert len(listed) == 1000
    with writer_statements(server) as seen:
        answer = server.call("/contact/delete", session=key, contact=ids)
    assert answer == {"success": True, "response": True}
    assert 0 < len(seen) <= 4 * (1000 // 250 + 1), len(seen)
    assert server.call("/contact/list", session=key)["response"] == []


def test_marking_a_long_conversation_holds_the_writer_a_slice_at_a_time(
    server: Landline, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = fresh_line(server).key
    for _ in range(7):
        server.call("/message/send", session=key, contacts="2065550100", body="again")
    fingerprint = server.call("/conversation/list", session=key)["response"][0]["fingerprint"]
    slices: list[int] = []
    original = messages.mark_conversation

    def counted(*args: Any, **kwargs: Any) -> int | None:
        slices.append(kwargs["limit"])
        return original(*args, **kwargs)

    from landline.api import conversation

    monkeypatch.setattr(conversation, "WRITE_CHUNK", 3)
    monkeypatch.setattr(messages, "mark_conversation", counted)
    assert server.call("/conversation/delete", session=key, fingerprint=fingerprint)["success"]
    # Seven messages, three a slice: three slices and one that finds no more.
    assert slices == [3, 3, 3, 3]
    assert server.call("/message/list", session=key)["size"] == 0


# -- 2: no log line is longer than a few KB


def test_log_lines_are_bounded_whatever_a_failure_carries() -> None:
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "%s", ("?" * 900_000,), None)
    try:
        raise ValueError("(" + ", ".join(["?"] * 250_000) + ")")
    except ValueError:
        record.exc_info = sys.exc_info()
    text = BoundedFormatter().format(record)
    assert max(len(line) for line in text.splitlines()) <= MAX_LINE_CHARS + 40
    assert len(text) < 64 * 1024


# -- 5: any failure anywhere answers in the envelope


def test_deeply_nested_json_answers_703_without_a_session(server: Landline) -> None:
    body = '{"x":' + "[" * 300 + "]" * 300 + "}"
    assert_bad_arguments(post(server, "/message/list", body, "application/json"), "nested")


def test_an_unexpected_failure_answers_855_with_a_request_id_logged_once(
    server: Landline, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    key = fresh_line(server).key

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the disk caught fire")

    monkeypatch.setattr(messages, "page", broken)
    with caplog.at_level(logging.ERROR):
        response = server.http.get("/message/list", params={"session": key})
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("application/json")
    answer = response.json()
    assert answer["success"] is False
    assert answer["response"]["code"] == -855
    request_id = answer["requestId"]
    assert request_id in answer["response"]["desc"]
    logged = [r for r in caplog.records if request_id in r.getMessage()]
    assert len(logged) == 1
    assert logged[0].exc_info is not None


# -- 6 and 7: paging numbers are bounded, and every list is paged


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/contact/list", {"page": "9223372036854775807"}),
        ("/contact/list", {"pageSize": "9223372036854775807"}),
        ("/message/list", {"start": "9223372036854775807"}),
        ("/conversation/list", {"limit": "99999999999999999999999"}),
        ("/message/scheduled", {"start": "-1"}),
    ],
)
def test_paging_numbers_out_of_range_answer_703(
    server: Landline, path: str, params: dict[str, str]
) -> None:
    key = fresh_line(server).key
    response = server.http.get(path, params={"session": key, **params})
    assert_bad_arguments((response.status_code, response.json()), next(iter(params)))


def test_scheduled_messages_are_paged(server: Landline) -> None:
    key = fresh_line(server).key
    later = int(time.time() * 1000) + 3_600_000
    for n in range(25):
        sent = server.call(
            "/message/send",
            session=key,
            contacts="2065550100",
            body=f"later {n}",
            scheduledDate=str(later + n),
        )
        assert sent["success"], sent
    first = server.call("/message/scheduled", session=key)
    assert (first["total"], first["size"]) == (message_api.DEFAULT_PAGE, 25)
    rest = server.call("/message/scheduled", session=key, start=20, limit=10)
    assert (rest["total"], rest["size"]) == (5, 25)
    bodies = [m["body"] for m in first["response"] + rest["response"]]
    assert bodies == [f"later {n}" for n in range(25)]


# -- 8: text must be valid UTF-8


def test_invalid_utf8_in_a_form_is_refused_naming_the_field(server: Landline) -> None:
    key = fresh_line(server).key
    body = f"session={key}&contacts=2065550100&body=caf%E9".encode()
    assert_bad_arguments(form(server, "/message/send", body.decode()), "body", "UTF-8")
    raw = f"session={key}&contacts=2065550100&body=caf".encode() + b"\xe9"
    assert_bad_arguments(form(server, "/message/send", raw), "body", "UTF-8")
    assert server.call("/message/list", session=key)["size"] == 0


def test_invalid_utf8_in_a_multipart_field_is_refused_naming_it(server: Landline) -> None:
    key = fresh_line(server).key
    boundary = "xYzZY"
    parts = [
        ("session", key.encode()),
        ("contacts", b"2065550100"),
        ("body", b"na\xefve \xff"),
    ]
    body = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        + value
        + b"\r\n"
        for name, value in parts
    ) + f"--{boundary}--\r\n".encode()
    answer = post(server, "/message/send", body, f"multipart/form-data; boundary={boundary}")
    assert_bad_arguments(answer, "body", "UTF-8")
    assert server.call("/message/list", session=key)["size"] == 0


def test_invalid_utf8_in_the_query_is_refused(server: Landline) -> None:
    key = fresh_line(server).key
    response = server.http.get(f"/message/list?session={key}&limit=1%FF")
    assert_bad_arguments((response.status_code, response.json()), "limit", "UTF-8")


# -- 9: numbers are ASCII digits


@pytest.mark.parametrize(
    ("path", "params", "named"),
    [
        ("/message/list", {"limit": "١٠"}, "limit"),
        ("/message/list", {"limit": "1_0"}, "limit"),
        ("/message/get", {"id": "١٢٣"}, "id"),
        ("/conversation/get", {"fingerprint": "²"}, "fingerprint"),
        ("/message/send", {"contacts": "٢٠٦٥٥٥٠١٠٠", "body": "x"}, "contacts"),
    ],
)
def test_non_ascii_digits_are_not_numbers(
    server: Landline, path: str, params: dict[str, str], named: str
) -> None:
    key = fresh_line(server).key
    response = server.http.get(path, params={"session": key, **params})
    assert_bad_arguments((response.status_code, response.json()), named)


# -- 11: a revoke from another process takes effect at once


def _landline(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LANDLINE_")}
    return subprocess.run(
        [sys.executable, "-m", "landline", *args],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_revoke_by_another_process_is_refused_on_the_next_request(
    landline: Landline, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Cached lookups would outlive the other process's start-up; only the signal may
    # end them here.
    monkeypatch.setattr(context, "SESSION_CACHE_SECONDS", 600.0)
    _, key = landline.add_line("+12065558888", password=None)
    # On PostgreSQL nothing is cached until the server listens for revocations.
    deadline = time.monotonic() + 10
    while landline.store.revocations.generation() is None:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    # Seen once, so the server caches it.
    assert landline.call("/message/list", session=key)["success"]
    url = str(landline.store.url)
    env = {"LANDLINE_DATABASE_URL": url} if "postgresql" in url else {}
    args = ["admin", "session", "revoke", key]
    if not env:
        args += ["--data-dir", str(Path(url.removeprefix("sqlite:///")).parent)]
    ran = _landline(*args, env=env)
    assert ran.returncode == 0, ran.stderr
    response = landline.http.get("/message/list", params={"session": key})
    assert response.status_code == 401


# -- 12: settings that were read and not used, or crashed


def test_trace_log_level_starts_the_server(tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "landline", "serve", "--port", str(port)],
        cwd=tmp_path,
        env={**os.environ, "LANDLINE_LOG_LEVEL": "trace", "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            response = None
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/noop", timeout=1)
            except httpx.TransportError:
                assert process.poll() is None, "landline serve exited"
                assert time.monotonic() < deadline, "landline serve did not start"
                time.sleep(0.1)
            if response is not None:
                assert response.json()["success"] is True
                break
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=30)
    assert "listening" in output
    assert "TRACE" in output


def test_the_default_timezone_setting_is_the_zone_of_new_lines(tmp_path: Path) -> None:
    ran = _landline(
        "admin",
        "line",
        "add",
        "2065550123",
        "--data-dir",
        str(tmp_path / "data"),
        env={"LANDLINE_DEFAULT_TIMEZONE": "Europe/Paris"},
    )
    assert ran.returncode == 0, ran.stderr
    assert '"timezone": "Europe/Paris"' in ran.stdout


def test_the_data_folder_and_database_are_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    previous = os.umask(0o022)
    try:
        ran = _landline("admin", "line", "add", "2065550123", "--data-dir", str(data), env={})
    finally:
        os.umask(previous)
    assert ran.returncode == 0, ran.stderr
    assert data.stat().st_mode & 0o777 == 0o700
    for found in data.iterdir():
        if found.is_file():
            assert found.stat().st_mode & 0o777 == 0o600, found.name

