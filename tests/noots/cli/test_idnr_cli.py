"""Tests of ``noots idnr check`` and ``noots idnr generate``."""

from __future__ import annotations

from typer.testing import CliRunner

from noots import idnr
from noots.cli import app
from noots.cli._exit import USAGE

runner = CliRunner()


def test_check_valid_number_exits_0() -> None:
    """A valid production number prints `valid` and exits 0."""
    result = runner.invoke(app, ["idnr", "check", "86095742719"])
    assert result.exit_code == 0
    assert result.stdout == "valid\n"


def test_check_invalid_number_exits_1_with_the_reason() -> None:
    """A wrong check digit prints the reason and exits 1."""
    result = runner.invoke(app, ["idnr", "check", "86095742718"])
    assert result.exit_code == 1
    assert result.stdout == "check digit is 8, expected 9\n"


def test_check_test_number_needs_the_flag() -> None:
    """A test number is refused by default and accepted with --test-numbers."""
    refused = runner.invoke(app, ["idnr", "check", "02476291358"])
    assert refused.exit_code == 1
    assert "test number" in refused.stdout
    accepted = runner.invoke(app, ["idnr", "check", "02476291358", "--test-numbers"])
    assert accepted.exit_code == 0
    assert accepted.stdout == "valid\n"


def test_generate_prints_the_seeded_numbers() -> None:
    """`generate --count N --seed S` prints generate(N, S), one per line."""
    result = runner.invoke(app, ["idnr", "generate", "--count", "25", "--seed", "3"])
    assert result.exit_code == 0
    assert result.stdout.splitlines() == idnr.generate(25, 3)


def test_generate_zero_and_too_many() -> None:
    """A count of 0 prints nothing; more than the space holds and a negative count are usage
    errors (64)."""
    assert runner.invoke(app, ["idnr", "generate", "--count", "0"]).stdout == ""
    too_many = runner.invoke(app, ["idnr", "generate", "--count", str(idnr.TEST_NUMBER_SPACE + 1)])
    assert too_many.exit_code == USAGE
    assert runner.invoke(app, ["idnr", "generate", "--count", "-1"]).exit_code == USAGE
