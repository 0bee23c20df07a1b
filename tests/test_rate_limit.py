"""Too many requests (CONTRACT section 2): HTTP 429, the envelope, Retry-After."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import Landline, start_landline

from landline.core.clock import ManualClock
from landline.core.ratelimit import TokenBucket


@pytest.fixture
def limited(db_url: str, tmp_path: Path, manual_clock: ManualClock) -> Iterator[Landline]:
    server = start_landline(db_url, tmp_path, clock=manual_clock, rate_limit=3)
    yield server
    server.stop()


def _send(server: Landline, session: str, body: str) -> tuple[int, dict[str, object], str | None]:
    response = server.http.post(
        "/message/send", data={"session": session, "contacts": "2065550100", "body": body}
    )
    return response.status_code, response.json(), response.headers.get("retry-after")


def test_a_line_over_its_rate_gets_429_and_nothing_is_stored(
    limited: Landline, manual_clock: ManualClock
) -> None:
    _, session = limited.add_line("2065550123")
    _, other = limited.add_line("2065550124")
    for n in range(3):
        assert _send(limited, session, f"ok {n}")[0] == 200

    status, answer, retry_after = _send(limited, session, "one too many")
    assert status == 429
    assert answer["success"] is False
    assert answer["response"] == {  # type: ignore[comparison-overlap]
        "code": -429,
        "desc": "Too many requests: this line may make 3 a second; try again in 1 s",
    }
    assert retry_after == "1"
    # Another line has its own allowance.
    assert _send(limited, other, "other line")[0] == 200

    manual_clock.advance(seconds=1)
    assert _send(limited, session, "after waiting")[0] == 200
    listed = limited.call("/message/list", session=session)["response"]
    assert sorted(m["body"] for m in listed) == ["after waiting", "ok 0", "ok 1", "ok 2"]


def test_the_bucket_refills_at_its_rate_up_to_its_burst() -> None:
    bucket = TokenBucket.full(rate=2, burst=4, now_ms=0)
    assert [bucket.take(0) for _ in range(5)] == [0, 0, 0, 0, 500]
    assert bucket.take(500) == 0
    assert bucket.take(500) == 500
    # A long pause refills no more than the burst.
    assert [bucket.take(60_000) for _ in range(5)] == [0, 0, 0, 0, 500]
