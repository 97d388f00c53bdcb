"""The noots pytest plugin: an online service's own test suite gets a running landscape."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

OWN_TESTS = """
from noots.consumers import parse_person
import httpx


def test_fetch_through_the_landscape(noots_landscape):
    client = noots_landscape.client("08118079-BPA-87")
    result = client.fetch_evidence(
        "Fahrzeughalterauskunft",
        purpose="Bewohnerparkausweis",
        person=parse_person("Erika Mustermann 1964-08-12"),
    )
    assert any(row.value for row in result.rows())


def test_my_own_service_talks_to_its_sak(noots_landscape):
    sak = "08118079-BPA-87.sak"
    token = noots_landscape.token("08118079-BPA-87", sak)
    answer = httpx.get(
        noots_landscape.sak_url("08118079-BPA-87") + "/consumer/v1/routes",
        params={"evidenceType": "Fahrzeughalterauskunft"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 200
    assert answer.json()["provider"]["participantId"] == "991-01234ZFZR-41"
"""


@pytest.mark.e2e
def test_a_project_s_own_tests_use_the_landscape_fixture(pytester: pytest.Pytester) -> None:
    """A test file of another project gets noots_landscape from the installed plugin, fetches
    evidence with the client library and speaks to its SAK with a token."""
    pytester.makepyfile(test_own=OWN_TESTS)
    result = pytester.runpytest_subprocess("--noots-people", "150", timeout=300)
    result.assert_outcomes(passed=2)


@pytest.mark.e2e
def test_the_fixture_examples_of_the_docs_pass(pytester: pytest.Pytester) -> None:
    """The tests docs/consumers.md shows under "Testing your online service" pass as written:
    a regional fetch with region=, the asynchronous person announced (EvidencePending at
    once) and collected with a sleep= that moves the landscape clock."""
    import re

    from noots.paths import PROJECT_ROOT

    text = (PROJECT_ROOT / "docs" / "consumers.md").read_text(encoding="utf-8")
    section = text.split("## Testing your online service", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)
    files = {f"test_docs_{i}": block for i, block in enumerate(blocks)}
    pytester.makepyfile(**files)
    result = pytester.runpytest_subprocess("--noots-people", "150", timeout=300)
    result.assert_outcomes(passed=5)


def test_the_plugin_is_installed_as_an_entry_point() -> None:
    """pip installs the plugin (pytest11), so projects get the fixture without configuration."""
    from importlib.metadata import entry_points

    plugins = {e.name: e.value for e in entry_points(group="pytest11")}
    assert plugins.get("noots") == "noots.testing.pytest_plugin"


def test_the_ci_examples_use_the_plugin_s_options() -> None:
    """docs/ci/*.yml are valid YAML and call pytest with the plugin's real options and JUnit."""
    import inspect
    import re

    import yaml

    from noots.paths import PROJECT_ROOT
    from noots.testing import pytest_plugin

    known = set(re.findall(r'"(--noots-[a-z-]+)"', inspect.getsource(pytest_plugin)))
    assert known
    for name in ("github-actions.yml", "gitlab-ci.yml"):
        text = (PROJECT_ROOT / "docs" / "ci" / name).read_text(encoding="utf-8")
        yaml.safe_load(text)
        options = {word for word in text.split() if word.startswith("--noots-")}
        assert options, name
        assert options <= known, (name, options - known)
        assert "--junitxml=reports/pytest.xml" in text
