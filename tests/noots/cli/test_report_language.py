"""``--lang de|en`` (or NOOTS_REPORT_LANG) on every command that writes a report: one option
definition, German by default, English on request, the console summary in the report's
language."""

from __future__ import annotations

from typing import Any

import pytest
import typer
from rich.console import Console
from typer.testing import CliRunner

from noots.cli import app
from noots.cli._conformance import publish_report
from noots.cli._options import ReportLanguage, ReportLanguageOption, writes_report
from noots.clock import SystemClock
from noots.conformance.i18n import LANGUAGE_ENV, LANGUAGES, current_language, report_language
from tests.noots.conformance.test_report import sample_report

REPORT_COMMANDS = [
    ("conformance", "provider"),
    ("conformance", "sak"),
    ("conformance", "consumer"),
    ("conformance", "attack"),
    ("conformance", "eu"),
    ("scenario", "run"),
]


def _command(*path: str) -> Any:
    command: Any = typer.main.get_command(app)
    for name in path:
        command = command.commands[name]
    return command


@pytest.mark.parametrize("path", REPORT_COMMANDS, ids=" ".join)
def test_every_report_command_takes_lang(path: tuple[str, ...]) -> None:
    """Each command that writes a report has --lang with de and en, read from
    NOOTS_REPORT_LANG when not given."""
    options = {p.name: p for p in _command(*path).params}
    lang = options["lang"]
    assert lang.opts == ["--lang"]
    assert lang.envvar == LANGUAGE_ENV
    assert [str(choice) for choice in lang.type_descriptor.choices] == list(LANGUAGES)


def test_the_option_knows_the_report_languages() -> None:
    """The CLI's choices are the report languages (kept apart to keep the CLI's start fast)."""
    assert tuple(language.value for language in ReportLanguage) == LANGUAGES


_probe = typer.Typer()


@_probe.command("which")
@writes_report
def _which(lang: ReportLanguageOption = None) -> None:
    typer.echo(current_language())


@_probe.command("other")
def _other() -> None:  # a second command makes Typer keep the command name
    pass


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        ([], {}, "de"),
        (["--lang", "en"], {}, "en"),
        (["--lang", "EN"], {}, "en"),
        ([], {LANGUAGE_ENV: "en"}, "en"),
        (["--lang", "de"], {LANGUAGE_ENV: "en"}, "de"),
    ],
)
def test_lang_sets_the_report_language_of_the_command(
    args: list[str], env: dict[str, str], expected: str
) -> None:
    """German unless --lang or NOOTS_REPORT_LANG asks otherwise (--lang wins); the language
    is back to German when the command has ended."""
    result = CliRunner().invoke(_probe, ["which", *args], env=env)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == expected
    assert current_language() == "de"


def test_an_unknown_language_is_a_usage_error() -> None:
    """--lang fr is refused naming the choices."""
    result = CliRunner().invoke(app, ["scenario", "run", "x.yaml", "--lang", "fr"])
    assert result.exit_code in (2, 64), result.output
    assert "fr" in result.output


def _summary(report: Any) -> str:
    console = Console(record=True, width=200)
    publish_report(
        console,
        report,
        report_dir=None,
        pki_dir=None,
        simulator_id="noots-simulator",
        clock=SystemClock(),
    )
    return console.export_text()


def test_the_console_summary_is_german_by_default() -> None:
    """Table header, statuses, verdict and the fix of a failing check in German."""
    text = _summary(sample_report())
    for word in ("Bedingung", "nicht bestanden", "übersprungen", "NICHT BESTANDEN", "beheben:"):
        assert word in text
    assert "FAILED" not in text


def test_the_console_summary_follows_an_english_report() -> None:
    """An English report gets an English summary."""
    with report_language("en"):
        report = sample_report()
    text = _summary(report)
    for word in ("condition", "failed", "FAILED", "fix:", "score"):
        assert word in text
    assert "nicht bestanden" not in text
