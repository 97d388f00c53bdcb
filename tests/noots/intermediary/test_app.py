"""The platform app's /health: 503 when the certificate of any participant it works as is
revoked or expired, named in German and English (issue 17)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from noots.intermediary.app import create_app
from noots.pki import CertificateAuthority
from noots.testing.asgi import running
from tests.noots.intermediary.support import Landscape

PARTICIPANTS = [
    ("noots-platform", "Plattform"),
    ("noots-vs", "Vermittlungsstelle"),
    ("noots-iam", "IAM für Behörden"),
    ("noots-eid", "eID-Dienst"),
    ("noots-simulator", "Simulator"),
]


async def test_the_platform_is_healthy_with_valid_certificates(landscape: Landscape) -> None:
    """Freshly bootstrapped: 200, no problems."""
    app = create_app(landscape.settings(), clock=landscape.clock, topology=landscape.topology)
    async with running(app) as client:
        answer = await client.get("/health")
    assert answer.status_code == 200, answer.text
    assert answer.json()["problems"] == []
    assert answer.json()["certificates"] == []


@pytest.mark.parametrize(("participant", "title"), PARTICIPANTS)
async def test_a_revoked_certificate_of_the_platform_makes_it_unhealthy(
    landscape: Landscape, participant: str, title: str
) -> None:
    """Revoking one of the platform's participants through the CA turns the running
    platform's /health to 503, naming exactly that certificate."""
    app = create_app(landscape.settings(), clock=landscape.clock, topology=landscape.topology)
    async with running(app) as client:
        assert (await client.get("/health")).status_code == 200
        CertificateAuthority.open(landscape.data_dir / "pki", clock=landscape.clock).revoke(
            participant
        )
        answer = await client.get("/health")
    assert answer.status_code == 503
    body = answer.json()
    assert body["status"] == "degraded"
    assert [c["participant"] for c in body["certificates"]] == [participant]
    assert body["certificates"][0]["reason"] == "revoked"
    assert (
        f"Zertifikat von {participant} ({title}) gesperrt / certificate of {participant} "
        in (body["problems"][0])
    )


async def test_an_expired_certificate_is_named_as_expired(landscape: Landscape) -> None:
    """Past the certificates' validity every participant of the platform is named as expired."""
    app = create_app(landscape.settings(), clock=landscape.clock, topology=landscape.topology)
    async with running(app) as client:
        landscape.clock.advance(timedelta(days=3 * 366))
        answer = await client.get("/health")
    assert answer.status_code == 503
    certificates = answer.json()["certificates"]
    assert sorted(c["participant"] for c in certificates) == sorted(p for p, _ in PARTICIPANTS)
    assert {c["reason"] for c in certificates} == {"expired"}
    assert "abgelaufen" in certificates[0]["de"]


async def test_a_platform_part_checks_only_its_own_participants(landscape: Landscape) -> None:
    """A platform running only the VS is not made unhealthy by a revoked eID certificate."""
    app = create_app(
        landscape.settings(),
        components=("vs",),
        clock=landscape.clock,
        topology=landscape.topology,
    )
    async with running(app) as client:
        CertificateAuthority.open(landscape.data_dir / "pki", clock=landscape.clock).revoke(
            "noots-eid"
        )
        answer = await client.get("/health")
    assert answer.status_code == 200, answer.text
