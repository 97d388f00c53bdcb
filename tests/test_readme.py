"""README.md: the first commands are the ones that work, and its generated tables are current."""

from __future__ import annotations

import re

from noots.paths import PROJECT_ROOT
from noots.readme import identities_table, landscape_table, refresh
from noots.synthetic.identities import BEHAVIOUR_IDENTITIES
from noots.topology import load_topology

README = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
MAKEFILE = (PROJECT_ROOT / "Makefile").read_text(encoding="utf-8")


def test_generated_blocks_are_current() -> None:
    """The landscape and identity tables are what `python -m noots.readme` generates."""
    assert refresh(README) == README, "README.md is stale: run `python -m noots.readme`"


def test_identity_table_lists_every_behaviour_identity() -> None:
    """Each behaviour-driving test identity is a row of the README's table."""
    table = identities_table()
    assert table in README
    for identity in BEHAVIOUR_IDENTITIES:
        assert f"`{identity.idnr}`" in table
        assert f"`{identity.behaviour.value}`" in table


def test_landscape_table_names_every_component() -> None:
    """Every component of the default topology appears with its default URL."""
    topology = load_topology()
    table = landscape_table(topology)
    assert table in README
    for register in topology.registers:
        url = topology.base_url(register.participant_id)
        assert f"`{register.participant_id}` | {register.name} | {url}" in table


def test_first_commands_are_make_demo_and_make_test() -> None:
    """The README opens with `make demo`, then `make test`, and both targets exist."""
    blocks = re.findall(r"```sh\n(.*?)```", README, flags=re.DOTALL)
    assert blocks[0].split()[:2] == ["make", "demo"]
    assert blocks[1].split()[:2] == ["make", "test"]
    assert re.search(r"^demo: \.setup-stamp\n\t\$\(PYTHON\) -m noots demo", MAKEFILE, re.M)
    assert re.search(r"^test: \.setup-stamp\n\t\$\(PYTHON\) -m pytest", MAKEFILE, re.M)


def test_commands_in_the_readme_exist() -> None:
    """Every `noots <command>` the README mentions is a command of the CLI."""
    from typer.main import get_command

    from noots.cli import app

    known = set(get_command(app).commands)  # type: ignore[attr-defined]
    # Inline code, and the lines of the shell blocks.
    mentioned = set(re.findall(r"`noots ([a-z]+)\b", README))
    for block in re.findall(r"```sh\n(.*?)```", README, flags=re.DOTALL):
        mentioned |= set(re.findall(r"^noots ([a-z]+)\b", block, flags=re.MULTILINE))
    assert {"up", "demo", "compose", "conformance"} <= mentioned
    assert mentioned <= known, sorted(mentioned - known)
