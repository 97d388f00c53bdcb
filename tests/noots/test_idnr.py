"""Tests for noots.idnr: the rules, the generator and agreement with python-stdnum."""

from __future__ import annotations

import itertools
from math import perm

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.de import idnr as stdnum_idnr

from noots import idnr
from noots.errors import InvalidIdnr

OFFICIAL_EXAMPLES = [
    "02476291358",
    "86095742719",
    "47036892816",
    "65929970489",
    "57549285017",
    "25768131411",
]


def complete(first_ten: str) -> str:
    """The number with the correct check digit, so only the rule under test can fail."""
    return first_ten + idnr.check_digit(first_ten)


def reason_of(number: str, *, allow_test_numbers: bool = False) -> str:
    with pytest.raises(InvalidIdnr) as caught:
        idnr.validate(number, allow_test_numbers=allow_test_numbers)
    return caught.value.reason


@pytest.mark.parametrize("number", OFFICIAL_EXAMPLES)
def test_official_examples_are_valid_in_test_mode(number: str) -> None:
    """The six published examples pass every rule when test numbers are allowed."""
    assert idnr.validate(number, allow_test_numbers=True) == number
    assert idnr.is_valid(number, allow_test_numbers=True)


def test_official_examples_without_leading_zero_are_valid_in_production() -> None:
    """Examples without a leading 0 are valid in production mode, the 0 one is refused."""
    for number in OFFICIAL_EXAMPLES:
        assert idnr.is_valid(number) == (number[0] != "0")


def test_check_digit_of_the_examples() -> None:
    """check_digit reproduces the published check digit of each example."""
    for number in OFFICIAL_EXAMPLES:
        assert idnr.check_digit(number[:10]) == number[10]


@pytest.mark.parametrize("bad", ["", "123456789", "12345678901a", "1234567890x", "٣٣٣٣٣٣٣٣٣٣٣"])
def test_check_digit_refuses_anything_but_ten_ascii_digits(bad: str) -> None:
    """check_digit is defined only for exactly ten ASCII digits."""
    with pytest.raises(ValueError, match="ten ASCII digits"):
        idnr.check_digit(bad)


@pytest.mark.parametrize(
    ("number", "reason", "diagnosis"),
    [
        ("8609574271", "must have 11 digits", "must have 11 digits, got 10 characters"),
        ("860957427190", "must have 11 digits", "must have 11 digits, got 12 characters"),
        ("8609574271a", "must consist of the digits 0-9 only", None),
        ("86 95742719", "must consist of the digits 0-9 only", None),
        ("٨٦٠٩٥٧٤٢٧١٩", "must consist of the digits 0-9 only", None),
        (
            "02476291358",
            "a leading 0 marks a test number, which is refused in production mode",
            None,
        ),
        (
            complete("1234567890"),
            "no digit occurs twice in the first ten digits (exactly one must)",
            None,
        ),
        (
            complete("1122345678"),
            "more than one digit repeats in the first ten digits; exactly one may",
            "more than one digit repeats in the first ten digits (1, 2); exactly one may",
        ),
        (
            complete("1213141567"),
            "a digit occurs more than 3 times in the first ten digits",
            "digit 1 occurs 4 times in the first ten digits (at most 3)",
        ),
        (
            complete("1112345678"),
            "a digit occurs three times in a row",
            "digit 1 occurs three times in a row",
        ),
        (
            "86095742718",
            "the check digit does not match the first ten digits",
            "check digit is 8, expected 9",
        ),
    ],
)
def test_each_rule_refuses_with_its_reason(number: str, reason: str, diagnosis: str | None) -> None:
    """Every rule refuses a number that breaks only it, naming the rule in the reason (no
    digit of the number) and what exactly is wrong in the diagnosis."""
    with pytest.raises(InvalidIdnr) as caught:
        idnr.validate(number)
    assert caught.value.reason == reason
    assert caught.value.diagnosis == (diagnosis or reason)
    assert not idnr.is_valid(number)


def test_reason_is_in_the_error_message() -> None:
    """The exception message carries the reason and maps to EDM:ERR:0003."""
    with pytest.raises(InvalidIdnr) as caught:
        idnr.validate("86095742718")
    assert str(caught.value) == "invalid IDNr: the check digit does not match the first ten digits"
    assert caught.value.code == "EDM:ERR:0003"


REASONS = {
    "must have 11 digits",
    "must consist of the digits 0-9 only",
    "a leading 0 marks a test number, which is refused in production mode",
    "no digit occurs twice in the first ten digits (exactly one must)",
    "more than one digit repeats in the first ten digits; exactly one may",
    "a digit occurs more than 3 times in the first ten digits",
    "a digit occurs three times in a row",
    "the check digit does not match the first ten digits",
}


@given(st.text(alphabet="0123456789", min_size=11, max_size=11) | st.text(max_size=20))
def test_reason_never_quotes_the_number(text: str) -> None:
    """The reason (what a refusal's detail carries) is one of the fixed rule texts, whatever
    the number: never a part of it."""
    if idnr.is_valid(text):
        return
    with pytest.raises(InvalidIdnr) as caught:
        idnr.validate(text)
    assert caught.value.reason in REASONS
    assert caught.value.message == f"invalid IDNr: {caught.value.reason}"


def test_three_of_a_digit_not_in_a_row_is_accepted() -> None:
    """A digit may occur three times when not all three are adjacent (pairs are fine)."""
    assert idnr.is_valid(complete("1123456719"))
    assert idnr.is_valid(complete("1213456781"))


def test_test_mode_still_applies_every_other_rule() -> None:
    """Allowing test numbers does not relax the structure or the check digit."""
    assert reason_of(complete("0003456789"), allow_test_numbers=True).endswith("in a row")
    assert reason_of("02476291357", allow_test_numbers=True).startswith("the check digit")


def test_is_test_number() -> None:
    """is_test_number is true only for valid numbers with the leading 0."""
    assert idnr.is_test_number("02476291358")
    assert not idnr.is_test_number("02476291357")
    assert not idnr.is_test_number("86095742719")
    assert not idnr.is_test_number("")


@given(st.text(max_size=20))
def test_validate_refuses_any_text_only_with_invalid_idnr(text: str) -> None:
    """validate either returns the text unchanged or raises InvalidIdnr, nothing else."""
    if idnr.is_valid(text, allow_test_numbers=True):
        assert idnr.validate(text, allow_test_numbers=True) == text
    else:
        with pytest.raises(InvalidIdnr, match=r"invalid IDNr: \S"):
            idnr.validate(text, allow_test_numbers=True)


@settings(max_examples=50)
@given(st.integers(), st.integers(min_value=0, max_value=300))
def test_every_generated_number_is_a_valid_distinct_test_number(seed: int, count: int) -> None:
    """generate returns count distinct test numbers, each valid only in test mode."""
    numbers = idnr.generate(count, seed)
    assert len(numbers) == count == len(set(numbers))
    for number in numbers:
        assert idnr.is_test_number(number)
        assert not idnr.is_valid(number)


def test_generate_is_deterministic_per_seed() -> None:
    """The same seed gives the same numbers; another seed gives another order."""
    assert idnr.generate(100, 1) == idnr.generate(100, 1)
    assert idnr.generate(100, 1) != idnr.generate(100, 2)
    assert idnr.generate(100, 1) == list(itertools.islice(idnr.iter_test_numbers(1), 100))


def test_generate_many_is_unique() -> None:
    """Two hundred thousand numbers from one seed contain no duplicate and all validate."""
    numbers = idnr.generate(200_000, 42)
    assert len(set(numbers)) == 200_000
    assert all(idnr.is_test_number(n) for n in numbers[::97])


def test_generate_refuses_impossible_counts() -> None:
    """More numbers than exist, or a negative count, is a ValueError."""
    with pytest.raises(ValueError, match="count"):
        idnr.generate(-1, 0)
    with pytest.raises(ValueError, match="count"):
        idnr.generate(idnr.TEST_NUMBER_SPACE + 1, 0)


def test_test_number_space_size() -> None:
    """The space is the sum of its four cases, counted independently of the enumeration."""
    zero_twice = 9 * perm(9, 8)  # second 0 at one of 9 places, 8 distinct of 1..9
    zero_thrice = (36 - 1) * perm(9, 7)  # two more 0s, not at places 1 and 2
    other_twice = 9 * 36 * perm(8, 7)
    other_thrice = 9 * (84 - 7) * perm(8, 6)  # 7 runs of three among places 1..9
    assert zero_twice + zero_thrice + other_twice + other_thrice == idnr.TEST_NUMBER_SPACE
    assert len(idnr._blocks()) * idnr._ROWS == idnr.TEST_NUMBER_SPACE


def test_enumeration_rows_are_distinct_and_valid_across_all_blocks() -> None:
    """The first rows of every block give distinct valid test numbers."""
    numbers = [idnr._unrank(b, r) for b in range(idnr._BLOCKS) for r in (0, 1, 9_999, 20_159)]
    assert len(set(numbers)) == len(numbers)
    assert all(idnr.is_test_number(n) for n in numbers)


def shape_key(number: str) -> tuple[str, tuple[int, ...], str]:
    """The repeated digit, its places, and the digit after the 0s when the 0 repeats."""
    first_ten = number[:10]
    repeated = next(d for d in "0123456789" if first_ten.count(d) > 1)
    places = tuple(i for i, d in enumerate(first_ten) if d == repeated)
    first_free = next(d for d in first_ten if d != "0") if repeated == "0" else ""
    return repeated, places, first_free


def test_blocks_partition_the_space() -> None:
    """Each block holds one shape (or one half of it) and no two blocks share rows of a shape."""
    keys: dict[tuple[str, tuple[int, ...], str], list[int]] = {}
    for index, block in enumerate(idnr._blocks()):
        first = idnr._unrank(index, 0)
        last = idnr._unrank(index, idnr._ROWS - 1)
        assert shape_key(first) == shape_key(last)
        keys.setdefault(shape_key(first), []).append(block.offset)
    for offsets in keys.values():
        assert offsets in ([0], [0, idnr._ROWS])


def test_one_block_yields_distinct_numbers() -> None:
    """All rows of a block give distinct valid test numbers of its shape."""
    for index in (0, 500, idnr._BLOCKS - 1):
        numbers = {idnr._unrank(index, row) for row in range(idnr._ROWS)}
        assert len(numbers) == idnr._ROWS
        assert len({shape_key(n) for n in numbers}) == 1
        assert all(idnr.is_test_number(n) for n in list(numbers)[::101])


@given(
    st.integers(min_value=1, max_value=40),
    st.integers(min_value=1, max_value=40),
    st.integers(),
)
def test_feistel_permutation_is_a_bijection(a: int, b: int, seed: int) -> None:
    """The keyed shuffle maps Z_a x Z_b onto itself, for any sizes and seed."""
    keys = idnr._round_keys(seed)
    images = {idnr._permute(x, y, keys, a, b) for x in range(a) for y in range(b)}
    assert images == {(x, y) for x in range(a) for y in range(b)}


def test_fast_loop_matches_the_reference_composition() -> None:
    """iter_test_numbers yields exactly unrank(permute(index)) in index order."""
    keys = idnr._round_keys(7)
    reference = [
        idnr._unrank(*idnr._permute(*divmod(i, idnr._ROWS), keys, idnr._BLOCKS, idnr._ROWS))
        for i in range(3_000)
    ]
    assert idnr.generate(3_000, 7) == reference


@settings(max_examples=100)
@given(
    st.one_of(
        st.sampled_from(OFFICIAL_EXAMPLES), st.integers().map(lambda s: idnr.generate(1, s)[0])
    ),
    st.integers(min_value=0, max_value=10),
    st.integers(min_value=1, max_value=9),
)
def test_every_single_digit_change_is_refused(number: str, place: int, shift: int) -> None:
    """Changing any one digit of a valid number makes it invalid (MOD 11,10 catches it)."""
    changed = number[:place] + str((int(number[place]) + shift) % 10) + number[place + 1 :]
    assert not idnr.is_valid(changed, allow_test_numbers=True)


@st.composite
def production_candidates(draw: st.DrawFn) -> str:
    """Eleven digits, no leading 0, often structurally valid and often with a right check digit."""
    kind = draw(st.sampled_from(["random", "structured", "structured-bad-check"]))
    if kind == "random":
        return draw(st.from_regex(r"[1-9][0-9]{10}", fullmatch=True))
    repeated = draw(st.sampled_from("0123456789"))
    times = draw(st.sampled_from([2, 3]))
    others = draw(st.permutations([d for d in "0123456789" if d != repeated]))
    digits = draw(st.permutations([repeated] * times + others[: 10 - times]))
    first_ten = "".join(digits)
    if first_ten[0] == "0":
        first_ten = first_ten[::-1]
    if first_ten[0] == "0":
        first_ten = "1" + first_ten[1:]
    check = idnr.check_digit(first_ten)
    if kind == "structured-bad-check":
        check = str((int(check) + draw(st.integers(1, 9))) % 10)
    return first_ten + check


@settings(max_examples=200)
@given(production_candidates())
def test_agrees_with_stdnum_on_numbers_without_leading_zero(number: str) -> None:
    """Without a leading 0, valid here = valid for stdnum and no digit three times in a row."""
    triple_in_a_row = any(d * 3 in number[:10] for d in "0123456789")
    assert idnr.is_valid(number) == (stdnum_idnr.is_valid(number) and not triple_in_a_row)
    assert idnr.is_valid(number, allow_test_numbers=True) == idnr.is_valid(number)


@settings(max_examples=50)
@given(st.integers())
def test_stdnum_refuses_every_test_number(seed: int) -> None:
    """stdnum refuses a leading 0 outright, as production mode does."""
    number = idnr.generate(1, seed)[0]
    assert not stdnum_idnr.is_valid(number)
    assert not idnr.is_valid(number)


def test_stdnum_accepts_what_it_does_not_check() -> None:
    """The two differences: stdnum misses three in a row and strips separators; noots refuses."""
    in_a_row = complete("1112345678")
    assert stdnum_idnr.is_valid(in_a_row)
    assert not idnr.is_valid(in_a_row)
    assert stdnum_idnr.is_valid("86 095 742 719")
    assert not idnr.is_valid("86 095 742 719")
