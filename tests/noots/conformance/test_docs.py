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
