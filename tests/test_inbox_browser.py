"""The web inbox and the phone simulator in a real Chromium (Debian's, driven by
Playwright), against a real server on SQLite and on PostgreSQL.

Skipped, with the reason, when Chromium or Playwright is missing; `.ci/run` installs
Chromium. Set LANDLINE_SCREENSHOTS=1 to write the README's screenshots to docs/.
"""

from __future__ import annotations

import datetime
import http.server
import itertools
import os
import shutil
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import select

from landline import accounts
from landline.core import numbers, segments
from landline.store.schema import messages
from landline.web import browser as web_browser
from tests.conftest import PG_ADMIN_URL
from tests.mms_fixtures import jpeg, png
from tests.test_inbox_http import SiteLandline, start_site

CHROMIUM = os.environ.get("LANDLINE_CHROMIUM", "/usr/bin/chromium")
if not Path(CHROMIUM).exists() and shutil.which("chromium"):
    CHROMIUM = str(shutil.which("chromium"))
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="the playwright package is not installed (pip install '.[test]')"
)
pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(),
    reason=f"no Chromium at {CHROMIUM} (apt-get install chromium; .ci/run does)",
)
Page = Any
DOCS = Path(__file__).resolve().parent.parent / "docs"
AXE_JS = None
try:
    import axe_playwright_python

    AXE_JS = (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text()
except ImportError:  # pragma: no cover - the test extra installs it
    pass

WAIT_MS = 10_000
_numbers = itertools.count(200)


def new_line_number() -> str:
    """A line number of its own for each test (the server is shared by the module)."""
    return f"206555{next(_numbers):04d}"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SiteLandline]:
    """One server per database with its workers running, receipts after 300 ms."""
    tmp_path = tmp_path_factory.mktemp("inbox")
    schema = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'landline.db'}"
    else:
        schema = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        url = f"{PG_ADMIN_URL}?options=-csearch_path%3D{schema}"
    server = start_site(url, tmp_path, sim_receipt_delay_ms=300)
    try:
        yield server
    finally:
        server.stop()
        if schema is not None:
            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        yield launched
        launched.close()


@pytest.fixture
def context(chromium: Any) -> Iterator[Any]:
    made = chromium.new_context(viewport={"width": 1200, "height": 800})
    made.set_default_timeout(WAIT_MS)
    yield made
    made.close()


def no_dialogs(page: Page) -> list[str]:
    """Collects any alert the page raises (there must be none)."""
    seen: list[str] = []

    def on_dialog(dialog: Any) -> None:
        seen.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    return seen


def sign_in(context: Any, site: SiteLandline, username: str, password: str = "secret") -> Page:
    page = context.new_page()
    page.goto(site.url + "/")
    page.get_by_label("Number or user name").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector("body[data-ready=yes]")
    return page


def open_conversation(page: Page, who: str) -> None:
    page.locator("#conversations button.conversation", has_text=who).first.click()
    page.wait_for_selector("#compose:not([hidden])")


def send_from_inbox(page: Page, to: str, body: str) -> None:
    page.get_by_role("button", name="New text").click()
    page.get_by_label("To (up to 15 numbers").fill(to)
    page.get_by_label("Message", exact=True).fill(body)
    page.get_by_label("Message", exact=True).press("Enter")


def axe_findings(page: Page) -> list[str]:
    """Serious and critical findings of axe-core on the page as it stands."""
    assert AXE_JS is not None, "axe-playwright-python (test extra) provides axe-core"
    page.evaluate(AXE_JS)
    result = page.evaluate("async () => await axe.run(document)")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def simulator_page(context: Any, site: SiteLandline, handset: str) -> Page:
    page = context.new_page()
    page.goto(f"{site.url}/simulator?handset={handset.replace('+', '%2B')}")
    page.wait_for_selector("body[data-ready=yes]")
    page.wait_for_selector("#phone:not([hidden])")
    return page


def session_key(site: SiteLandline, line: str) -> str:
    made = accounts.add_session(site.store, numbers.to_e164(line))
    assert made is not None
    return made.session


def handset_number() -> str:
    return f"+1206555{next(_numbers):04d}"


# -- signing in and out ---------------------------------------------------------------


def test_sign_in_and_out(site: SiteLandline, context: Any) -> None:
    line = new_line_number()
    site.add_line(line)
    page = sign_in(context, site, line)
    assert numbers.display(numbers.to_e164(line)) in page.locator(".line-number").inner_text()
    cookie = next(c for c in context.cookies() if c["name"] == web_browser.COOKIE)
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Lax"
    assert cookie["secure"] is False  # plain HTTP here; Secure when served over HTTPS
    # The page's own script cannot read the session.
    assert web_browser.COOKIE not in page.evaluate("document.cookie")
    key = cookie["value"]
    assert site.call("message/list", session=key)["success"] is True

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_selector("text=Sign in with your line's number")
    # Signing out revoked the key itself, not just the cookie.
    assert site.call("message/list", session=key)["response"]["code"] == -100
    assert not [c for c in context.cookies() if c["name"] == web_browser.COOKIE]


def test_wrong_password(site: SiteLandline, context: Any) -> None:
    line = new_line_number()
    site.add_line(line)
    page = context.new_page()
    page.goto(site.url + "/")
    page.get_by_label("Number or user name").fill(line)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    assert "Wrong number, user name or password." in page.get_by_role("alert").inner_text()
    assert not [c for c in context.cookies() if c["name"] == web_browser.COOKIE]


# -- texting --------------------------------------------------------------------------


def test_send_reaches_delivered_live(site: SiteLandline, context: Any) -> None:
    line = new_line_number()
    site.add_line(line)
    page = sign_in(context, site, line)
    handset = handset_number()
    send_from_inbox(page, handset, "Your table is ready")
    message = page.locator("#messages li.message.out", has_text="Your table is ready")
    # Queued or sent at first; the receipt comes 300 ms later, and the page shows it
    # without being reloaded.
    message.locator(".status", has_text="Delivered").wait_for()
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1


def test_failure_shown_in_words(site: SiteLandline, context: Any) -> None:
    line = new_line_number()
    site.add_line(line)
    page = sign_in(context, site, line)
    send_from_inbox(page, "+12065550001", "Will not arrive")
    page.locator(
        "#messages .status", has_text="Failed: the phone network could not deliver it"
    ).wait_for()


def test_reply_from_simulator_appears_live(site: SiteLandline, context: Any) -> None:
    line = new_line_number()
    site.add_line(line)
    inbox = sign_in(context, site, line)
    handset = handset_number()
    send_from_inbox(inbox, handset, "Are you coming at 3?")
    inbox.locator("#messages .status", has_text="Delivered").wait_for()

    phone = simulator_page(context, site, handset)
    phone.locator("#texts li", has_text="Are you coming at 3?").wait_for()
    phone.get_by_label("Text", exact=True).fill("Yes, see you then")
    phone.get_by_role("button", name="Send from the handset").click()

    inbox.locator("#messages li.message.in", has_text="Yes, see you then").wait_for()
    sync_api.expect(inbox.locator("#conversations li").first.locator(".last")).to_have_text(
        "Yes, see you then"
    )


def loaded_width(page: Page, selector: str) -> int:
    """The natural width of the image `selector` once it has loaded (0: it failed)."""
    page.wait_for_function(
        "s => { const i = document.querySelector(s); return i && i.complete; }", arg=selector
    )
    return int(page.eval_on_selector(selector, "i => i.naturalWidth"))


def test_pictures_both_ways(site: SiteLandline, context: Any) -> None:
    line = new_line_number()
    site.add_line(line, mms=True)
    inbox = sign_in(context, site, line)
    handset = handset_number()

    phone = simulator_page(context, site, handset)
    phone.get_by_label("To line").fill(line)
    phone.get_by_label("Text", exact=True).fill("Look at the cat")
    picture = {"name": "cat.png", "mimeType": "image/png", "buffer": png((31, 17))}
    phone.get_by_label("Picture (optional)").set_input_files(files=[picture])
    phone.get_by_role("button", name="Send from the handset").click()

    # It arrives live: the conversation appears, and its picture is a thumbnail.
    inbox.locator("#conversations button.conversation", has_text="Look at the cat").click()
    thumb = "#messages li.message.in img.thumb"
    inbox.wait_for_selector(thumb)
    assert loaded_width(inbox, thumb) == 31
    assert inbox.get_attribute(thumb, "src", timeout=WAIT_MS).startswith("/web/content/")
    inbox.click(thumb)
    sync_api.expect(inbox.locator("#picture-view")).to_be_visible()
    assert loaded_width(inbox, "#picture-view img") == 31
    inbox.locator("#picture-view").get_by_role("button", name="Close").click()
    sync_api.expect(inbox.locator("#picture-view")).to_be_hidden()

    reply = {"name": "mine.jpg", "mimeType": "image/jpeg", "buffer": jpeg(4_000)}
    inbox.get_by_label("Attach picture (optional)").set_input_files(files=[reply])
    inbox.get_by_label("Message", exact=True).fill("Here is mine")
    inbox.get_by_label("Message", exact=True).press("Enter")
    sent = "#messages li.message.out img.thumb"
    inbox.wait_for_selector(sent)
    assert loaded_width(inbox, sent) > 0
    sync_api.expect(inbox.locator("#compose-error")).to_have_text("")

    # The handset gets it.
    got = "#texts li.message.in img.thumb"
    phone.locator("#texts li.message.in", has_text="Here is mine").wait_for()
    assert loaded_width(phone, got) > 0
    assert phone.get_attribute(got, "src", timeout=WAIT_MS).startswith("/web/sim/content/")


def test_unread_count_in_title(site: SiteLandline, context: Any) -> None:
    line = new_line_number()
    site.add_line(line)
    inbox = sign_in(context, site, line)
    site.handset_texts(handset_number(), line, "First")
    site.handset_texts(handset_number(), line, "Second")
    sync_api.expect(inbox).to_have_title("(2) Inbox · Landline")
    open_conversation(inbox, "First")
    sync_api.expect(inbox).to_have_title("(1) Inbox · Landline")


def test_stop_from_simulator_disables_compose(site: SiteLandline, context: Any) -> None:
    line = new_line_number()
    site.add_line(line)
    inbox = sign_in(context, site, line)
    handset = handset_number()
    send_from_inbox(inbox, handset, "Sale this week")
    inbox.locator("#messages .status", has_text="Delivered").wait_for()

    phone = simulator_page(context, site, handset)
    phone.locator("#texts li", has_text="Sale this week").wait_for()
    phone.get_by_role("button", name="Send STOP").click()

    banner = inbox.locator("#optout-banner")
    banner.wait_for(state="visible")
    assert "texted STOP" in banner.inner_text()
    assert inbox.get_by_label("Message", exact=True).is_disabled()
    assert inbox.locator("#send").is_disabled()
    # The line's automatic answer to STOP reached the handset.
    phone.locator("#texts li.in", has_text="You have been unsubscribed").wait_for()


def test_schedule_and_cancel(site: SiteLandline, context: Any) -> None:
    line = new_line_number()
    site.add_line(line)
    page = sign_in(context, site, line)
    page.get_by_role("button", name="New text").click()
    page.get_by_label("To (up to 15 numbers").fill(handset_number())
    page.get_by_label("Message", exact=True).fill("Reminder: dentist tomorrow")
    tomorrow = datetime.datetime.now() + datetime.timedelta(days=1)
    page.get_by_label("Send later (optional)").fill(tomorrow.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Send", exact=True).click()
    message = page.locator("#messages li", has_text="Reminder: dentist tomorrow")
    assert "Scheduled for" in message.locator(".status").inner_text()

    message.get_by_role("button", name="Cancel this scheduled text").click()
    message.wait_for(state="detached")
    device_id = site.store.read_sync(
        lambda c: c.execute(
            select(messages.c.canceled_at).where(messages.c.body == "Reminder: dentist tomorrow")
        ).scalar_one()
    )
    assert device_id is not None


def test_two_operators_see_each_others_sends(site: SiteLandline, chromium: Any) -> None:
    line = new_line_number()
    site.add_line(line)
    suffix = uuid.uuid4().hex[:6]
    for name in ("ana", "ben"):
        accounts.add_operator(site.store, numbers.to_e164(line), f"{name}-{suffix}", "pw-" + name)
    first, second = (chromium.new_context() for _ in range(2))
    try:
        ana = sign_in(first, site, f"ana-{suffix}", "pw-ana")
        ben = sign_in(second, site, f"ben-{suffix}", "pw-ben")
        handset = handset_number()
        send_from_inbox(ana, handset, "Ana here: order shipped")
        ben.locator("#conversations li", has_text="Ana here: order shipped").wait_for()
        open_conversation(ben, "Ana here")
        ben.get_by_label("Message", exact=True).fill("Ben here: tracking number follows")
        ben.get_by_label("Message", exact=True).press("Enter")
        ana.locator("#messages li.out", has_text="Ben here: tracking number follows").wait_for()
    finally:
        first.close()
        second.close()


# -- hostile input --------------------------------------------------------------------

HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)>"


def test_hostile_bodies_are_text(site: SiteLandline, context: Any) -> None:
    line = new_line_number()
    site.add_line(line)
    handset = handset_number()
    page = context.new_page()
    dialogs = no_dialogs(page)
    page.goto(site.url + "/")
    page.get_by_label("Number or user name").fill(line)
    page.get_by_label("Password").fill("secret")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector("body[data-ready=yes]")
    accounts_contact = {"address": handset, "firstName": '"><img src=x onerror=alert(3)>'}
    site.call("contact/save", session=session_key(site, line), **accounts_contact)
    site.handset_texts(handset, line, HOSTILE)
    page.locator("#conversations li .last", has_text="<script>").wait_for()
    open_conversation(page, "<img")
    send_box = page.get_by_label("Message", exact=True)
    send_box.fill(HOSTILE)
    send_box.press("Enter")
    shown = page.locator("#messages li .body")
    shown.nth(1).wait_for()
    assert shown.all_inner_texts() == [HOSTILE, HOSTILE]
    assert page.locator("#messages img, #conversations img, script:not([src])").count() == 0
    page.wait_for_timeout(300)
    assert dialogs == []


def test_cross_site_form_post_is_refused(site: SiteLandline, context: Any) -> None:
    line = new_line_number()
    site.add_line(line)
    sign_in(context, site, line)
    target = site.url + "/web/call/message/send"
    attacker = AttackerSite(
        f"""<form id=f method=post action="{target}" enctype="text/plain">
        <input name='{{"contacts":"+12065550199","body":"forged","x":"' value='"}}'>
        </form><script>document.getElementById('f').submit()</script>"""
    )
    try:
        page = context.new_page()
        page.goto(attacker.url)
        page.wait_for_url(target + "*")
        assert "Cross-site request refused" in page.content()
    finally:
        attacker.close()
    forged = site.store.read_sync(
        lambda c: c.execute(select(messages.c.id).where(messages.c.body == "forged")).all()
    )
    assert forged == []


class AttackerSite:
    """A page on another origin (localhost, not 127.0.0.1: another site too)."""

    def __init__(self, html: str) -> None:
        body = html.encode()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("content-type", "text/html")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                return

        self._server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://localhost:{self._server.server_address[1]}/"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


# -- compose --------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["😀" * 62, "😀" * 63, "a" * 161, "{" * 81])
def test_counter_counts_bytes_and_parts(site: SiteLandline, context: Any, text: str) -> None:
    line = new_line_number()
    site.add_line(line)
    page = sign_in(context, site, line)
    page.get_by_role("button", name="New text").click()
    page.get_by_label("Message", exact=True).fill(text)
    counter = page.locator("#counter").inner_text()
    size = len(text.encode())
    parts = segments.count(text).parts
    assert counter.startswith(f"{size} / 250 bytes · {parts} part"), counter
    assert page.locator("#send").is_disabled() == (size > 250)


# -- accessibility and screenshots ----------------------------------------------------


def test_pages_have_no_serious_accessibility_findings(site: SiteLandline, context: Any) -> None:
    line = new_line_number()
    site.add_line(line)
    handset = handset_number()
    login = context.new_page()
    login.goto(site.url + "/")
    assert axe_findings(login) == []
    page = sign_in(context, site, line)
    send_from_inbox(page, handset, "Hello from the shop")
    page.locator("#messages .status", has_text="Delivered").wait_for()
    site.handset_texts(handset, line, "Thanks! See you at 3.")
    page.locator("#messages li.in").wait_for()
    assert axe_findings(page) == []
    page.get_by_role("button", name="Settings").click()
    page.locator("#keys li").first.wait_for()
    assert axe_findings(page) == []
    page.set_viewport_size({"width": 390, "height": 800})
    page.get_by_role("button", name="Inbox").click()
    assert axe_findings(page) == []
    phone = simulator_page(context, site, handset)
    phone.locator("#texts li").first.wait_for()
    assert axe_findings(phone) == []


@pytest.mark.skipif(not os.environ.get("LANDLINE_SCREENSHOTS"), reason="LANDLINE_SCREENSHOTS unset")
def test_screenshots(site: SiteLandline, context: Any) -> None:
    line = new_line_number()
    site.add_line(line)
    page = sign_in(context, site, line)
    people = [
        ("+12065550142", "Maria", "Can I move my appointment to Friday?"),
        ("+12065550177", "Dev", "Got the package, thanks!"),
        ("+12065550188", "", "Is the shop open on Sunday?"),
    ]
    session = session_key(site, line)
    for number, name, text in people:
        if name:
            site.call("contact/save", session=session, address=number, firstName=name)
        site.handset_texts(number, line, text)
    page.locator("#conversations li", has_text="Is the shop open").wait_for()
    page.screenshot(path=str(DOCS / "inbox.png"))
    open_conversation(page, "Maria")
    page.get_by_label("Message", exact=True).fill("Friday at 10 works. See you then!")
    page.get_by_label("Message", exact=True).press("Enter")
    page.locator("#messages .status", has_text="Delivered").wait_for()
    page.get_by_label("Message", exact=True).fill("Reminder: bring your card 😀")
    page.screenshot(path=str(DOCS / "inbox-conversation.png"))
    phone = simulator_page(context, site, "+12065550142")
    phone.locator("#texts li", has_text="Friday at 10").wait_for()
    phone.get_by_label("To line").fill(line)
    phone.screenshot(path=str(DOCS / "simulator.png"))


def test_contacts_and_session_keys(site: SiteLandline, context: Any) -> None:
    line = new_line_number()
    site.add_line(line)
    handset = handset_number()
    site.handset_texts(handset, line, "Who is this?")
    page = sign_in(context, site, line)
    page.locator("#conversations li", has_text="Who is this?").wait_for()
    page.get_by_role("button", name="Contacts").click()
    page.locator("#contacts button", has_text=numbers.display(handset)).click()
    page.get_by_label("First name").fill("Rosa")
    page.get_by_label("Notes").fill("Prefers mornings")
    page.get_by_role("button", name="Save contact").click()
    page.locator("#contacts button", has_text="Rosa").wait_for()
    page.get_by_role("button", name="Inbox").click()
    page.locator("#conversations .who", has_text="Rosa").wait_for()

    page.get_by_role("button", name="Settings").click()
    page.get_by_role("button", name="Create a session key").click()
    shown = page.locator("#key-new")
    sync_api.expect(shown).to_contain_text("New key (shown once): ")
    key = shown.inner_text().split(": ", 1)[1]
    assert site.call("message/list", session=key)["success"] is True
    revoke = page.get_by_role("button", name="Revoke key").first
    sync_api.expect(page.get_by_role("button", name="Revoke key")).to_have_count(2)
    revoke.click()
    sync_api.expect(page.get_by_role("button", name="Revoke key")).to_have_count(1)
