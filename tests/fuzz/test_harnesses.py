"""The atheris harnesses under fuzz/ import and run without atheris (seeds and random inputs)."""

from __future__ import annotations

import importlib
import random
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from noots.testing.corpus import write_corpus

FUZZ_DIR = Path(__file__).resolve().parents[2] / "fuzz"
HARNESSES = {
    "fuzz_xml": "xml",
    "fuzz_messages": "messages",
    "fuzz_envelope": "envelope",
    "fuzz_tokens": "tokens",
    "fuzz_idnr": "idnr",
}


@pytest.fixture(scope="module")
def harnesses() -> Iterator[dict[str, ModuleType]]:
    sys.path.insert(0, str(FUZZ_DIR))
    try:
        yield {name: importlib.import_module(name) for name in HARNESSES}
    finally:
        sys.path.remove(str(FUZZ_DIR))


@pytest.mark.parametrize("name", list(HARNESSES))
def test_each_harness_runs_its_seeds_and_random_inputs(
    name: str, harnesses: dict[str, ModuleType], tmp_path: Path
) -> None:
    """TestOneInput accepts every seed and 300 random inputs without an untyped exception."""
    harness = harnesses[name]
    count = write_corpus(tmp_path, HARNESSES[name])
    assert count > 0
    for seed in sorted(tmp_path.iterdir()):
        harness.TestOneInput(seed.read_bytes())
    rng = random.Random(name)
    for _ in range(300):
        size = rng.choice((0, 1, 2, 16, 64, 512))
        harness.TestOneInput(bytes(rng.randrange(256) for _ in range(size)))


def test_the_harness_helpers_turn_bytes_into_decisions(harnesses: dict[str, ModuleType]) -> None:
    """bytes_chooser reads two bytes per decision, in range, and zeros when used up."""
    from _harness import bytes_chooser

    choose = bytes_chooser(b"\x00\x07\x01\x00")
    assert [choose(10), choose(10), choose(10)] == [7, 256 % 10, 0]


def test_the_fuzz_readme_documents_every_harness() -> None:
    """fuzz/README.md names each harness and how to run it."""
    readme = (FUZZ_DIR / "README.md").read_text(encoding="utf-8")
    for name in HARNESSES:
        assert f"{name}.py" in readme
    assert "pip install atheris" in readme
