"""The language of reports: German by default, English on request.

Everything a person reads in a conformance or scenario report comes in German and English, kept
in one place per kind of text:

- the report frame (headings, labels, status words of HTML, JUnit and the console summary):
  :data:`FRAME`, keyed by stable ids, read with :func:`frame`;
- the connection conditions (title, rule, fix, probes): both languages per condition in
  :mod:`noots.conformance.catalogue`;
- what the suites write into their checks (names, expected, actual, hints): a pair
  ``_("Deutsch", "English")`` at the call site, or a :class:`Text` where a text is defined
  before a run (the attack descriptions).

A run writes its texts in the language of :func:`report_language` (German unless the caller
asks for English); the report records it (:attr:`~noots.conformance.report.Report.language`)
and its frame follows it when rendered. Machine values are never translated: condition ids,
status values, JSON keys and the schema's enums, EDM codes, exception names, XNachweis
element names.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal, get_args

__all__ = [
    "DEFAULT_LANGUAGE",
    "FRAME",
    "LANGUAGES",
    "LANGUAGE_ENV",
    "Language",
    "Text",
    "_",
    "current_language",
    "format_number",
    "frame",
    "parse_language",
    "report_language",
]

Language = Literal["de", "en"]
LANGUAGES: tuple[Language, ...] = get_args(Language)
DEFAULT_LANGUAGE: Language = "de"
#: The environment variable the report commands read when ``--lang`` is not given.
LANGUAGE_ENV = "NOOTS_REPORT_LANG"

# A context variable, not a parameter threaded through every suite: tasks a suite starts
# inherit it, and two runs in one process (tests) cannot see each other's language.
_current: ContextVar[Language] = ContextVar("noots_report_language", default=DEFAULT_LANGUAGE)


def current_language() -> Language:
    """The language reports are written in here (German unless :func:`report_language`)."""
    return _current.get()


@contextmanager
def report_language(language: Language) -> Iterator[Language]:
    """Write the reports of the runs inside in ``language``."""
    token = _current.set(parse_language(language))
    try:
        yield _current.get()
    finally:
        _current.reset(token)


def parse_language(text: str) -> Language:
    """``de`` or ``en`` (any case); anything else is a ``ValueError`` naming both."""
    value = text.strip().lower()
    for language in LANGUAGES:
        if value == language:
            return language
    raise ValueError(f"unknown report language {text!r}; known: {', '.join(LANGUAGES)}")


def _(de: str, en: str) -> str:
    """The text in the current report language: ``de`` in German, ``en`` in English.

    Both are required, so a text without its translation does not type-check; a test walks
    every call in the suites and compares the two's placeholders.
    """
    return de if _current.get() == "de" else en


@dataclass(frozen=True)
class Text:
    """A text in both languages, defined before the language of a run is known."""

    de: str
    en: str

    def in_language(self, language: Language) -> str:
        return self.de if language == "de" else self.en

    def __str__(self) -> str:
        return self.in_language(_current.get())


def format_number(value: float, language: Language, digits: int | None = None) -> str:
    """``value`` as a person of ``language`` writes it (German with a decimal comma): with
    ``digits`` decimals, or as short as it goes (``12.5``, ``100``) without."""
    text = f"{value:g}" if digits is None else f"{value:.{digits}f}"
    return text.replace(".", ",") if language == "de" else text


#: The words around a report's content, by stable id (HTML, JUnit XML, console summary).
FRAME: Mapping[str, Text] = MappingProxyType(
    {
        # statuses, by Status.value
        "status.pass": Text("bestanden", "passed"),
        "status.fail": Text("nicht bestanden", "failed"),
        "status.skip": Text("übersprungen", "skipped"),
        "verdict.pass": Text("BESTANDEN", "PASSED"),
        "verdict.fail": Text("NICHT BESTANDEN", "FAILED"),
        "verdict": Text("Ergebnis", "verdict"),
        # the header and the summary cards
        "target": Text("Ziel", "Target"),
        "participant": Text("Teilnehmer", "participant"),
        "score": Text("Erfüllungsgrad (bestanden von ausgeführt)", "score (passed of run)"),
        "coverage": Text("Abdeckung der Anschlussbedingungen", "coverage of conditions"),
        "counts": Text("bestanden / nicht bestanden / übersprungen", "passed / failed / skipped"),
        "checks": Text("Prüfungen", "checks"),
        # the overview
        "conditions": Text("Anschlussbedingungen", "Conditions"),
        "column.id": Text("Kennung", "Id"),
        "column.title": Text("Titel", "Title"),
        "column.status": Text("Status", "Status"),
        "column.checks": Text("Prüfungen", "Checks"),
        "column.time": Text("Dauer", "Time"),
        "column.condition": Text("Bedingung", "condition"),
        "count.pass": Text("bestanden", "passed"),
        "count.fail": Text("nicht bestanden", "failed"),
        "count.skip": Text("übersprungen", "skipped"),
        "exercised": Text("Geprüfte Anschlussbedingungen:", "Conditions exercised:"),
        "not_exercised": Text("nicht geprüft", "not exercised"),
        "notes": Text("Hinweise", "Notes"),
        "details": Text("Einzelheiten", "Details"),
        # a section and its checks
        "source": Text("Quelle", "Source"),
        "how_to_fix": Text("So beheben Sie es:", "How to fix:"),
        "expected": Text("erwartet", "expected"),
        "actual": Text("erhalten", "actual"),
        "hint": Text("Hinweis", "hint"),
        "time": Text("Dauer", "time"),
        "request": Text("Anfrage", "Request"),
        "response": Text("Antwort", "Response"),
        "generated_by": Text("Erstellt von", "Generated by"),
        "report_format": Text("Berichtsformat", "report format"),
        "verify_with": Text("prüfen mit", "verify with"),
        # the console summary
        "summary.score": Text("Erfüllungsgrad", "score"),
        "summary.coverage": Text("Abdeckung", "coverage"),
        "summary.fix": Text("beheben", "fix"),
        "summary.not_tested": Text("nicht geprüft", "not tested"),
        "summary.to_test": Text("prüfbar mit", "to test it"),
        "summary.report": Text("Bericht", "report"),
        "summary.not_signed": Text("nicht signiert:", "not signed:"),
        "summary.no_credential": Text("kein Schlüsselmaterial von", "no credential of"),
        "summary.signed_by": Text("signiert von", "signed by"),
        "summary.check_with": Text("prüfen mit", "check with"),
        # the table of `noots conformance attack`
        "attack.title": Text("Angriffe je Komponente", "Attacks per component"),
        "attack.component": Text("Komponente", "component"),
        "attack.sent": Text("gesendete Angriffe", "attacks sent"),
        "attack.refused": Text("sauber abgelehnt", "refused cleanly"),
        "attack.problems": Text("Probleme", "problems"),
        "attack.not_running": Text("läuft nicht", "not running"),
        # JUnit failure texts
        "junit.failed": Text("nicht bestanden", "failed"),
        "junit.skipped": Text("übersprungen", "skipped"),
    }
)


def frame(key: str, language: Language) -> str:
    """The frame text ``key`` in ``language`` (``KeyError`` for an unknown key)."""
    return FRAME[key].in_language(language)
