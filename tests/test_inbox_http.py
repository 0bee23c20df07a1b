"""The web inbox over real HTTP (no browser): sign-in, cookies, CSRF, the browser's
bridge to the API, keyset pages, the live stream's limits; on SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from landline.runtime import Runtime
from landline.settings import Settings
from landline.store.schema import messages
from landline.web import browser
from tests.conftest import Landline, free_port
from tests.mms_fixtures import png, row_counts, zip_file

LINE = "2065550123"
HANDSET = "+12065550100"


class SiteLandline(Landline):
    """A running server that serves the web pages beside the API, as `landline serve`."""

    def app(self) -> Any:
        self.site = self.runtime.site()
        return self.site


def start_site(db_url: str, tmp_path: Path, **settings: Any) -> SiteLandline:
    base: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "database_url": db_url,
        "sim_receipt_delay_ms": 0,
        "poll_interval_ms": 50,
    }
    base.update(settings)
    server = SiteLandline(Runtime(Settings(**base)), free_port())
    server.start()
    return server


@pytest.fixture
def site(db_url: str, tmp_path: Path) -> Iterator[SiteLandline]:
    server = start_site(db_url, tmp_path)
    yield server
    server.stop()


def sign_in(site: SiteLandline, username: str = LINE, password: str = "secret") -> httpx.Client:
    client = httpx.Client(base_url=site.url, timeout=30)
    answer = client.post("/web/login", data={"username": username, "password": password})
    assert answer.status_code == 303, answer.text
    return client


def csrf_of(client: httpx.Client) -> str:
    return browser.csrf_token(client.cookies[browser.COOKIE])


def send_as(client: httpx.Client, body: str, to: str = HANDSET, **extra: Any) -> httpx.Response:
    return client.post(
        "/web/call/message/send",
        json={"contacts": to, "body": body, **extra},
        headers={"x-csrf-token": csrf_of(client)},
    )


def bodies(site: SiteLandline) -> list[str]:
    return [
        row.body
        for row in site.store.read_sync(
            lambda c: c.execute(select(messages.c.body).order_by(messages.c.id)).all()
        )
    ]


# -- the session and the cookie -------------------------------------------------------


def test_session_cookie_is_the_api_session(site: SiteLandline) -> None:
    site.add_line(LINE)
    client = httpx.Client(base_url=site.url, timeout=30)
    answer = client.post("/web/login", data={"username": LINE, "password": "secret"})
    raw = answer.headers["set-cookie"]
    cookie = client.cookies[browser.COOKIE]
    assert "HttpOnly" in raw and "SameSite=Lax" in raw and "Path=/" in raw
    assert "Secure" not in raw  # plain HTTP; Secure when the request came over HTTPS
    # The same key works for the API, and signing out revokes it for the API too.
    assert site.call("message/list", session=cookie)["success"] is True
    out = client.post("/web/logout", data={"csrf": csrf_of(client)})
    assert out.status_code == 303
    assert site.call("message/list", session=cookie)["response"]["code"] == -100
    assert client.get("/web/conversations").status_code == 401


def test_sign_out_needs_the_csrf_token(site: SiteLandline) -> None:
    site.add_line(LINE)
    client = sign_in(site)
    cookie = client.cookies[browser.COOKIE]
    assert client.post("/web/logout", data={"csrf": "0" * 64}).status_code == 403
    assert site.call("message/list", session=cookie)["success"] is True


def test_wrong_password_sets_no_cookie(site: SiteLandline) -> None:
    site.add_line(LINE)
    client = httpx.Client(base_url=site.url)
    answer = client.post("/web/login", data={"username": LINE, "password": "nope"})
    assert answer.status_code == 401
    assert "Wrong number, user name or password." in answer.text
    assert browser.COOKIE not in client.cookies


def test_state_changes_need_the_csrf_token(site: SiteLandline) -> None:
    site.add_line(LINE)
    client = sign_in(site)
    bare = client.post("/web/call/message/send", json={"contacts": HANDSET, "body": "forged"})
    assert bare.status_code == 403
    assert bare.json()["response"]["desc"] == "Missing or wrong CSRF token"
    wrong = client.post(
        "/web/call/message/send",
        json={"contacts": HANDSET, "body": "forged"},
        headers={"x-csrf-token": browser.csrf_token("someone else's key")},
    )
    assert wrong.status_code == 403
    cross = client.post(
        "/web/call/message/send",
        json={"contacts": HANDSET, "body": "forged"},
        headers={"x-csrf-token": csrf_of(client), "origin": "http://evil.example"},
    )
    assert cross.status_code == 403
    assert bodies(site) == []
    assert send_as(client, "ours").json()["success"] is True
    assert bodies(site) == ["ours"]


def test_the_browser_cannot_borrow_another_session(site: SiteLandline) -> None:
    _, other_key = site.add_line("2065550124")
    site.add_line(LINE)
    client = sign_in(site)
    sent = send_as(client, "from my line", session=other_key)
    assert sent.json()["success"] is True
    other = site.call("message/list", session=other_key)
    assert other["response"] == []


def test_only_the_browsers_endpoints(site: SiteLandline) -> None:
    site.add_line(LINE)
    client = sign_in(site)
    for path in ("user/login", "webhook/replay", "nothing/here"):
        answer = client.post(
            f"/web/call/{path}", json={}, headers={"x-csrf-token": csrf_of(client)}
        )
        assert answer.status_code == 404
        assert answer.json()["success"] is False


def test_api_errors_come_back_in_the_envelope(site: SiteLandline) -> None:
    site.add_line(LINE)
    client = sign_in(site)
    too_long = send_as(client, "x" * 251).json()
    assert too_long["success"] is False
    assert too_long["response"]["code"] == -703
    assert "250" in too_long["response"]["desc"]
    malformed = client.post(
        "/web/call/message/send", content=b"{not json", headers={"x-csrf-token": csrf_of(client)}
    )
    assert malformed.json()["response"]["desc"] == "Bad arguments: the JSON body is malformed"
    assert bodies(site) == []


def test_pages_send_security_headers(site: SiteLandline) -> None:
    page = httpx.get(site.url + "/")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["cache-control"] == "no-store"


def test_the_api_is_still_served_beside_the_pages(site: SiteLandline) -> None:
    _, key = site.add_line(LINE)
    assert site.call("message/list", session=key)["success"] is True
    assert site.http.get("/openapi.json").json()["openapi"].startswith("3.")
    assert site.http.get("/no/such/endpoint").json()["response"]["code"] == -703


# -- first line -----------------------------------------------------------------------


def test_first_line_from_the_setup_page(site: SiteLandline) -> None:
    client = httpx.Client(base_url=site.url)
    assert "has no line yet" in client.get("/").text
    short = client.post("/web/setup", data={"number": LINE, "password": "short"})
    assert short.status_code == 400
    made = client.post("/web/setup", data={"number": LINE, "password": "long enough"})
    assert made.status_code == 303
    assert "Inbox" in client.get("/").text
    # With a line in the store, the page is sign-in, and setup is refused.
    stranger = httpx.Client(base_url=site.url)
    assert "has no line yet" not in stranger.get("/").text
    again = stranger.post("/web/setup", data={"number": "2065550124", "password": "long enough"})
    assert again.status_code == 403
    assert site.call("user/login", username=LINE, password="long enough")["success"] is True


def test_setup_only_from_this_machine(db_url: str, tmp_path: Path) -> None:
    # A proxy on loopback that forwards for a client elsewhere: the client is not local.
    server = start_site(db_url, tmp_path, trusted_proxies="127.0.0.1/32")
    try:
        outside = {"x-forwarded-for": "203.0.113.9"}
        assert "has no line yet" not in httpx.get(server.url + "/", headers=outside).text
        refused = httpx.post(
            server.url + "/web/setup",
            data={"number": LINE, "password": "long enough"},
            headers=outside,
        )
        assert refused.status_code == 403
        assert httpx.get(server.url + "/simulator", headers=outside).status_code == 404
    finally:
        server.stop()


# -- reading --------------------------------------------------------------------------


def _seed_conversations(site: SiteLandline, count: int) -> int:
    """`count` conversations, one inbound text each, written straight to the store."""
    from landline.core import ids
    from landline.store import conversations as conversation_rows

    device_id = site.add_line(LINE)[0]
    now = site.clock.now_ms()
    rows = []
    for n in range(count):
        number = f"+1206556{n:04d}"
        rows.append(
            conversation_rows.row(
                device_id,
                ids.fingerprint(device_id, [number]),
                number,
                n + 1,
                now - n // 3,  # ties on time: the fingerprint breaks them
                f"text {n}",
                ids.contact_id(device_id, number),
                1,
            )
        )
    site.store.write_sync(lambda c: conversation_rows.touch(c, rows))
    return device_id


def test_conversations_page_by_keyset_without_gaps(site: SiteLandline) -> None:
    _seed_conversations(site, 100)
    client = sign_in(site)
    seen: list[str] = []
    query: dict[str, Any] = {}
    while True:
        page = client.get("/web/conversations", params=query).json()
        seen.extend(c["last"] for c in page["conversations"])
        if page["next"] is None:
            break
        query = {"at": page["next"]["at"], "fp": page["next"]["fp"]}
    assert sorted(seen) == sorted(f"text {n}" for n in range(100))
    assert len(seen) == len(set(seen))
    # Latest first: the first three share the latest time.
    assert set(seen[:3]) == {"text 0", "text 1", "text 2"}
    first = client.get("/web/conversations").json()
    assert first["unread"] == 100


def test_search_by_number_or_name(site: SiteLandline) -> None:
    _seed_conversations(site, 30)
    client = sign_in(site)
    client.post(
        "/web/call/contact/save",
        json={"address": "+12065560007", "firstName": "Zoë", "lastName": "O'Hara_%"},
        headers={"x-csrf-token": csrf_of(client)},
    )
    by_digits = client.get("/web/conversations", params={"q": "556-0012"}).json()
    assert [c["last"] for c in by_digits["conversations"]] == ["text 12"]
    by_name = client.get("/web/conversations", params={"q": "zoë"}).json()
    assert [(c["name"], c["last"]) for c in by_name["conversations"]] == [
        ("Zoë O'Hara_%", "text 7")
    ]
    # LIKE's wildcards in a search are plain characters.
    assert (
        client.get("/web/conversations", params={"q": "_%"}).json()["conversations"][0]["last"]
        == "text 7"
    )
    assert client.get("/web/conversations", params={"q": "%"}).json()["conversations"] == [
        c for c in by_name["conversations"]
    ]


def test_a_conversation_oldest_to_newest_with_older_pages(site: SiteLandline) -> None:
    site.add_line(LINE)
    client = sign_in(site)
    for n in range(65):
        assert send_as(client, f"text {n}").json()["success"] is True
    fingerprint = client.get("/web/conversations").json()["conversations"][0]["fingerprint"]
    newest = client.get(f"/web/conversation/{fingerprint}").json()
    assert [m["body"] for m in newest["messages"]] == [f"text {n}" for n in range(5, 65)]
    assert newest["older"] is True
    older = client.get(
        f"/web/conversation/{fingerprint}", params={"before": newest["messages"][0]["id"]}
    ).json()
    assert [m["body"] for m in older["messages"]] == [f"text {n}" for n in range(5)]
    assert older["older"] is False
    assert client.get("/web/conversation/123").status_code == 404


def test_another_lines_conversation_is_not_found(site: SiteLandline) -> None:
    _, other_key = site.add_line("2065550124")
    site.call("message/send", session=other_key, contacts=HANDSET, body="private")
    other_fp = site.call("conversation/list", session=other_key)["response"][0]["fingerprint"]
    site.add_line(LINE)
    client = sign_in(site)
    answer = client.get(f"/web/conversation/{other_fp}")
    assert answer.status_code == 404
    assert "private" not in answer.text


# -- live -----------------------------------------------------------------------------


def test_live_streams_are_capped_per_session(site: SiteLandline) -> None:
    site.add_line(LINE)
    client = sign_in(site)
    limit = site.site.hub.limits.per_session
    readers = []  # each kept, or closing it would close its stream
    with contextlib.ExitStack() as streams:
        for _ in range(limit):
            opened = streams.enter_context(client.stream("GET", "/web/live"))
            assert opened.status_code == 200
            readers.append(opened.iter_bytes())
            assert next(readers[-1]) == b"retry: 2000\n\n"
        refused = client.get("/web/live")
        assert refused.status_code == 429
        assert refused.json()["response"]["code"] == -429
        # Another browser of the same line still gets one.
        with sign_in(site).stream("GET", "/web/live") as other:
            assert other.status_code == 200
    # Closed streams give their places back.
    deadline = time.monotonic() + 10
    while site.site.hub.open_streams and time.monotonic() < deadline:
        time.sleep(0.05)
    assert site.site.hub.open_streams == 0


def test_live_stream_carries_events_and_ends_at_sign_out(site: SiteLandline) -> None:
    site.add_line(LINE)
    client = sign_in(site)
    other = sign_in(site)
    with client.stream("GET", "/web/live", timeout=20) as stream:
        lines = stream.iter_lines()
        assert next(lines) == "retry: 2000"
        assert send_as(other, "hello live").json()["success"] is True
        event = _next_event(lines)
        assert event["kind"] == "message.send"
        fingerprint = event["fingerprint"]
        assert client.post("/web/logout", data={"csrf": csrf_of(client)}).status_code == 303
        # The stream ends (the server closes it) rather than outliving the session.
        rest = list(lines)
    assert all('"hello live"' not in line for line in rest)
    assert fingerprint.isdigit()


def _next_event(lines: Iterator[str]) -> dict[str, Any]:
    for line in lines:
        if line.startswith("data: "):
            return json.loads(line[len("data: ") :])  # type: ignore[no-any-return]
    raise AssertionError("the stream ended")


def test_the_simulator_page_only_when_the_simulator_is_routed(db_url: str, tmp_path: Path) -> None:
    server = start_site(db_url, tmp_path, routes="+44=elsewhere")
    try:
        assert httpx.get(server.url + "/simulator").status_code == 404
        assert httpx.get(server.url + "/web/sim/handset").status_code == 404
    finally:
        server.stop()


def test_a_revoked_session_is_cut_off_at_the_next_heartbeat(site: SiteLandline) -> None:
    from landline import accounts
    from landline.web.live import LiveLimits

    site.add_line(LINE)
    client = sign_in(site)
    site.site.hub.limits = LiveLimits(heartbeat_s=0.2)
    with client.stream("GET", "/web/live", timeout=20) as stream:
        lines = stream.iter_lines()
        assert next(lines) == "retry: 2000"
        # Revoked elsewhere (the operator's CLI), not by this browser signing out.
        assert accounts.revoke_session(site.store, client.cookies[browser.COOKIE])
        rest = list(lines)
    assert "event: signedout" in rest


def test_a_stream_ends_after_its_lifetime(site: SiteLandline) -> None:
    from landline.web.live import LiveLimits

    site.add_line(LINE)
    client = sign_in(site)
    site.site.hub.limits = LiveLimits(heartbeat_s=0.1, lifetime_s=0.5)
    began = time.monotonic()
    with client.stream("GET", "/web/live", timeout=20) as stream:
        rest = list(stream.iter_lines())
    assert time.monotonic() - began < 10
    assert ": heartbeat" in rest
    assert site.site.hub.open_streams == 0


def test_webhooks_with_their_last_delivery(db_url: str, tmp_path: Path) -> None:
    import http.server

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length") or 0))
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return

    receiver = http.server.HTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    server = start_site(db_url, tmp_path, webhook_allow_nets="127.0.0.0/8")
    try:
        _, key = server.add_line(LINE)
        url = f"http://127.0.0.1:{receiver.server_address[1]}/in"
        added = server.call("webhook/add", session=key, type="message", event="receive", url=url)
        assert added["success"] is True, added
        client = sign_in(server)
        listed = client.get("/web/webhooks").json()["webhooks"]
        assert [(h["url"], h["last"]) for h in listed] == [(url, "No delivery yet")]
        server.handset_texts(HANDSET, LINE, "ping")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            last = client.get("/web/webhooks").json()["webhooks"][0]["last"]
            if last != "No delivery yet":
                break
            time.sleep(0.1)
        assert last == "Delivered (HTTP 200)"
    finally:
        server.stop()
        receiver.shutdown()
        receiver.server_close()


def test_search_reads_a_bounded_slice_per_page(
    site: SiteLandline, monkeypatch: pytest.MonkeyPatch
) -> None:
    from landline.store import inbox

    monkeypatch.setattr(inbox, "SEARCH_WINDOW", 10)
    _seed_conversations(site, 30)
    client = sign_in(site)
    for n in (5, 25):
        client.post(
            "/web/call/contact/save",
            json={"address": f"+1206556{n:04d}", "firstName": "Needle"},
            headers={"x-csrf-token": csrf_of(client)},
        )
    found: list[str] = []
    pages = 0
    query: dict[str, Any] = {"q": "needle"}
    while True:
        page = client.get("/web/conversations", params=query).json()
        pages += 1
        found.extend(c["last"] for c in page["conversations"])
        if page["next"] is None:
            break
        query = {"q": "needle", "at": page["next"]["at"], "fp": page["next"]["fp"]}
    assert sorted(found) == ["text 25", "text 5"]
    assert pages >= 3  # 30 conversations, 10 read per page


def test_local_pages_refuse_a_rebound_name(site: SiteLandline) -> None:
    # A page of evil.example whose name now resolves to 127.0.0.1.
    rebound = {"host": "evil.example"}
    assert "has no line yet" not in httpx.get(site.url + "/", headers=rebound).text
    assert httpx.get(site.url + "/simulator", headers=rebound).status_code == 404
    assert httpx.get(site.url + "/web/sim/handset", headers=rebound).status_code == 404
    assert "has no line yet" in httpx.get(site.url + "/").text


def test_live_across_processes_on_postgresql(tmp_path: Path) -> None:
    """A page open on one server sees a reply that another process stored: here an
    `--api-only` server in a subprocess streams, and this process's workers receive the
    handset's text."""
    import os
    import subprocess
    import sys

    from tests.conftest import postgres_schema

    with postgres_schema() as (_, url):
        workers = start_site(url, tmp_path / "workers")
        env = {
            **os.environ,
            "LANDLINE_DATABASE_URL": url,
            "LANDLINE_DATA_DIR": str(tmp_path / "api"),
            "LANDLINE_LOG_LEVEL": "warning",
        }
        port = free_port()
        api = subprocess.Popen(
            [sys.executable, "-m", "landline", "serve", "--api-only", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            workers.add_line(LINE)
            other = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=20)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                with contextlib.suppress(httpx.TransportError):
                    if other.get("/noop").status_code == 200:
                        break
                time.sleep(0.1)
            signed = other.post("/web/login", data={"username": LINE, "password": "secret"})
            assert signed.status_code == 303
            with other.stream("GET", "/web/live") as stream:
                lines = stream.iter_lines()
                assert next(lines) == "retry: 2000"
                workers.handset_texts(HANDSET, LINE, "from the other process")
                event = _next_event(lines)
            assert event["kind"] == "message.receive"
            page = other.get(f"/web/conversation/{event['fingerprint']}").json()
            assert [m["body"] for m in page["messages"]] == ["from the other process"]
        finally:
            api.terminate()
            api.wait(timeout=30)
            workers.stop()


# -- pictures ---------------------------------------------------------------------------


def send_picture(
    client: httpx.Client, name: str, data: bytes, *, to: str = HANDSET, body: str = ""
) -> httpx.Response:
    return client.post(
        "/web/send-picture",
        data={"to": to, "body": body},
        files={"file": (name, data, "image/png")},
        headers={"x-csrf-token": csrf_of(client)},
    )


def parts_shown(client: httpx.Client) -> list[dict[str, Any]]:
    fingerprint = client.get("/web/conversations").json()["conversations"][0]["fingerprint"]
    thread = client.get(f"/web/conversation/{fingerprint}").json()
    return [part for message in thread["messages"] for part in message["parts"]]


def test_content_is_served_only_to_the_owning_line(site: SiteLandline) -> None:
    site.add_line(LINE, mms=True)
    site.add_line("2065550124", mms=True)
    owner = sign_in(site)
    picture = png()
    sent = send_picture(owner, "../../cat.png", picture, body="the cat")
    assert sent.json()["success"] is True, sent.text
    [part] = parts_shown(owner)
    assert part["image"] is True and part["type"] == "image/png"
    url = f"/web/content/{part['key']}"

    served = owner.get(url)
    assert served.status_code == 200
    assert served.content == picture
    assert served.headers["content-type"] == "image/png"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert served.headers["content-disposition"].startswith("inline;")

    other = sign_in(site, "2065550124")
    refused = other.get(url)
    assert refused.status_code == 404
    assert refused.headers["content-type"] == "application/json"
    assert picture[:16] not in refused.content and "cat" not in refused.text
    # The same answer as a key that names nothing at all.
    assert other.get(f"/web/content/{'a' * len(part['key'])}").status_code == 404
    anonymous = httpx.get(site.url + url)
    assert anonymous.status_code == 401
    assert picture[:16] not in anonymous.content


def test_a_text_part_is_never_served_inline(site: SiteLandline) -> None:
    site.add_line(LINE, mms=True)
    client = sign_in(site)
    note = b"Opening hours: 9 to 5 <b>not bold</b>\n"
    assert send_picture(client, "hours.html", note).json()["success"] is True
    [part] = parts_shown(client)
    assert part["image"] is False and part["type"] == "text/plain"
    served = client.get(f"/web/content/{part['key']}")
    assert served.status_code == 200 and served.content == note
    assert served.headers["content-type"] == "text/plain; charset=utf-8"
    assert served.headers["content-disposition"].startswith("attachment;")
    assert served.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in served.headers["content-security-policy"]


def test_a_disguised_upload_is_refused_with_the_apis_message(site: SiteLandline) -> None:
    site.add_line(LINE, mms=True)
    client = sign_in(site)
    before = site.store.read_sync(row_counts)
    refused = send_picture(client, "photo.png", zip_file(), body="see attached")
    assert refused.status_code == 200
    answer = refused.json()
    assert answer["success"] is False
    assert "application/zip is not an allowed type" in answer["errorDesc"]
    assert answer["errorDesc"].startswith("Bad arguments: file 'photo.png'")
    assert site.store.read_sync(row_counts) == before


def test_picture_sends_need_the_csrf_token_and_mms(site: SiteLandline) -> None:
    site.add_line(LINE)
    client = sign_in(site)
    no_token = client.post(
        "/web/send-picture", data={"to": HANDSET}, files={"file": ("a.png", png(), "image/png")}
    )
    assert no_token.status_code == 403
    assert no_token.json() == {"success": False, "errorDesc": "Missing or wrong CSRF token"}
    without_mms = send_picture(client, "a.png", png())
    assert without_mms.json()["errorDesc"].startswith("MMS is not enabled on this line")
    assert bodies(site) == []


def test_a_handset_sends_a_picture_from_the_simulator(site: SiteLandline) -> None:
    site.add_line(LINE, mms=True)
    disguised = httpx.post(
        site.url + "/web/sim/picture",
        data={"from": HANDSET, "to": LINE},
        files={"file": ("photo.png", zip_file(), "image/png")},
    )
    assert disguised.json()["success"] is False
    assert "application/zip is not an allowed type" in disguised.json()["response"]["desc"]
    picture = png()
    sent = httpx.post(
        site.url + "/web/sim/picture",
        data={"from": HANDSET, "to": LINE, "body": "the view"},
        files={"file": ("view.png", picture, "image/png")},
    )
    assert sent.json() == {"success": True, "response": True}

    client = sign_in(site)
    deadline = time.monotonic() + 20
    while not client.get("/web/conversations").json()["conversations"]:
        assert time.monotonic() < deadline, "the handset's picture never reached the line"
        time.sleep(0.05)
    # Only the picture is listed (not the handset's layout part), and it is the line's.
    [part] = parts_shown(client)
    assert part["name"] == "view.png" and part["image"] is True
    assert client.get(f"/web/content/{part['key']}").content == picture
    assert httpx.get(f"{site.url}/web/sim/content/{part['key']}").content == picture
    assert bodies(site) == ["the view"]
