"""SMS coding, splitting and reassembly (landline/core/gsm7, segments, reassembly)."""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from landline.core import gsm7, segments
from landline.core.reassembly import Reassembler, join
from landline.core.segments import Coding, Concat, InboundPart, UndecodableMessage

BASIC = [c for c in gsm7.DEFAULT_ALPHABET if c != "\x1b"]
EXTENDED = list(gsm7.EXTENSION_TABLE.values())
GSM_CHARS = st.sampled_from(BASIC + EXTENDED)
gsm_texts = st.text(GSM_CHARS, max_size=700)
# Any Unicode scalar value a text could hold (no lone surrogates), BMP and beyond.
any_chars = st.characters(exclude_categories=["Cs"])
ucs2_texts = st.text(any_chars, min_size=1, max_size=400).filter(lambda t: not gsm7.fits(t))
emoji = st.sampled_from(["😀", "👍", "🎉", "𝄞", "🇫🇷"])


def units(text: str, coding: Coding) -> int:
    return segments.unit_count(text, coding)


# --- GSM 03.38 ----------------------------------------------------------------------------


def test_the_alphabet_has_128_distinct_septets_and_ten_extension_characters() -> None:
    assert len(gsm7.DEFAULT_ALPHABET) == 128 == len(set(gsm7.DEFAULT_ALPHABET))
    assert set("^{}\\[~]|€\f") == set(EXTENDED)
    assert gsm7.encode("@£$¥") == bytes((0x00, 0x01, 0x02, 0x03))
    assert gsm7.encode("A{€") == bytes((0x41, 0x1B, 0x28, 0x1B, 0x65))


@given(gsm_texts)
def test_gsm_text_survives_encoding_and_counts_escapes_as_two_septets(text: str) -> None:
    encoded = gsm7.encode(text)
    assert gsm7.decode(encoded) == text
    assert gsm7.septet_count(text) == len(encoded)
    assert len(encoded) == len(text) + sum(char in EXTENDED for char in text)
    assert all(octet < 0x80 for octet in encoded)


@given(st.binary(max_size=300))
def test_any_septets_decode_to_some_text(data: bytes) -> None:
    decoded = gsm7.decode(data)
    assert len(decoded) <= len(data)


def test_an_unknown_escape_reads_as_the_base_character_and_a_trailing_escape_is_dropped() -> None:
    assert gsm7.decode(bytes((0x1B, 0x41, 0x42))) == "AB"
    assert gsm7.decode(bytes((0x41, 0x1B))) == "A"
    assert gsm7.decode(bytes((0x1B, 0x1B, 0x41))) == " A"


# --- Choosing the coding -----------------------------------------------------------------


@given(gsm_texts)
def test_a_text_in_the_gsm_alphabet_goes_as_gsm7(text: str) -> None:
    assert segments.choose_coding(text) is Coding.GSM7


@given(gsm_texts, st.text(any_chars, min_size=1, max_size=3), st.data())
def test_one_character_outside_the_alphabet_makes_it_ucs2(
    text: str, outsider: str, data: st.DataObject
) -> None:
    assume(not gsm7.fits(outsider))
    at = data.draw(st.integers(0, len(text)))
    assert segments.choose_coding(text[:at] + outsider + text[at:]) is Coding.UCS2


@pytest.mark.parametrize("char", ["ç", "á", "`", "’", "“", "\t", "😀"])
def test_common_lookalikes_are_not_gsm(char: str) -> None:
    assert segments.choose_coding("Hello " + char) is Coding.UCS2


# --- Counting and splitting --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "coding", "unit_count", "parts"),
    [
        ("a" * 160, Coding.GSM7, 160, 1),
        ("a" * 161, Coding.GSM7, 161, 2),
        ("a" * 159 + "€", Coding.GSM7, 161, 2),
        ("a" * 158 + "€", Coding.GSM7, 160, 1),
        ("a" * 306, Coding.GSM7, 306, 2),
        ("a" * 307, Coding.GSM7, 307, 3),
        ("ж" * 70, Coding.UCS2, 70, 1),
        ("ж" * 71, Coding.UCS2, 71, 2),
        ("ж" * 68 + "😀", Coding.UCS2, 70, 1),
        ("ж" * 69 + "😀", Coding.UCS2, 71, 2),
        ("ж" * 134, Coding.UCS2, 134, 2),
        ("ж" * 135, Coding.UCS2, 135, 3),
        ("", Coding.GSM7, 0, 1),
    ],
)
def test_counts_at_the_part_boundaries(
    text: str, coding: Coding, unit_count: int, parts: int
) -> None:
    count = segments.count(text)
    assert (count.coding, count.units, count.parts) == (coding, unit_count, parts)


def test_an_escape_pair_at_a_part_boundary_moves_whole_to_the_next_part() -> None:
    text = "a" * 152 + "€" + "b" * 10  # the € would be septets 153 and 154
    parts = segments.split(text)
    assert parts == ["a" * 152, "€" + "b" * 10]


def test_a_surrogate_pair_at_a_part_boundary_moves_whole_to_the_next_part() -> None:
    text = "ж" * 66 + "😀" + "ж" * 10  # the emoji would be units 67 and 68
    parts = segments.split(text)
    assert parts == ["ж" * 66, "😀" + "ж" * 10]


def _check_split(text: str, coding: Coding) -> list[str]:
    parts = segments.split(text, coding)
    assert "".join(parts) == text
    if units(text, coding) <= segments.capacity(coding):
        assert parts == [text]
        return parts
    limit = segments.capacity(coding, 6)
    for index, part in enumerate(parts):
        assert 0 < units(part, coding) <= limit
        if index + 1 < len(parts):
            # Greedy: the next character would not have fitted, so no part is wasted.
            assert units(part, coding) + units(parts[index + 1][0], coding) > limit
    return parts


@given(gsm_texts)
def test_gsm_parts_hold_153_septets_and_never_split_an_escape(text: str) -> None:
    parts = _check_split(text, Coding.GSM7)
    assert b"".join(gsm7.encode(part) for part in parts) == gsm7.encode(text)
    for part in parts:
        assert not gsm7.encode(part).endswith(b"\x1b")


@given(st.one_of(ucs2_texts, st.lists(emoji, min_size=60, max_size=140).map("".join)))
def test_ucs2_parts_hold_67_units_and_never_split_a_surrogate_pair(text: str) -> None:
    parts = _check_split(text, Coding.UCS2)
    for part in parts:
        data = part.encode("utf-16-be")
        assert data.decode("utf-16-be") == part  # strict: no lone surrogate anywhere


def test_a_text_past_255_parts_is_refused() -> None:
    with pytest.raises(segments.TextTooLong):
        segments.split("a" * (153 * 255 + 1))
    assert len(segments.split("a" * (153 * 255))) == 255


# --- Encoding parts ----------------------------------------------------------------------


@given(st.one_of(gsm_texts, ucs2_texts), st.integers(0, 255))
def test_each_part_carries_its_udh_and_reads_back(text: str, reference: int) -> None:
    encoded = segments.encode_parts(text, reference)
    coding = segments.choose_coding(text)
    assert all(part.data_coding == coding for part in encoded)
    if len(encoded) == 1:
        assert encoded[0].esm_class == 0
        assert encoded[0].short_message == segments.encode_text(text, coding)
        return
    total = len(encoded)
    for seq, part in enumerate(encoded, start=1):
        assert part.esm_class == segments.ESM_CLASS_UDHI
        assert part.short_message[:6] == bytes((5, 0x00, 3, reference, total, seq))
        assert (
            len(part.short_message) <= segments.USER_DATA_OCTETS if coding is Coding.UCS2 else True
        )
        read = segments.read_part(part.short_message, part.data_coding, part.esm_class)
        assert read.concat == Concat(reference, total, seq)
    assert (
        join([segments.read_part(p.short_message, p.data_coding, p.esm_class) for p in encoded])
        == text
    )


def test_gsm_parts_are_unpacked_septets_after_the_header() -> None:
    parts = segments.encode_parts("a" * 200, reference=7)
    assert [len(part.short_message) for part in parts] == [6 + 153, 6 + 47]
    assert parts[0].short_message[6:] == b"a" * 153


def test_wide_references_use_iei_8_and_one_septet_less() -> None:
    parts = segments.encode_parts("a" * 200, reference=0x1234, wide=True)
    assert parts[0].short_message[:7] == bytes((6, 0x08, 4, 0x12, 0x34, 2, 1))
    assert len(parts[0].short_message) == 7 + 152


def test_a_character_outside_a_forced_coding_is_refused() -> None:
    with pytest.raises(ValueError):
        segments.encode_parts("€", 1, Coding.LATIN1)
    with pytest.raises(ValueError):
        segments.split("😀", Coding.GSM7)


# --- Reading inbound parts ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "data_coding", "text"),
    [
        (gsm7.encode("Hi @ home €5"), 0, "Hi @ home €5"),
        (b"Caf\xe9", 0, "Café"),  # an SMSC whose default alphabet is Latin-1
        (b"plain ascii", 1, "plain ascii"),
        (b"\xff", 1, "\ufffd"),
        ("Crème brûlée".encode("latin-1"), 3, "Crème brûlée"),
        ("Привет 😀".encode("utf-16-be"), 8, "Привет 😀"),
        (b"\x00A\x00", 8, "A\ufffd"),  # odd length
        (gsm7.encode("class 0"), 0xF0, "class 0"),
    ],
)
def test_inbound_text_in_each_coding(payload: bytes, data_coding: int, text: str) -> None:
    part = segments.read_part(payload, data_coding, 0)
    assert part.text == text and part.concat is None


def test_a_binary_coding_is_not_read_as_text() -> None:
    with pytest.raises(UndecodableMessage):
        segments.read_part(b"\x01\x02", 4, 0)
    with pytest.raises(UndecodableMessage):
        segments.read_part(b"\x01\x02", 0xF4, 0)


@pytest.mark.parametrize(
    ("header", "concat"),
    [
        (bytes((5, 0x00, 3, 0xAB, 3, 2)), Concat(0xAB, 3, 2)),
        (bytes((6, 0x08, 4, 0x01, 0x02, 3, 3)), Concat(0x0102, 3, 3, wide=True)),
        # a port-addressing element first, then the concatenation
        (bytes((11, 0x05, 4, 0x0B, 0x84, 0x23, 0xF0, 0x00, 3, 9, 2, 1)), Concat(9, 2, 1)),
        (bytes((5, 0x00, 3, 9, 2, 0)), None),  # part 0: not a part
        (bytes((5, 0x00, 3, 9, 2, 3)), None),  # part 3 of 2
        (bytes((5, 0x00, 3, 9, 0, 0)), None),
        (bytes((4, 0x00, 2, 9, 2)), None),  # wrong element length
        (bytes((0,)), None),
    ],
)
def test_udh_concatenation_elements(header: bytes, concat: Concat | None) -> None:
    part = segments.read_part(header + b"text", 0, segments.ESM_CLASS_UDHI)
    assert part.concat == concat
    assert part.text == "text"


@pytest.mark.parametrize(
    "short_message",
    [b"", bytes((9, 0, 3, 1)), bytes((5, 0x00, 7, 1, 2, 1)), bytes((2, 0x00))],
)
def test_a_broken_udh_is_undecodable(short_message: bytes) -> None:
    with pytest.raises(UndecodableMessage):
        segments.read_part(short_message, 0, segments.ESM_CLASS_UDHI)


@given(st.binary(max_size=200), st.sampled_from([0, 1, 3, 8, 0xF0]), st.booleans())
def test_any_inbound_bytes_read_as_text_or_fail_cleanly(
    data: bytes, data_coding: int, udhi: bool
) -> None:
    try:
        part = segments.read_part(data, data_coding, segments.ESM_CLASS_UDHI if udhi else 0)
    except UndecodableMessage:
        assert udhi
        return
    assert isinstance(part.text, str)
    if part.concat is not None:
        assert 1 <= part.concat.seq <= part.concat.total


def test_sar_tlvs_describe_a_part_like_a_wide_udh() -> None:
    part = segments.read_part(b"abc", 0, 0, sar=(0x0102, 3, 2))
    assert part.concat == Concat(0x0102, 3, 2, wide=True)
    assert segments.read_part(b"abc", 0, 0, sar=(1, 3, 4)).concat is None
    # A UDH wins over SAR TLVs when a PDU has both.
    both = segments.read_part(bytes((5, 0, 3, 7, 2, 1)) + b"x", 0, 0x40, sar=(1, 3, 3))
    assert both.concat == Concat(7, 2, 1)


# --- Reassembly ----------------------------------------------------------------------------


def _parts(text: str, reference: int, *, wide: bool = False) -> list[InboundPart]:
    return [
        segments.read_part(p.short_message, p.data_coding, p.esm_class)
        for p in segments.encode_parts(text, reference, wide=wide)
    ]


long_texts = st.one_of(
    st.text(GSM_CHARS, min_size=161, max_size=600),
    st.text(any_chars, min_size=71, max_size=300).filter(lambda t: not gsm7.fits(t)),
)


@given(long_texts, st.randoms(use_true_random=False), st.booleans())
def test_parts_in_any_order_with_repeats_make_the_text_once(text: str, rnd, wide: bool) -> None:  # type: ignore[no-untyped-def]
    parts = _parts(text, 77, wide=wide)
    arrivals = parts + rnd.sample(parts, k=min(2, len(parts)))  # some parts twice
    rnd.shuffle(arrivals)
    reassembler = Reassembler(timeout_ms=60_000)
    done = []
    for now, part in enumerate(arrivals):
        done += reassembler.add("+12065550100", "+12065550123", part, now)
    assert [d.text for d in done] == [text]
    assert done[0].complete and done[0].received == tuple(range(1, len(parts) + 1))
    assert len(reassembler) == 0


def test_a_text_whose_parts_never_all_come_is_given_out_after_the_timeout() -> None:
    text = "a" * 153 + "b" * 153 + "c" * 10
    first, _, third = _parts(text, 5)
    reassembler = Reassembler(timeout_ms=1000)
    assert reassembler.add("+1", "+2", first, now=10_000) == []
    assert reassembler.add("+1", "+2", third, now=10_400) == []
    assert reassembler.next_deadline() == 11_000
    assert reassembler.expire(now=10_999) == []
    [partial] = reassembler.expire(now=11_000)
    assert partial.text == "a" * 153 + "c" * 10
    assert (partial.complete, partial.received, partial.total) == (False, (1, 3), 3)
    assert (partial.first_at, partial.last_at) == (10_000, 10_400)
    assert reassembler.next_deadline() is None


def test_parts_are_kept_apart_by_source_destination_reference_and_total() -> None:
    reassembler = Reassembler()
    a1, a2 = _parts("a" * 200, 9)
    b1, b2 = _parts("b" * 200, 9)
    assert reassembler.add("+1", "+2", a1, 0) == []
    assert reassembler.add("+3", "+2", b1, 0) == []  # another sender, same reference
    assert reassembler.add("+1", "+4", b1, 0) == []  # another recipient
    [b_text] = reassembler.add("+3", "+2", b2, 1)
    [a_text] = reassembler.add("+1", "+2", a2, 1)
    assert (a_text.text, b_text.text) == ("a" * 200, "b" * 200)
    assert len(reassembler) == 1


def test_an_unsplit_text_passes_straight_through() -> None:
    [done] = Reassembler().add("+1", "+2", segments.read_part(b"hi", 0, 0), 5)
    assert (done.text, done.complete, done.total) == ("hi", True, 1)


def test_held_texts_are_bounded_and_the_oldest_is_given_out_first() -> None:
    reassembler = Reassembler(max_pending=2)
    firsts = [_parts(letter * 200, ref)[0] for ref, letter in enumerate("xyz")]
    assert reassembler.add("+1", "+2", firsts[0], 0) == []
    assert reassembler.add("+1", "+2", firsts[1], 1) == []
    [evicted] = reassembler.add("+1", "+2", firsts[2], 2)
    assert evicted.text == "x" * 153 and not evicted.complete
    assert len(reassembler) == 2


def test_held_bytes_are_bounded() -> None:
    reassembler = Reassembler(max_bytes=200)
    one = _parts("x" * 400, 1)[0]
    two = _parts("y" * 400, 2)[0]
    assert reassembler.add("+1", "+2", one, 0) == []
    [evicted] = reassembler.add("+1", "+2", two, 1)
    assert evicted.text.startswith("x")


def test_a_character_split_across_parts_by_the_sender_is_joined() -> None:
    # A sender that cut the escape pair of "€" (0x1B | 0x65) across two parts.
    first = InboundPart(b"ab\x1b", 0, Concat(1, 2, 1))
    second = InboundPart(b"\x65cd", 0, Concat(1, 2, 2))
    assert join([first, second]) == "ab€cd"
    # And the two halves of a surrogate pair in UCS-2.
    pair = "😀".encode("utf-16-be")
    assert (
        join([InboundPart(b"\x00A" + pair[:2], 8, None), InboundPart(pair[2:], 8, None)]) == "A😀"
    )


@settings(max_examples=50)
@given(st.lists(st.sampled_from([0, 3, 8]), min_size=2, max_size=4))
def test_parts_in_different_codings_are_each_read_in_their_own(codings: list[int]) -> None:
    texts = {0: "gsm", 3: "lätin", 8: "ucs😀"}
    encoders = {
        0: gsm7.encode,
        3: lambda t: t.encode("latin-1"),
        8: lambda t: t.encode("utf-16-be"),
    }
    parts = [InboundPart(encoders[c](texts[c]), c, None) for c in codings]  # type: ignore[no-untyped-call]
    assert join(parts) == "".join(texts[c] for c in codings)


def test_a_part_repeated_after_its_text_was_given_out_is_dropped() -> None:
    reassembler = Reassembler(timeout_ms=1000)
    one, two = _parts("a" * 200, 3)
    assert reassembler.add("+1", "+2", one, 0) == []
    assert len(reassembler.add("+1", "+2", two, 1)) == 1
    assert reassembler.add("+1", "+2", two, 2) == []  # the SMSC delivered it again
    assert len(reassembler) == 0
    # A new text that happens to reuse the reference is a new text.
    new_one, new_two = _parts("b" * 200, 3)
    assert reassembler.add("+1", "+2", new_one, 3) == []
    [again] = reassembler.add("+1", "+2", new_two, 4)
    assert again.text == "b" * 200
    # Once the memory of a given-out text has lapsed, a repeat is a new (partial) text.
    assert reassembler.add("+1", "+2", new_two, 2000) == []
    assert len(reassembler) == 1
