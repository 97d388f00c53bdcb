"""Fuzzing noots.idnr.validate: any input is accepted unchanged or refused with InvalidIdnr."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from noots.errors import InvalidIdnr
from noots.idnr import is_valid, validate
from noots.testing.corpus import idnr_seeds
from noots.testing.mutations import hypothesis_chooser, mutate_bytes

fuzz = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def check(value: object, allow_test_numbers: bool) -> None:
    try:
        result = validate(value, allow_test_numbers=allow_test_numbers)  # type: ignore[arg-type]
    except InvalidIdnr as error:
        refusal = error
    else:
        assert result == value
        assert isinstance(result, str)
        assert len(result) == 11
        assert result.isascii()
        assert result.isdigit()
        return
    assert refusal.reason
    assert not is_valid(value, allow_test_numbers=allow_test_numbers)  # type: ignore[arg-type]


@fuzz
@given(st.text(max_size=30), st.booleans())
def test_arbitrary_text_is_valid_or_refused_with_a_reason(text: str, allow: bool) -> None:
    """Any text: returned unchanged as 11 ASCII digits, or InvalidIdnr with a reason."""
    check(text, allow)


@settings(fuzz, max_examples=150)
@given(st.from_regex(r"[0-9٠-٩０-９]{9,13}", fullmatch=True), st.booleans())
def test_digit_strings_of_any_script_are_valid_or_refused(text: str, allow: bool) -> None:
    """Digits of other scripts (Arabic-Indic, full width) never pass as an IDNr."""
    check(text, allow)


@fuzz
@given(st.sampled_from(idnr_seeds()), st.data(), st.booleans())
def test_mutated_numbers_are_valid_or_refused(seed: str, data: st.DataObject, allow: bool) -> None:
    """Byte mutations of valid and near-valid numbers never crash the validator."""
    mutated = mutate_bytes(seed.encode(), hypothesis_chooser(data), rounds=2)
    check(mutated.decode("utf-8", errors="replace"), allow)


@fuzz
@given(st.one_of(st.none(), st.integers(), st.binary(max_size=12), st.floats()))
def test_values_that_are_not_text_are_refused(value: object) -> None:
    """A number, bytes or None is refused with InvalidIdnr, not a TypeError."""
    check(value, True)
