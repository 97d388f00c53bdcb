"""Reports in German by default, English on request (noots.conformance.i18n): every text in
both languages, machine values untouched."""

from __future__ import annotations

import ast
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from lxml import etree

from noots.conformance import (
    CONDITIONS,
    RETIRED,
    Report,
    Status,
    render_html,
    render_junit,
    report_json_schema,
)
from noots.conformance.i18n import (
    DEFAULT_LANGUAGE,
    FRAME,
    LANGUAGES,
    current_language,
    frame,
    parse_language,
    report_language,
)
from noots.paths import PROJECT_ROOT
from tests.noots.conformance.test_report import sample_report

# Where the texts of reports are written: the suites and what they share.
SUITE_SOURCES = sorted(
    [
        *(PROJECT_ROOT / "noots" / "conformance").rglob("*.py"),
        *(PROJECT_ROOT / "noots" / "registers" / "consumer_conformance").glob("*.py"),
    ]
)
# Where else report texts are made: the notes the commands put into their reports.
TRANSLATED_SOURCES = [
    *SUITE_SOURCES,
    *sorted((PROJECT_ROOT / "noots" / "cli").glob("_conformance*.py")),
]


def test_every_frame_text_is_in_both_languages() -> None:
    """Each label of the report frame has a German and an English text."""
    for key, text in FRAME.items():
        assert text.de.strip(), key
        assert text.en.strip(), key
    for status in Status:
        assert frame(f"status.{status.value}", "de")


def test_every_condition_is_in_both_languages() -> None:
    """Title, rule, fix and probes of every condition (and the retired titles) exist in German
    and English, and the German is not the English copied."""
    for item in CONDITIONS.values():
        de, en = item.de, item.en
        for field in ("title", "rule", "hint"):
            assert getattr(de, field).strip(), (item.id, field)
            assert getattr(en, field).strip(), (item.id, field)
        assert bool(de.probes) == bool(en.probes), item.id
        assert de.rule != en.rule, item.id
        assert de.hint != en.hint, item.id
    for old, (title, _now) in RETIRED.items():
        assert title.de, old
        assert title.en, old
        assert title.de != title.en, old


def test_a_condition_speaks_the_language_of_the_run() -> None:
    """condition.title is German by default and English inside report_language('en')."""
    item = CONDITIONS["DP-07"]
    assert current_language() == DEFAULT_LANGUAGE == "de"
    assert item.title == "Auskunftssperre"
    with report_language("en"):
        assert item.title == "Information block"
    assert item.title == "Auskunftssperre"


def test_every_attack_and_wrong_answer_is_described_in_both_languages() -> None:
    """The attack kit's descriptions and the ways the SAK suite answers wrongly, which name
    checks, exist in German and English."""
    from noots.conformance.attacks import ATTACKS
    from noots.conformance.sak._double import Answering

    for attack in ATTACKS.values():
        assert attack.text.de.strip(), attack.name
        assert attack.text.de != attack.text.en, attack.name
        with report_language("en"):
            assert attack.description == attack.text.en
        assert attack.description == attack.text.de
    for answering in Answering:
        german = answering.description
        with report_language("en"):
            assert answering.description == answering.value
        assert german != answering.value, answering


def _translation_calls(tree: ast.AST) -> Iterator[ast.Call]:
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("_", "Text")
        ):
            yield node


def _placeholders(node: ast.expr) -> Counter[str]:
    if isinstance(node, ast.JoinedStr):
        return Counter(
            ast.unparse(part.value) for part in node.values if isinstance(part, ast.FormattedValue)
        )
    return Counter()


def _literal_text(node: ast.expr) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(
            part.value if isinstance(part, ast.Constant) else "{}" for part in node.values
        )
    return None


@pytest.mark.parametrize("path", TRANSLATED_SOURCES, ids=lambda p: str(p.relative_to(PROJECT_ROOT)))
def test_every_translated_text_has_both_languages(path: Path) -> None:
    """Each _(de, en) of the suites has two literal texts, neither empty, with the same
    placeholders: a text cannot lose its translation or a value on the way (a Text of two
    literals likewise)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for call in _translation_calls(tree):
        where = f"{path.name}:{call.lineno}"
        assert len(call.args) == 2, where
        assert not call.keywords, where
        de, en = (_literal_text(arg) for arg in call.args)
        if isinstance(call.func, ast.Name) and call.func.id == "Text" and None in (de, en):
            continue  # built from another source (an attack's docstring): tested there
        assert de is not None, f"{where}: both texts must be literals"
        assert en is not None, f"{where}: both texts must be literals"
        assert de.strip(), where
        assert en.strip(), where
        assert _placeholders(call.args[0]) == _placeholders(call.args[1]), where


_ENGLISH = {"the", "a", "of", "with", "without", "not", "no", "is", "to", "and", "or"}


def _looks_english(text: str) -> bool:
    words = text.replace(",", " ").replace(":", " ").split()
    return len(words) >= 2 and any(word in _ENGLISH for word in words)


# Modules whose English prose is no report text: the variants broken on purpose (their
# descriptions name test cases, their answers are protocol), the PKI changes `--prepare` prints,
# the scenario-file checks (errors, which are not translated).
_NOT_REPORT_MODULES = {
    "noots/conformance/broken.py",
    "noots/conformance/credentials.py",
    "noots/conformance/scenarios/model.py",
    "noots/conformance/scenarios/_references.py",
}
# English literals that are no report text, per module, with why.
_NOT_REPORT_TEXT: dict[str, set[str]] = {
    # the generated documentation is English (docs/CONFORMANCE.md)
    "noots/conformance/catalogue.py": {
        "see the suite",
        "| {} | {} | retired: now the SAK's job, see {} | | |",
    },
    # problem details the suite's SAK answers a register under test (protocol, like errors)
    "noots/conformance/provider/_channel.py": {
        "tokens here are only for {} to call {}",
        "no open request with this delivery id",
        "not a delivery id",
        "{} is missing",
    },
    # the values of Answering, English like every enum; Answering.description translates
    "noots/conformance/sak/_double.py": {
        "bound to other request bytes",
        "sent on behalf of another register",
        "created an hour ago",
    },
    # the refusal the suite's SAK answers the online service under test (protocol)
    "noots/registers/consumer_conformance/_gateway.py": {
        "no authorisation for this transfer (conformance suite: the Vermittlungsstelle refuses "
        "this round)",
    },
}


def _untranslated(path: Path) -> list[str]:
    """String literals with English words outside _(), Text(), ConditionText() (the
    catalogue's, tested above), docstrings and raised errors."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip: set[int] = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("_", "Text", "ConditionText")
        ):
            skip.update(id(sub) for sub in ast.walk(node))
        if isinstance(node, ast.Raise):
            skip.update(id(sub) for sub in ast.walk(node))
        if isinstance(node, ast.keyword) and node.arg == "de":
            skip.update(id(sub) for sub in ast.walk(node))  # an attack's German description
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            skip.add(id(body[0].value))
        if isinstance(node, ast.JoinedStr):
            skip.update(id(part) for part in node.values)
    allowed = _NOT_REPORT_TEXT.get(str(path.relative_to(PROJECT_ROOT)), set())
    found = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        text = _literal_text(node) if isinstance(node, (ast.Constant, ast.JoinedStr)) else None
        if text is None or text in allowed:
            continue
        if _looks_english(text):
            found.append(f"{path.relative_to(PROJECT_ROOT)}:{node.lineno}: {text[:80]!r}")
    return found


@pytest.mark.parametrize("path", SUITE_SOURCES, ids=lambda p: str(p.relative_to(PROJECT_ROOT)))
def test_no_report_text_is_english_only(path: Path) -> None:
    """No English prose literal in the suites outside _() or Text(): a new English-only check
    text fails here (errors, which are not translated, are raised and so exempt)."""
    if str(path.relative_to(PROJECT_ROOT)) in _NOT_REPORT_MODULES:
        pytest.skip("no report texts in this module")
    assert _untranslated(path) == []


def test_reports_are_german_by_default() -> None:
    """Without a language asked for, the report, its HTML and JUnit frame and the condition
    texts are German; the JSON records "de"."""
    report = sample_report()
    assert report.language == "de"
    html = render_html(report).decode("utf-8")
    assert '<html lang="de">' in html
    for text in ("Anschlussbedingungen", "nicht bestanden", "übersprungen", "erwartet"):
        assert text in html
    assert CONDITIONS["DP-04"].de.title in html
    assert CONDITIONS["DP-04"].de.rule in html
    assert "Uhr" in html  # a German time (Europe/Berlin), not ISO UTC
    failure = etree.fromstring(render_junit(report)).find(".//failure")
    assert failure is not None
    assert failure.text is not None
    assert failure.text.startswith("erwartet:")
    assert json.loads(report.to_json())["language"] == "de"


def test_english_on_request() -> None:
    """Inside report_language('en') the report and its frame are English."""
    with report_language("en"):
        report = sample_report()
    assert report.language == "en"
    html = render_html(report).decode("utf-8")
    assert '<html lang="en">' in html
    for text in ("Conditions", "How to fix:", "expected", "failed"):
        assert text in html
    assert CONDITIONS["DP-04"].en.title in html
    assert "Anschlussbedingungen" not in html
    assert json.loads(report.to_json())["language"] == "en"


def test_a_report_keeps_its_language_when_rendered_elsewhere() -> None:
    """A German report rendered by an English process keeps its German frame."""
    report = sample_report()
    with report_language("en"):
        html = render_html(report).decode("utf-8")
    assert "Anschlussbedingungen" in html
    assert "How to fix:" not in html


def _shape(value: Any) -> Any:
    """The machine part of a report's JSON: keys, ids, statuses, numbers; no texts."""
    if isinstance(value, dict):
        human = {"title", "rule", "hint", "name", "expected", "actual", "language", "notes"}
        return {k: _shape(v) for k, v in value.items() if k not in human}
    if isinstance(value, list):
        return [_shape(v) for v in value]
    return value


def test_json_keeps_machine_values_in_either_language() -> None:
    """German and English JSON differ only in human texts: the same keys, condition ids and
    status values (pass/fail/skip), both valid against the schema."""
    german = sample_report().to_dict()
    with report_language("en"):
        english = sample_report().to_dict()
    assert _shape(german) == _shape(english)
    assert [s["status"] for s in german["sections"]] == ["pass", "fail", "skip"]
    assert german["sections"][1]["conditions"] == ["DP-04"]
    for data in (german, english):
        jsonschema.validate(data, report_json_schema())
    assert german["sections"][1]["title"] != english["sections"][1]["title"]


def test_the_language_survives_the_json_round_trip() -> None:
    """from_dict restores the language; a report written before reports had one is English."""
    data = sample_report().to_dict()
    assert Report.from_dict(data).language == "de"
    del data["language"]
    assert Report.from_dict(data).language == "en"
    data["language"] = "fr"
    with pytest.raises(jsonschema.ValidationError):
        Report.from_dict(data)


def test_only_german_and_english_are_known() -> None:
    """parse_language takes de and en in any case and refuses anything else by name."""
    assert LANGUAGES == ("de", "en")
    assert parse_language("EN") == "en"
    with pytest.raises(ValueError, match="de, en"):
        parse_language("fr")
