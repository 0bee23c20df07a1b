"""The rules of webhook delivery on plain integers: back-off, giving up, host health."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from landline.core import webhook_policy as wp
from landline.core.webhook_policy import HEALTHY, HostHealth

S = wp.SECOND_MS
M = wp.MINUTE_MS
H = wp.HOUR_MS
T0 = 1_700_000_000_000


# -- retries


def test_retries_start_at_ten_seconds_and_double_up_to_ten_minutes() -> None:
    delays = [wp.retry_delay_ms(n) for n in range(1, 11)]
    assert delays == [
        10 * S, 20 * S, 40 * S, 80 * S, 160 * S, 320 * S, 10 * M, 10 * M, 10 * M, 10 * M,
    ]  # fmt: skip


@given(st.integers(min_value=-5, max_value=10**9))
def test_retry_delay_is_bounded_for_any_count(failures: int) -> None:
    delay = wp.retry_delay_ms(failures)
    assert 10 * S <= delay <= 10 * M
    assert wp.retry_delay_ms(failures + 1) >= delay


@given(st.integers(min_value=1, max_value=200))
def test_each_wait_doubles_until_the_ceiling(failures: int) -> None:
    delay, following = wp.retry_delay_ms(failures), wp.retry_delay_ms(failures + 1)
    assert following == min(2 * delay, 10 * M)


def test_a_delivery_is_given_up_72_hours_after_its_event() -> None:
    assert not wp.is_expired(T0, T0 + 72 * H - 1)
    assert wp.is_expired(T0, T0 + 72 * H)
    assert wp.next_attempt_at(T0, T0 + 72 * H, failures=400) is None


def test_the_last_retry_falls_on_the_limit_instead_of_past_it() -> None:
    failed_at = T0 + 72 * H - 3 * M
    assert wp.next_attempt_at(T0, failed_at, failures=30) == T0 + 72 * H
    assert wp.next_attempt_at(T0, T0 + 5 * S, failures=1) == T0 + 15 * S


def test_a_retry_schedule_reaches_the_limit_and_stops() -> None:
    now, failures, attempts = T0, 0, [T0]
    while True:
        failures += 1
        following = wp.next_attempt_at(T0, now, failures)
        if following is None:
            break
        assert following > now
        now = following
        attempts.append(now)
    assert attempts[1:4] == [T0 + 10 * S, T0 + 30 * S, T0 + 70 * S]
    assert attempts[-1] == T0 + 72 * H
    # Ten-minute waits for nearly all of the 72 hours.
    assert 420 < len(attempts) < 440


# -- host health


def test_a_host_is_down_after_an_hour_of_nothing_but_failures() -> None:
    health = wp.after_failure(HEALTHY, T0)
    health = wp.after_failure(health, T0 + 30 * M)
    health = wp.after_failure(health, T0 + H - 1)
    assert not wp.is_down(health)
    assert wp.may_attempt(health)
    health = wp.after_failure(health, T0 + H)
    assert wp.is_down(health)
    assert not wp.may_attempt(health)
    assert health == HostHealth(T0, T0 + H, down_since=T0 + H, next_probe_at=T0 + H + 10 * M)


def test_one_success_in_the_hour_keeps_the_host_up() -> None:
    health = wp.after_failure(HEALTHY, T0)
    health = wp.after_success(health, T0 + 59 * M)
    health = wp.after_failure(health, T0 + 59 * M + 1)
    # Two hours of failures but one success: the run starts again after it.
    health = wp.after_failure(health, T0 + 59 * M + H)
    assert not wp.is_down(health)
    assert health.first_failure_at == T0 + 59 * M + 1
    assert wp.is_down(wp.after_failure(health, T0 + 59 * M + 1 + H))


def test_a_down_host_gets_one_probe_every_ten_minutes() -> None:
    down_at = T0 + H
    health = wp.after_failure(wp.after_failure(HEALTHY, T0), down_at)
    assert not wp.may_probe(health, down_at + 10 * M - 1)
    assert wp.may_probe(health, down_at + 10 * M)
    health = wp.after_probe_started(health, down_at + 10 * M)
    # Only one probe at a time, and other attempts failing do not delay the next.
    assert not wp.may_probe(health, down_at + 10 * M)
    with pytest.raises(ValueError):
        wp.after_probe_started(health, down_at + 11 * M)
    health = wp.after_failure(health, down_at + 10 * M + 7 * S)
    health = wp.after_failure(health, down_at + 15 * M)
    assert wp.is_down(health)
    assert not wp.may_probe(health, down_at + 20 * M - 1)
    assert wp.may_probe(health, down_at + 20 * M)


def test_a_successful_probe_brings_the_host_back() -> None:
    health = wp.after_failure(wp.after_failure(HEALTHY, T0), T0 + H)
    health = wp.after_probe_started(health, T0 + H + 10 * M)
    health = wp.after_success(health, T0 + H + 10 * M + 50)
    assert health == HEALTHY
    assert not wp.is_down(health)
    assert wp.may_attempt(health)
    assert not wp.may_probe(health, T0 + 10 * H)


def test_an_up_host_is_never_probed() -> None:
    health = wp.after_failure(HEALTHY, T0)
    assert not wp.may_probe(health, T0 + 5 * H)
    with pytest.raises(ValueError):
        wp.after_probe_started(health, T0 + 5 * H)


def test_failures_reported_out_of_order_do_not_shrink_the_run() -> None:
    health = wp.after_failure(HEALTHY, T0)
    health = wp.after_failure(health, T0 + 50 * M)
    health = wp.after_failure(health, T0 + 40 * M)
    assert health.last_failure_at == T0 + 50 * M


# A history is a list of (milliseconds since the previous attempt, succeeded).
histories = st.lists(
    st.tuples(st.integers(min_value=0, max_value=40 * M), st.booleans()), max_size=60
)


@given(histories)
def test_host_health_matches_its_definition(history: list[tuple[int, bool]]) -> None:
    """Down exactly when the attempts since the last success are all failures spanning an hour.

    The reference reads the whole history; the rules only ever see the last state.
    """
    health, now, seen = HEALTHY, T0, []
    for gap, succeeded in history:
        now += gap
        seen.append((now, succeeded))
        was_down = wp.is_down(health)
        health = wp.after_success(health, now) if succeeded else wp.after_failure(health, now)
        run = _failures_since_last_success(seen)
        assert wp.is_down(health) == (bool(run) and run[-1] - run[0] >= H)
        if wp.is_down(health) and not was_down:
            assert health.down_since == now
            assert health.next_probe_at == now + 10 * M
        if run:
            assert (health.first_failure_at, health.last_failure_at) == (run[0], run[-1])
        else:
            assert health == HEALTHY


def _failures_since_last_success(seen: list[tuple[int, bool]]) -> list[int]:
    run: list[int] = []
    for at, succeeded in seen:
        run = [] if succeeded else [*run, at]
    return run


@given(st.lists(st.integers(min_value=0, max_value=3 * M), min_size=1, max_size=200))
def test_probes_start_at_least_ten_minutes_apart(gaps: list[int]) -> None:
    health = wp.after_failure(wp.after_failure(HEALTHY, T0), T0 + H)
    now, probes = T0 + H, []
    for gap in gaps:
        now += gap
        if wp.may_probe(health, now):
            health = wp.after_probe_started(health, now)
            probes.append(now)
        health = wp.after_failure(health, now)
    assert all(b - a >= 10 * M for a, b in itertools.pairwise(probes))
    # And no probe is skipped: the last one is less than ten minutes old, or none was due.
    if now >= T0 + H + 10 * M + 3 * M:
        assert probes and now - probes[-1] < 10 * M + 3 * M


# -- signing secrets


def test_the_previous_secret_signs_for_24_hours_after_a_rotation() -> None:
    rotated = T0
    assert wp.active_secrets("new", "old", rotated, rotated) == ("new", "old")
    assert wp.active_secrets("new", "old", rotated, rotated + 24 * H - 1) == ("new", "old")
    assert wp.active_secrets("new", "old", rotated, rotated + 24 * H) == ("new",)
    assert wp.active_secrets("only", None, None, rotated) == ("only",)
