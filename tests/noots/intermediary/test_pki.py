"""IAM/PKI endpoints: trust anchor, CRL, participant registry, revocation."""

from __future__ import annotations

import shutil
from pathlib import Path

from cryptography import x509

from noots.intermediary.app import create_app
from noots.pki import load_certificate, load_crl, participant_id_of
from noots.provision import VolumeLayout, provision
from noots.testing.asgi import running
from tests.noots.intermediary.support import CONSUMER, Landscape

ADMIN = {"Authorization": "Bearer admin-secret"}


async def test_trust_anchor_and_crl_are_published_as_pem(landscape: Landscape) -> None:
    """The trust anchor is the CA's root certificate; the CRL is signed by it."""
    app = create_app(
        landscape.settings(),
        components=("pki",),
        clock=landscape.clock,
        topology=landscape.topology,
    )
    async with running(app) as client:
        anchor_answer = await client.get("/pki/v1/trust-anchor")
        crl_answer = await client.get("/pki/v1/crl")
    assert anchor_answer.headers["content-type"] == "application/x-pem-file"
    anchor = load_certificate(anchor_answer.content)
    on_disk = (landscape.data_dir / "pki" / "ca" / "root-cert.pem").read_bytes()
    assert anchor == load_certificate(on_disk)
    crl = load_crl(crl_answer.content)
    assert crl.issuer == anchor.subject
    assert crl.is_signature_valid(anchor.public_key())  # type: ignore[arg-type]


async def test_participant_registry_lists_every_participant_with_role(
    landscape: Landscape,
) -> None:
    """Every participant of the topology is listed with role, area, address and status."""
    app = create_app(
        landscape.settings(),
        components=("pki",),
        clock=landscape.clock,
        topology=landscape.topology,
    )
    async with running(app) as client:
        listing = (await client.get("/pki/v1/participants")).json()["participants"]
        one = (await client.get(f"/pki/v1/participants/{CONSUMER}")).json()
        missing = await client.get("/pki/v1/participants/nobody")
    expected = {p.participant_id: p.role for p in landscape.topology.participants()}
    assert {p["participantId"]: p["role"] for p in listing} == expected
    assert all(p["status"] == "active" for p in listing)
    assert one["area"] == "verkehr"
    assert one["baseUrl"] == "http://127.0.0.1:8420"
    certificate = x509.load_pem_x509_certificate(one["certificatePem"].encode())
    assert participant_id_of(certificate) == CONSUMER
    assert missing.status_code == 404


async def test_revocation_changes_registry_and_crl_at_once(landscape: Landscape) -> None:
    """After revoke the registry says revoked and the published CRL lists the serial."""
    app = create_app(
        landscape.settings(),
        components=("pki",),
        clock=landscape.clock,
        topology=landscape.topology,
    )
    async with running(app) as client:
        before = load_crl((await client.get("/pki/v1/crl")).content)
        answer = await client.post(
            "/admin/v1/revoke", json={"participantId": CONSUMER}, headers=ADMIN
        )
        after = load_crl((await client.get("/pki/v1/crl")).content)
        entry = (await client.get(f"/pki/v1/participants/{CONSUMER}")).json()
        unknown = await client.post(
            "/admin/v1/revoke", json={"participantId": "nobody"}, headers=ADMIN
        )
    assert answer.status_code == 200
    serial = int(entry["certificates"][0]["serial"], 16)
    assert before.get_revoked_certificate_by_serial_number(serial) is None
    assert after.get_revoked_certificate_by_serial_number(serial) is not None
    assert entry["status"] == "revoked"
    assert unknown.status_code == 404


async def test_admin_endpoints_are_absent_in_strict_mode(landscape: Landscape) -> None:
    """Strict mode mounts no admin route, even with a token configured."""
    app = create_app(
        landscape.settings(mode="strict"),
        components=("pki",),
        clock=landscape.clock,
        topology=landscape.topology,
    )
    async with running(app) as client:
        answer = await client.post(
            "/admin/v1/revoke", json={"participantId": CONSUMER}, headers=ADMIN
        )
        listing = await client.get("/pki/v1/participants")
    assert answer.status_code == 404
    assert all(p["status"] == "active" for p in listing.json()["participants"])


async def test_health_reports_the_mounted_components(landscape: Landscape) -> None:
    """/health is 200 with the mounted components, 503 when the CRL is gone."""
    app = create_app(
        landscape.settings(),
        components=("pki", "rdn"),
        clock=landscape.clock,
        topology=landscape.topology,
    )
    async with running(app) as client:
        healthy = await client.get("/health")
        (landscape.data_dir / "pki" / "ca" / "crl.pem").unlink()
        degraded = await client.get("/health")
    assert healthy.status_code == 200
    assert healthy.json()["components"] == ["pki", "rdn"]
    assert degraded.status_code == 503
    assert "CRL" in degraded.json()["problems"][0]


def _container_data_dir(landscape: Landscape, target: Path) -> Path:
    """A data dir as the platform's container sees it: what `noots provision` published
    (trust volume) and the platform workload's own keys, no CA key anywhere."""
    provision(
        target / "ca", target / "volumes", landscape.topology, people=0, clock=landscape.clock
    )
    layout = VolumeLayout(target / "volumes")
    data_dir = target / "data"
    shutil.copytree(layout.trust, data_dir / "pki" / "ca")
    shutil.copytree(layout.keys("platform"), data_dir / "pki" / "participants")
    assert not list(data_dir.rglob("root-key.pem"))
    return data_dir


async def test_without_the_ca_key_the_published_pki_is_served(
    landscape: Landscape, tmp_path: Path
) -> None:
    """In a container (no CA key) the platform serves the published trust anchor, CRL and
    registry with each participant's current certificate."""
    data_dir = _container_data_dir(landscape, tmp_path / "container")
    app = create_app(
        landscape.settings(data_dir=data_dir),
        components=("pki",),
        clock=landscape.clock,
        topology=landscape.topology,
    )
    async with running(app) as client:
        crl = await client.get("/pki/v1/crl")
        one = (await client.get(f"/pki/v1/participants/{CONSUMER}")).json()
    published = (data_dir / "pki" / "ca" / "crl.pem").read_bytes()
    assert crl.content == published
    assert one["status"] == "active"
    certificate = x509.load_pem_x509_certificate(one["certificatePem"].encode())
    assert participant_id_of(certificate) == CONSUMER


async def test_without_the_ca_key_revoke_names_the_operators_command(
    landscape: Landscape, tmp_path: Path
) -> None:
    """The admin API cannot revoke without the CA: 409 naming `noots provision --revoke`,
    and the published CRL is unchanged."""
    data_dir = _container_data_dir(landscape, tmp_path / "container")
    app = create_app(
        landscape.settings(data_dir=data_dir),
        components=("pki",),
        clock=landscape.clock,
        topology=landscape.topology,
    )
    before = (data_dir / "pki" / "ca" / "crl.pem").read_bytes()
    async with running(app) as client:
        answer = await client.post(
            "/admin/v1/revoke", json={"participantId": CONSUMER}, headers=ADMIN
        )
    assert answer.status_code == 409
    assert "noots provision --revoke" in answer.json()["detail"]
    assert (data_dir / "pki" / "ca" / "crl.pem").read_bytes() == before


async def test_the_whole_platform_starts_with_its_containers_files_alone(
    landscape: Landscape, tmp_path: Path
) -> None:
    """Every platform component (RDN, IAM, VS, DSC, eID, PKI) starts from what its container
    mounts: the keys `noots.deployment` gives the platform workload and the published PKI."""
    data_dir = _container_data_dir(landscape, tmp_path / "container")
    app = create_app(
        landscape.settings(data_dir=data_dir), clock=landscape.clock, topology=landscape.topology
    )
    async with running(app) as client:
        health = await client.get("/health")
    assert health.status_code == 200, health.text
