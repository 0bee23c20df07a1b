"""Delivery receipts: parsing their text, matching their ids, mapping their stat."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from landline.core.receipts import (
    IdBase,
    IdFormat,
    Outcome,
    ReceiptText,
    canonical_id,
    outcome_of,
    parse_receipt_text,
    parse_receipt_time,
    read_receipt,
)

STANDARD = (
    "id:0A1B2C3D sub:001 dlvrd:001 submit date:2312011230 done date:2312011231 "
    "stat:DELIVRD err:000 text:Hello there, how are"
)


def test_the_appendix_b_form_is_read_field_by_field() -> None:
    assert parse_receipt_text(STANDARD) == ReceiptText(
        id="0A1B2C3D",
        stat="DELIVRD",
        sub="001",
        dlvrd="001",
        submit_date="2312011230",
        done_date="2312011231",
        err="000",
        text="Hello there, how are",
    )


@pytest.mark.parametrize(
    ("text", "message_id", "stat", "err", "quoted"),
    [
        (
            "ID:abc SUB:1 DLVRD:1 SUBMIT DATE:2312011230 DONE DATE:2312011231 "
            "STAT:UNDELIV ERR:034 TEXT:x",
            "abc",
            "UNDELIV",
            "034",
            "x",
        ),
        (
            "id:77 submit_date:2312011230 done_date:2312011231 stat:EXPIRED err:0",
            "77",
            "EXPIRED",
            "0",
            None,
        ),
        (
            "id:5 stat:REJECTD err:001 text:stat:DELIVRD id:9",
            "5",
            "REJECTD",
            "001",
            "stat:DELIVRD id:9",
        ),
        ("err:000 stat:DELIVRD id:x-1", "x-1", "DELIVRD", "000", None),
        (
            "id:1 sub:001 dlvrd:001 submit date:2312011230 done date:2312011231 "
            "stat:DELIVRD err:000 Text:",
            "1",
            "DELIVRD",
            "000",
            "",
        ),
    ],
)
def test_receipts_as_smscs_actually_write_them(
    text: str, message_id: str, stat: str, err: str, quoted: str | None
) -> None:
    parsed = parse_receipt_text(text)
    assert parsed is not None
    assert (parsed.id, parsed.stat, parsed.err, parsed.text) == (message_id, stat, err, quoted)


@pytest.mark.parametrize(
    "text", ["", "hello", "id: stat:DELIVRD", "id:5 err:000", "identity:5 stat:x"]
)
def test_text_that_is_not_a_receipt(text: str) -> None:
    assert parse_receipt_text(text) is None


@given(
    st.text("0123456789abcdefABCDEF-", min_size=1, max_size=20),
    st.sampled_from(["DELIVRD", "UNDELIV", "EXPIRED", "ACCEPTD"]),
    st.text(max_size=40),
)
def test_any_receipt_we_write_reads_back(message_id: str, stat: str, quoted: str) -> None:
    text = (
        f"id:{message_id} sub:001 dlvrd:000 submit date:2401010000 done date:2401010001 "
        f"stat:{stat} err:000 text:{quoted}"
    )
    parsed = parse_receipt_text(text)
    assert parsed is not None
    assert (parsed.id, parsed.stat, parsed.text) == (message_id, stat, quoted)


@given(st.text(max_size=200))
def test_any_text_parses_or_is_refused_without_error(text: str) -> None:
    parsed = parse_receipt_text(text)
    assert parsed is None or (parsed.id and parsed.stat)


@pytest.mark.parametrize(
    ("stat", "outcome"),
    [
        ("DELIVRD", Outcome.DELIVERED),
        ("UNDELIV", Outcome.FAILED),
        ("REJECTD", Outcome.FAILED),
        ("EXPIRED", Outcome.FAILED),
        ("DELETED", Outcome.FAILED),
        ("UNKNOWN", Outcome.FAILED),
        ("ACCEPTD", Outcome.PENDING),
        ("ENROUTE", Outcome.PENDING),
        ("delivrd", Outcome.DELIVERED),
        ("DELIVERED", Outcome.DELIVERED),
        ("WHATEVER", None),
    ],
)
def test_status_mapping(stat: str, outcome: Outcome | None) -> None:
    assert outcome_of(stat) is outcome


def test_the_tlvs_win_over_the_text() -> None:
    report = read_receipt(STANDARD, receipted_message_id="a1b2c3d", message_state=5)
    assert report is not None
    assert (report.message_id, report.outcome, report.stat, report.error) == (
        "a1b2c3d",
        Outcome.FAILED,
        "UNDELIV",
        "000",
    )


def test_tlvs_alone_make_a_receipt_and_so_does_text_alone() -> None:
    alone = read_receipt("", receipted_message_id="42", message_state=2)
    assert alone is not None and alone.outcome is Outcome.DELIVERED and alone.error is None
    text_only = read_receipt(STANDARD)
    assert text_only is not None and text_only.message_id == "0A1B2C3D"
    assert read_receipt("not a receipt") is None
    assert read_receipt("id:1 stat:BOGUS") is None


def test_receipt_times() -> None:
    assert parse_receipt_time("2312011230").isoformat() == "2023-12-01T12:30:00"  # type: ignore[union-attr]
    assert parse_receipt_time("231201123059").isoformat() == "2023-12-01T12:30:59"  # type: ignore[union-attr]
    assert parse_receipt_time("2313011230") is None
    assert parse_receipt_time("abc") is None
    assert parse_receipt_time(None) is None


# --- ids ---------------------------------------------------------------------------------


def test_hex_in_the_response_and_decimal_in_the_receipt_match() -> None:
    smsc = IdFormat(submit_resp=IdBase.HEX, receipt=IdBase.DECIMAL)
    assert smsc.submit_key("0A1B") == smsc.receipt_key("2587") == "2587"
    assert smsc.submit_key("a1b") == smsc.receipt_key("0002587")


def test_opaque_ids_ignore_case_and_leading_zeros_only() -> None:
    assert canonical_id("0A1B") == canonical_id("a1b") == canonical_id(" 00a1B ") == "a1b"
    assert canonical_id("0000") == "0"
    assert canonical_id("0A1B") != canonical_id("2587")
    assert canonical_id("abc-123") != canonical_id("abc-124")


def test_ids_that_are_not_numbers_in_the_stated_base_fall_back_to_text() -> None:
    assert canonical_id("msg-0042", IdBase.DECIMAL) == "msg-0042"
    assert canonical_id("xyz", IdBase.HEX) == "xyz"
    assert canonical_id("1" * 100, IdBase.DECIMAL) == "1" * 100  # no giant integers


@given(st.integers(0, 2**64), st.integers(0, 4), st.booleans())
def test_one_number_gives_one_key_however_it_is_written(
    number: int, zeros: int, upper: bool
) -> None:
    hex_form = "0" * zeros + format(number, "X" if upper else "x")
    decimal_form = "0" * zeros + str(number)
    key = str(number)
    assert canonical_id(hex_form, IdBase.HEX) == key
    assert canonical_id(decimal_form, IdBase.DECIMAL) == key
    assert IdFormat(IdBase.DECIMAL, IdBase.HEX).receipt_key(hex_form) == IdFormat(
        IdBase.DECIMAL, IdBase.HEX
    ).submit_key(decimal_form)


@given(st.integers(0, 2**32), st.integers(0, 2**32))
def test_different_numbers_give_different_keys(a: int, b: int) -> None:
    same = canonical_id(format(a, "x"), IdBase.HEX) == canonical_id(str(b), IdBase.DECIMAL)
    assert same == (a == b)
