"""Automatic spam protection: a line that sends too much, or the same text to too many
people, is flagged (-801) until the operator clears it; every flag and clear is kept
with its reason. The rules (core/spam.py) alone, then through the API and the CLI, on
SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import Landline, start_landline

from landline.core.spam import DAY_MS, HOUR_MS, MAX_BODIES, SpamLimits, SpamWatch

LINE = "2065550123"

# --- the rules ---------------------------------------------------------------------------


def test_per_minute_limit_is_a_sliding_minute() -> None:
    watch = SpamWatch(SpamLimits(per_minute=3))
    assert watch.admit(1, "a", ["+1"], 0) is None
    assert watch.admit(1, "b", ["+2", "+3"], 30_000) is None
    assert watch.admit(1, "c", ["+4"], 59_000) == "more than 3 messages in a minute"
    # The line is flagged from here; its counts start afresh when it is cleared.
    assert watch.admit(1, "c", ["+4"], 59_500) is None
    # Another line is counted on its own.
    assert watch.admit(2, "x", ["+1", "+2", "+3"], 59_000) is None


def test_a_minute_later_the_first_sends_no_longer_count() -> None:
    # Counted by the second: a send leaves the count 60 to 61 seconds after it was made.
    watch = SpamWatch(SpamLimits(per_minute=2))
    assert watch.admit(1, "a", ["+1", "+2"], 0) is None
    assert watch.admit(1, "b", ["+3"], 59_999) == "more than 2 messages in a minute"
    watch = SpamWatch(SpamLimits(per_minute=2))
    assert watch.admit(1, "a", ["+1", "+2"], 0) is None
    assert watch.admit(1, "b", ["+3"], 61_000) is None
    assert watch.admit(1, "c", ["+4"], 61_500) is None
    assert watch.admit(1, "d", ["+5"], 62_000) == "more than 2 messages in a minute"


def test_per_day_limit() -> None:
    watch = SpamWatch(SpamLimits(per_day=10))
    for n in range(10):
        assert watch.admit(1, f"text {n}", [f"+{n}"], n * HOUR_MS) is None
    assert watch.admit(1, "one more", ["+99"], 10 * HOUR_MS) == "more than 10 messages in a day"
    watch = SpamWatch(SpamLimits(per_day=10))
    for n in range(10):
        assert watch.admit(1, f"text {n}", [f"+{n}"], n * HOUR_MS) is None
    assert watch.admit(1, "next day", ["+99"], DAY_MS + HOUR_MS) is None


def test_the_same_body_to_too_many_contacts_within_an_hour() -> None:
    watch = SpamWatch(SpamLimits(same_body_contacts=3))
    assert watch.admit(1, "Buy NOW", ["+1", "+2"], 0) is None
    # The same people again do not count twice; spacing and case do not make it new.
    assert watch.admit(1, "buy   now", ["+1", "+2", "+3"], 1_000) is None
    assert watch.admit(1, "Something else", ["+4", "+5", "+6"], 2_000) is None
    reason = watch.admit(1, "BUY now", ["+4"], 3_000)
    assert reason == "the same text to more than 3 contacts within an hour"
    watch = SpamWatch(SpamLimits(same_body_contacts=3))
    assert watch.admit(1, "Buy now", ["+1", "+2", "+3"], 0) is None
    assert watch.admit(1, "Buy now", ["+4"], HOUR_MS) is None  # the first three aged out


def test_memory_is_bounded() -> None:
    watch = SpamWatch(SpamLimits(same_body_contacts=5), max_lines=10)
    for line in range(100):
        watch.admit(line, "hi", ["+1"], 0)
    assert len(watch._lines) == 10
    for n in range(MAX_BODIES + 50):
        watch.admit(1, f"body {n}", ["+1"], 0)
    assert len(watch._lines[1].bodies) == MAX_BODIES


def test_limits_of_zero_are_off() -> None:
    watch = SpamWatch(SpamLimits())
    for n in range(5000):
        assert watch.admit(1, "same", [f"+{n}"], 0) is None


# --- through the API and the CLI -----------------------------------------------------------


@pytest.fixture
def strict(db_url: str, tmp_path: Path) -> Iterator[tuple[Landline, str]]:
    server = start_landline(
        db_url, tmp_path, spam_per_minute=20, spam_per_day=1000, spam_same_body_contacts=5
    )
    yield server, db_url
    server.stop()


def landline_cli(db_url: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LANDLINE_")}
    env["LANDLINE_DATABASE_URL"] = db_url
    return subprocess.run(
        [sys.executable, "-m", "landline", *args, "--data-dir", str(tmp_path / "cli")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def send(server: Landline, session: str, contacts: list[str], body: str) -> dict[str, Any]:
    return server.call("/message/send", session=session, contacts=",".join(contacts), body=body)


def test_a_line_that_crosses_a_limit_is_flagged_until_the_operator_clears_it(
    strict: tuple[Landline, str], tmp_path: Path
) -> None:
    server, db_url = strict
    _, session = server.add_line(LINE)
    numbers = [f"+1206555{4000 + n}" for n in range(10)]
    # The same text to five people is fine; to a sixth, spam.
    assert send(server, session, numbers[:5], "Big sale today")["success"] is True
    refused = send(server, session, numbers[5:6], "big sale TODAY")
    assert refused["success"] is False
    assert refused["response"]["code"] == -801
    assert "same text to more than 5 contacts" in refused["response"]["desc"]
    # Now every send answers -801, however innocent, and nothing was stored for them.
    listed = server.call("/message/list", session=session, limit=50)["response"]
    assert len(listed) == 5
    other = send(server, session, numbers[9:], "Your appointment is at 3")
    assert other["response"]["code"] == -801

    shown = json.loads(landline_cli(db_url, tmp_path, "admin", "line", "show", LINE).stdout)
    assert shown["state"] == "spam"
    [flag] = shown["flags"]
    assert flag["action"] == "flag" and flag["by"] == "automatic"
    assert "same text to more than 5 contacts" in flag["reason"]

    cleared = landline_cli(
        db_url, tmp_path, "admin", "line", "unflag", LINE, "--reason", "customer verified"
    )
    assert cleared.returncode == 0, cleared.stderr
    again = send(server, session, numbers[9:], "Your appointment is at 3")
    assert again["success"] is True, again
    shown = json.loads(landline_cli(db_url, tmp_path, "admin", "line", "show", LINE).stdout)
    assert shown["state"] == "active"
    assert [(f["action"], f["by"], f["reason"]) for f in shown["flags"]] == [
        ("clear", "operator", "customer verified"),
        ("flag", "automatic", flag["reason"]),
    ]
    # Clearing a line that is not flagged is an error that changes nothing.
    twice = landline_cli(db_url, tmp_path, "admin", "line", "unflag", LINE)
    assert twice.returncode != 0 and "not flagged" in twice.stderr


def test_messages_per_minute(strict: tuple[Landline, str]) -> None:
    server, _ = strict
    _, session = server.add_line(LINE)
    for n in range(4):
        numbers = [f"+1206555{5000 + n * 5 + k}" for k in range(5)]
        assert send(server, session, numbers, f"note {n}")["success"] is True
    refused = send(server, session, ["+12065556000"], "one more")
    assert refused["response"]["code"] == -801
    assert "more than 20 messages in a minute" in refused["response"]["desc"]
