"""The identification number (IDNr, § 1 IDNrG; the same number as the Steuer-ID).

Rules checked by :func:`validate`, in this order (the first rule broken is the ``reason``):

1. exactly 11 characters, all ASCII digits (no separators: callers strip user formatting);
2. a leading ``0`` marks a *test number*: accepted only with ``allow_test_numbers=True``
   (test mode), refused otherwise (production mode);
3. in the first ten digits exactly one digit occurs twice or three times, every other digit
   at most once;
4. that digit never stands three times in a row among the first ten digits (the eleventh digit
   is computed, not chosen, so the rule does not reach it);
5. the eleventh digit is the ISO/IEC 7064 MOD 11,10 check digit of the first ten.

Test numbers are generated, never drawn at random: the 36,650,880 valid test numbers are
numbered (``unrank``) and a seeded Feistel permutation of that index space decides the order.
So :func:`iter_test_numbers` is deterministic per seed, needs no memory for uniqueness, and
yields every valid test number exactly once before it stops.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterator
from functools import cache
from typing import NamedTuple

from noots.errors import InvalidIdnr

__all__ = [
    "TEST_NUMBER_SPACE",
    "check_digit",
    "generate",
    "is_test_number",
    "is_valid",
    "iter_test_numbers",
    "validate",
]

_DIGITS = "0123456789"


def _mod_11_10_step(state: int, digit: int) -> int:
    return (((state or 10) * 2) % 11 + digit) % 10


# _STEP[state][digit]: one step of ISO/IEC 7064 MOD 11,10, tabulated for the hot loop.
_STEP = tuple(tuple(_mod_11_10_step(state, digit) for digit in range(10)) for state in range(10))


def _check_digit_of(digits: list[int] | tuple[int, ...]) -> int:
    state = 5
    for digit in digits:
        state = _STEP[state][digit]
    return (11 - (state or 10) * 2 % 11) % 10


def check_digit(first_ten: str) -> str:
    """The ISO/IEC 7064 MOD 11,10 check digit that completes ``first_ten`` to an IDNr."""
    if len(first_ten) != 10 or not (first_ten.isascii() and first_ten.isdigit()):
        raise ValueError("check_digit needs exactly ten ASCII digits")
    return str(_check_digit_of([int(c) for c in first_ten]))


def validate(number: str, *, allow_test_numbers: bool = False) -> str:
    """Return ``number`` if it is a valid IDNr; otherwise raise :class:`InvalidIdnr`.

    The exception's ``reason`` names the first rule that failed (see the module docstring)
    without quoting the number; its ``diagnosis`` says what exactly is wrong with it.
    """
    if not isinstance(number, str):
        raise InvalidIdnr(
            "must be a string of 11 digits",
            diagnosis=f"must be a string of 11 digits, got {type(number).__name__}",
        )
    if len(number) != 11:
        raise InvalidIdnr(
            "must have 11 digits", diagnosis=f"must have 11 digits, got {len(number)} characters"
        )
    if not (number.isascii() and number.isdigit()):
        raise InvalidIdnr("must consist of the digits 0-9 only")
    if number[0] == "0" and not allow_test_numbers:
        raise InvalidIdnr("a leading 0 marks a test number, which is refused in production mode")
    first_ten = number[:10]
    counts = {digit: first_ten.count(digit) for digit in _DIGITS}
    repeated = sorted(digit for digit, n in counts.items() if n > 1)
    if not repeated:
        raise InvalidIdnr("no digit occurs twice in the first ten digits (exactly one must)")
    if len(repeated) > 1:
        raise InvalidIdnr(
            "more than one digit repeats in the first ten digits; exactly one may",
            diagnosis=f"more than one digit repeats in the first ten digits "
            f"({', '.join(repeated)}); exactly one may",
        )
    digit = repeated[0]
    if counts[digit] > 3:
        raise InvalidIdnr(
            "a digit occurs more than 3 times in the first ten digits",
            diagnosis=f"digit {digit} occurs {counts[digit]} times in the first ten digits "
            "(at most 3)",
        )
    if digit * 3 in first_ten:
        raise InvalidIdnr(
            "a digit occurs three times in a row",
            diagnosis=f"digit {digit} occurs three times in a row",
        )
    expected = check_digit(first_ten)
    if number[10] != expected:
        raise InvalidIdnr(
            "the check digit does not match the first ten digits",
            diagnosis=f"check digit is {number[10]}, expected {expected}",
        )
    return number


def is_valid(number: str, *, allow_test_numbers: bool = False) -> bool:
    """Whether :func:`validate` accepts ``number``."""
    try:
        validate(number, allow_test_numbers=allow_test_numbers)
    except InvalidIdnr:
        return False
    return True


def is_test_number(number: str) -> bool:
    """Whether ``number`` is a valid IDNr that carries the leading 0 of a test number."""
    return number[:1] == "0" and is_valid(number, allow_test_numbers=True)


# --- enumeration of the test-number space -------------------------------------------------
#
# Position 0 holds the 0. Either the 0 repeats (one or two more 0s in positions 1..9, never at
# both 1 and 2) and the other places take distinct digits from 1..9; or the 0 stays single and
# a digit r of 1..9 stands twice or three times (not three in a row) and the other places take
# distinct digits from 1..9 without r. A *shape* fixes the repeated digit and its places; when
# the pool has nine digits the shape also fixes the digit of its first free place, so every
# shape fills its remaining free places with an ordered selection from a pool of eight: one row
# of the 40,320 partial permutations of 7 of 8, or of the 20,160 of 6 of 8. Shapes with 40,320
# rows are split in two halves, giving 1,818 *blocks* of 20,160 rows each:
#
#   0 twice:        9 places x 9 first digits  x 2 halves =   162 blocks
#   0 three times:  35 place pairs x 9 first digits       =   315 blocks
#   r twice:        9 digits x 36 place pairs x 2 halves  =   648 blocks
#   r three times:  9 digits x 77 place triples           =   693 blocks
#
# 1,818 x 20,160 = 36,650,880 test numbers. An index (block, row) is shuffled by an alternating
# Feistel network on Z_1818 x Z_20160 (Black and Rogaway's FE2 construction: a keyed bijection
# on a product domain, no cycle walking), keyed from the seed.

_ROWS = 20_160
_BLOCKS = 1_818
TEST_NUMBER_SPACE = _BLOCKS * _ROWS
"""How many valid test numbers (leading 0) exist; :func:`iter_test_numbers` yields each once."""


class _Block(NamedTuple):
    template: tuple[str, ...]  # the first ten digits, free places still "0"
    free: tuple[int, ...]  # the free places, in order
    pool: str  # the eight digits the free places are filled from
    table: tuple[tuple[int, ...], ...]  # partial permutations of range(8)
    offset: int  # first row of this block in ``table``


@cache
def _blocks() -> tuple[_Block, ...]:
    tables = {k: tuple(itertools.permutations(range(8), k)) for k in (6, 7)}
    blocks: list[_Block] = []
    for digit in range(10):
        for extra in (1, 2) if digit == 0 else (2, 3):
            for spots in itertools.combinations(range(1, 10), extra):
                places = (0, *spots) if digit == 0 else spots
                if len(places) == 3 and places[2] - places[0] == 2:
                    continue  # three in a row
                template = [str(digit) if p in spots else "0" for p in range(10)]
                free = [p for p in range(1, 10) if p not in spots]
                pool = [str(d) for d in range(1, 10) if d != digit]
                choices: list[tuple[list[str], list[str]]] = []
                if len(pool) == 9:
                    for first in pool:
                        fixed = template.copy()
                        fixed[free[0]] = first
                        choices.append((fixed, [d for d in pool if d != first]))
                    free = free[1:]
                else:
                    choices.append((template, pool))
                table = tables[len(free)]
                for fixed, rest in choices:
                    for offset in range(0, len(table), _ROWS):
                        blocks.append(
                            _Block(tuple(fixed), tuple(free), "".join(rest), table, offset)
                        )
    assert len(blocks) == _BLOCKS
    return tuple(blocks)


def _unrank(block: int, row: int) -> str:
    """The test number at (``block``, ``row``) of the enumeration."""
    template, free, pool, table, offset = _blocks()[block]
    digits = list(template)
    for place, index in zip(free, table[offset + row], strict=True):
        digits[place] = pool[index]
    first_ten = "".join(digits)
    return first_ten + check_digit(first_ten)


def _round_keys(seed: int) -> tuple[int, int, int, int]:
    digest = hashlib.sha256(f"noots.idnr:{seed}".encode()).digest()
    return (
        int.from_bytes(digest[0:4], "big"),
        int.from_bytes(digest[4:8], "big"),
        int.from_bytes(digest[8:12], "big"),
        int.from_bytes(digest[12:16], "big"),
    )


def _permute(left: int, right: int, keys: tuple[int, ...], a: int, b: int) -> tuple[int, int]:
    """A keyed bijection of Z_a x Z_b; :func:`iter_test_numbers` inlines it for speed."""
    for round_number, key in enumerate(keys):
        if round_number % 2 == 0:
            mixed = ((right ^ key) * 0x9E3779B1) & 0xFFFFFFFF
            left = (left + (mixed >> 7)) % a
        else:
            mixed = ((left ^ key) * 0x85EBCA6B) & 0xFFFFFFFF
            right = (right + (mixed >> 7)) % b
    return left, right


def iter_test_numbers(seed: int) -> Iterator[str]:
    """Every valid test number exactly once, in an order fixed by ``seed``.

    Practically endless (36,650,880 numbers), it stops after the last one. This is
    ``_unrank(*_permute(*divmod(i, 20160), keys, 1818, 20160))`` for i = 0, 1, ..., written
    out in one loop because a million numbers must take seconds, not minutes.
    """
    k0, k1, k2, k3 = _round_keys(seed)
    blocks = _blocks()
    step = tuple({str(digit): _STEP[state][digit] for digit in range(10)} for state in range(10))
    final = tuple(str((11 - (state or 10) * 2 % 11) % 10) for state in range(10))
    rows, block_count = _ROWS, _BLOCKS
    for index in range(TEST_NUMBER_SPACE):
        left, right = divmod(index, rows)
        mixed = ((right ^ k0) * 0x9E3779B1) & 0xFFFFFFFF
        left = (left + (mixed >> 7)) % block_count
        mixed = ((left ^ k1) * 0x85EBCA6B) & 0xFFFFFFFF
        right = (right + (mixed >> 7)) % rows
        mixed = ((right ^ k2) * 0x9E3779B1) & 0xFFFFFFFF
        left = (left + (mixed >> 7)) % block_count
        mixed = ((left ^ k3) * 0x85EBCA6B) & 0xFFFFFFFF
        right = (right + (mixed >> 7)) % rows
        template, free, pool, table, offset = blocks[left]
        digits = list(template)
        for place, pick in zip(free, table[offset + right], strict=False):
            digits[place] = pool[pick]
        state = 5
        for digit in digits:
            state = step[state][digit]
        digits.append(final[state])
        yield "".join(digits)


def generate(count: int, seed: int) -> list[str]:
    """``count`` distinct valid test numbers, the first ``count`` of :func:`iter_test_numbers`."""
    if not 0 <= count <= TEST_NUMBER_SPACE:
        raise ValueError(f"count must be between 0 and {TEST_NUMBER_SPACE}")
    return list(itertools.islice(iter_test_numbers(seed), count))
