"""The Python examples for online-service developers (README.md, docs/consumers.md) use the
library as it is: public names only, person texts parse_person reads, a region for regional
evidence types (the library, unlike `noots fetch`, fills none in)."""

from __future__ import annotations

import ast
import importlib
import re

import pytest

from noots.consumers import parse_person
from noots.paths import PROJECT_ROOT
from noots.topology import DEFAULT_TOPOLOGY_PATH, load_topology

DOCS = ("README.md", "docs/consumers.md")


def _blocks() -> list[tuple[str, ast.Module]]:
    found = []
    for name in DOCS:
        text = (PROJECT_ROOT / name).read_text(encoding="utf-8")
        for i, block in enumerate(re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)):
            found.append((f"{name}#{i + 1}", ast.parse(block)))
    return found


BLOCKS = _blocks()


def _calls(tree: ast.Module, name: str) -> list[ast.Call]:
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and (
            (isinstance(node.func, ast.Name) and node.func.id == name)
            or (isinstance(node.func, ast.Attribute) and node.func.attr == name)
        )
    ]


def test_there_are_examples_to_check() -> None:
    """Both documents have Python examples (a renamed heading or fence would hide them)."""
    assert {where.split("#")[0] for where, _ in BLOCKS} == set(DOCS)


@pytest.mark.parametrize(("where", "tree"), BLOCKS, ids=[w for w, _ in BLOCKS])
def test_examples_import_only_public_names(where: str, tree: ast.Module) -> None:
    """Every `from noots… import X` names X in that module's __all__."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("noots"):
            module = importlib.import_module(node.module or "")
            public = set(getattr(module, "__all__", ()))
            for alias in node.names:
                assert alias.name in public, f"{where}: {node.module}.{alias.name} is not public"


@pytest.mark.parametrize(("where", "tree"), BLOCKS, ids=[w for w, _ in BLOCKS])
def test_examples_give_parse_person_basic_data(where: str, tree: ast.Module) -> None:
    """Each literal handed to parse_person parses: basic data with a date of birth, never a
    test person's name alone or a behaviour (those work only in `noots fetch --person`)."""
    for call in _calls(tree, "parse_person"):
        (argument,) = call.args
        assert isinstance(argument, ast.Constant), where
        parse_person(argument.value)


@pytest.mark.parametrize(("where", "tree"), BLOCKS, ids=[w for w, _ in BLOCKS])
def test_examples_fetch_regional_evidence_with_a_region(where: str, tree: ast.Module) -> None:
    """A fetch_evidence of a regional evidence type passes region=."""
    topology = load_topology(DEFAULT_TOPOLOGY_PATH)
    for call in _calls(tree, "fetch_evidence"):
        first = call.args[0] if call.args else None
        if not isinstance(first, ast.Constant):
            continue
        if topology.evidence_type(first.value).regional:
            keywords = {k.arg for k in call.keywords}
            assert "region" in keywords or None in keywords, f"{where}: {first.value} needs region="
