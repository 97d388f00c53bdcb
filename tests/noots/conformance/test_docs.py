"""docs/CONFORMANCE.md: its condition tables are the catalogue's, and it names only what an
operator can reach (no internal modules, no pages outside the repository)."""

from __future__ import annotations

import re

from noots.conformance.catalogue import PROVIDER_CONDITIONS, SAK_CONDITIONS, refresh_doc
from noots.paths import PROJECT_ROOT

DOC = (PROJECT_ROOT / "docs" / "CONFORMANCE.md").read_text(encoding="utf-8")


def test_condition_tables_are_current() -> None:
    """The generated tables equal `python -m noots.conformance` of the catalogue."""
    assert refresh_doc(DOC) == DOC, "docs/CONFORMANCE.md is stale: run python -m noots.conformance"


def test_every_condition_has_a_row_with_rule_probes_and_fix() -> None:
    """Each register and SAK condition is a table row with its rule, probes and hint, in
    English like the rest of the documentation."""
    for item in (*PROVIDER_CONDITIONS, *SAK_CONDITIONS):
        row = next(line for line in DOC.splitlines() if line.startswith(f"| {item.id} |"))
        assert item.en.rule in row
        assert item.en.probes in row
        assert item.en.hint.replace("|", "\\|") in row


def test_the_operator_sections_name_no_internal_module_or_outside_page() -> None:
    """Provider and SAK sections point to options, endpoints and pages of the repository only
    (issue 15: no internal module names, no design page outside it)."""
    start = DOC.index("## Provider suite")
    end = DOC.index("## Consumer suite")
    operator = DOC[start:end] + DOC[DOC.index("## SAK suite") : DOC.index("## Proving")]
    assert "../shared" not in operator.replace("when ../shared is present", "")
    assert not re.search(r"\b(registers|intermediary|consumers)\.[a-z_]+", operator)
    assert "ARCHITECTURE" not in operator


def _provider_options() -> set[str]:
    from typer.main import get_command

    from noots.cli import app

    command = get_command(app).commands["conformance"].commands["provider"]  # type: ignore[attr-defined]
    return {name for param in command.params for name in (*param.opts, *param.secondary_opts)}


def _provider_command_lines(text: str) -> list[str]:
    """Each `noots conformance provider` command of the shell blocks, continuation lines
    joined."""
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", text, flags=re.DOTALL):
        for command in block.replace("\\\n", " ").splitlines():
            if command.startswith("noots conformance provider"):
                commands.append(command)
    return commands


def test_every_provider_option_the_docs_name_exists() -> None:
    """The options of the provider options table and of every `noots conformance provider`
    command in README.md and docs/SAK.md are options of the command (`--help`)."""
    known = _provider_options()
    table = DOC[DOC.index("### Options") : DOC.index("**Limits and codes.**")]
    named = set(re.findall(r"`(--[a-z][a-z-]*)", table))
    named |= set(re.findall(r"\|(--[a-z][a-z-]*)", table))
    texts = [
        (PROJECT_ROOT / name).read_text(encoding="utf-8") for name in ("README.md", "docs/SAK.md")
    ]
    commands = [line for text in texts for line in _provider_command_lines(text)]
    assert len(commands) >= 3
    for command in commands:
        named |= set(re.findall(r"\s(--[a-z][a-z-]*)", command))
    assert {"--listen", "--blocked", "--asynchronous", "--prepare"} <= named
    assert named <= known, sorted(named - known)


def test_the_person_options_read_as_the_docs_say() -> None:
    """--blocked and --asynchronous take the IDNr as optional, as the options table says, and
    their --help says so too."""
    from noots.conformance.provider import parse_test_person

    assert '"Family, Given, YYYY-MM-DD[, IDNr]"' in DOC
    assert parse_test_person("Verborgen, Sabine, 1975-11-02").idnr is None
    assert parse_test_person("Verborgen, Sabine, 1975-11-02, 01234567845").idnr == "01234567845"
    from typer.main import get_command

    from noots.cli import app

    command = get_command(app).commands["conformance"].commands["provider"]  # type: ignore[attr-defined]
    helps = {p.opts[0]: p.help or "" for p in command.params}
    assert "[, IDNr]" in helps["--blocked"]
    assert "[, IDNr]" in helps["--asynchronous"]
