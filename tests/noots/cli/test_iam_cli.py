"""``noots iam token`` against the platform's IAM on a real loopback socket."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from noots.access import AccessTokenVerifier
from noots.bootstrap import ensure_pki
from noots.cli import app
from noots.clock import SystemClock
from noots.intermediary.app import create_app
from noots.intermediary.settings import PlatformSettings
from noots.participant import load_validator
from noots.pki import KeyType
from noots.testing.landscape import write_topology
from noots.testing.servers import serving
from noots.topology import Topology, load_topology

CONSUMER = "08118079-BPA-87"
SAK = f"{CONSUMER}.sak"


@dataclass(frozen=True)
class Platform:
    data_dir: Path
    topology_path: Path
    topology: Topology


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """A PKI for the topology (ECDSA: quick) and the platform's IAM on its topology port."""
    data_dir = tmp_path_factory.mktemp("iam-cli")
    topology_path = write_topology(data_dir)
    topology = load_topology(topology_path)
    ensure_pki(data_dir / "pki", topology, clock=SystemClock(), key_type=KeyType.ECDSA_P256)
    settings = PlatformSettings(data_dir=data_dir, topology=topology_path)
    with serving(create_app(settings, components=("iam",)), port=topology.platform.port):
        yield Platform(data_dir, topology_path, topology)


def run(platform: Platform, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(
        app,
        [
            "iam",
            "token",
            "--data-dir",
            str(platform.data_dir),
            "--topology",
            str(platform.topology_path),
            *args,
        ],
    )
    return result.exit_code, result.stdout, result.stderr


def test_prints_a_token_the_audience_accepts(platform: Platform) -> None:
    """--as the online service, --audience its SAK: a token that SAK's verifier accepts."""
    code, out, err = run(platform, "--as", CONSUMER, "--audience", SAK)
    assert code == 0, err
    verifier = AccessTokenVerifier(
        load_validator(platform.data_dir / "pki", clock=SystemClock()),
        iam_id=platform.topology.platform.iam_id,
        audience=SAK,
        clock=SystemClock(),
    )
    assert verifier.verify(out.strip()).subject == CONSUMER


def test_header_option_prints_the_authorization_header(platform: Platform) -> None:
    """--header prints a line to paste into curl -H."""
    code, out, _ = run(platform, "--as", SAK, "--audience", "noots-rdn", "--header")
    assert code == 0
    assert out.startswith("Authorization: Bearer ey")


def test_json_option_prints_the_claims(platform: Platform) -> None:
    """--json shows the token with its claims (acts_for of a SAK is the participant it serves)."""
    code, out, _ = run(platform, "--as", SAK, "--audience", "noots-rdn", "--json")
    assert code == 0
    assert f'"acts_for": "{CONSUMER}"' in out


def test_audience_not_registered_is_refused_with_exit_2(platform: Platform) -> None:
    """The IAM's refusal is shown with its reason; exit 2."""
    code, _, err = run(platform, "--as", CONSUMER, "--audience", "noots-vs")
    assert code == 2
    assert "invalid_target" in err
    assert "not registered to call noots-vs" in err


def test_unknown_participant_is_a_tool_error(platform: Platform) -> None:
    """A participant the topology does not know: exit 1 before any request."""
    code, _, err = run(platform, "--as", "nobody-here", "--audience", SAK)
    assert code == 1
    assert "unknown participant" in err


def test_iam_not_running_is_a_tool_error(platform: Platform, tmp_path: Path) -> None:
    """Without a platform listening the tool says so; exit 1."""
    other = write_topology(tmp_path)  # the same landscape on other, free ports
    result = CliRunner().invoke(
        app,
        [
            "iam", "token", "--data-dir", str(platform.data_dir), "--topology", str(other),
            "--as", CONSUMER, "--audience", SAK,
        ],
    )  # fmt: skip
    assert result.exit_code == 1
    assert "not reachable" in result.stderr
