"""`noots provision`: each workload gets its own keys, the trust anchor and the CRL, and the
population where its kind needs it; the CA keeps no participant's private key."""

from __future__ import annotations

import os
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from typer.testing import CliRunner

from noots.cli import app
from noots.clock import ManualClock, SystemClock
from noots.deployment import dns_names, workloads
from noots.errors import ConfigurationError
from noots.paths import PROJECT_ROOT
from noots.pki import CertificateAuthority, load_crl
from noots.provision import CRL_REFRESH_MARGIN, VolumeLayout, provision
from noots.topology import load_topology

TOPOLOGY = load_topology()
WORKLOADS = workloads(TOPOLOGY)


@pytest.fixture(scope="module")
def provisioned(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, VolumeLayout]:
    root = tmp_path_factory.mktemp("provisioned")
    provision(root / "ca", root / "volumes", TOPOLOGY, people=0)
    return root / "ca", VolumeLayout(root / "volumes")


def _public(pem: bytes) -> bytes:
    key = serialization.load_pem_private_key(pem, password=None)
    return key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _certificate(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def _cert_public(path: Path) -> bytes:
    return (
        _certificate(path)
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


def _names(certificate: x509.Certificate) -> set[str]:
    san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return set(san.get_values_for_type(x509.DNSName))


def test_each_workload_holds_exactly_its_participants_keys(
    provisioned: tuple[Path, VolumeLayout],
) -> None:
    """A workload's key volume has one directory per participant it acts as, each with the
    certificate the CA issued and the private key that belongs to it; nothing else."""
    ca, layout = provisioned
    for workload in WORKLOADS:
        directory = layout.keys(workload.name)
        assert sorted(p.name for p in directory.iterdir()) == sorted(workload.participants)
        for participant in workload.participants:
            own = directory / participant
            assert sorted(p.name for p in own.iterdir()) == ["cert.pem", "key.pem"]
            assert (
                own.joinpath("cert.pem").read_bytes()
                == (ca / "participants" / participant / "cert.pem").read_bytes()
            )
            assert _public(own.joinpath("key.pem").read_bytes()) == _cert_public(own / "cert.pem")
            assert own.joinpath("key.pem").stat().st_mode & 0o077 == 0


def test_the_ca_keeps_no_participant_key(provisioned: tuple[Path, VolumeLayout]) -> None:
    """The only private key left in the CA's directory is its own root key."""
    ca, _layout = provisioned
    keys = sorted(p.relative_to(ca).as_posix() for p in ca.rglob("*key*.pem"))
    assert keys == ["ca/root-key.pem"]


def test_no_workload_volume_holds_the_ca_key(provisioned: tuple[Path, VolumeLayout]) -> None:
    """Nothing below the volumes root is the CA's root key; the CA's index is only in trust/
    (what the CA publishes)."""
    ca, layout = provisioned
    root_key = (ca / "ca" / "root-key.pem").read_bytes()
    for path in layout.root.rglob("*"):
        if path.is_file():
            assert path.read_bytes() != root_key, path
            assert path.name != "root-key.pem", path
            assert path.name != "index.json" or path.parent == layout.trust, path


def test_trust_volume_has_the_anchor_and_the_current_crl(
    provisioned: tuple[Path, VolumeLayout],
) -> None:
    """trust/ holds what the CA publishes: root certificate, CRL, the register of issued
    certificates and each participant's current certificate; nothing else."""
    ca, layout = provisioned
    assert sorted(p.name for p in layout.trust.iterdir()) == [
        "certificates",
        "crl.pem",
        "index.json",
        "root-cert.pem",
    ]
    assert (layout.trust / "index.json").read_bytes() == (ca / "ca" / "index.json").read_bytes()
    assert (layout.trust / "root-cert.pem").read_bytes() == (
        ca / "ca" / "root-cert.pem"
    ).read_bytes()
    assert (layout.trust / "crl.pem").read_bytes() == (ca / "ca" / "crl.pem").read_bytes()


def test_certificates_name_the_services(provisioned: tuple[Path, VolumeLayout]) -> None:
    """The certificate a workload serves TLS with names its service and in-cluster names
    beside localhost, so that clients check the server's name as anywhere else."""
    _ca, layout = provisioned
    for workload in WORKLOADS:
        own = layout.keys(workload.name) / workload.participants[0] / "cert.pem"
        assert {"localhost", *dns_names(workload)} <= _names(_certificate(own)), workload.name


def test_population_only_where_the_kind_answers_from_it(
    provisioned: tuple[Path, VolumeLayout],
) -> None:
    """Registers, the IDA and the platform get the population in their state; others none."""
    _ca, layout = provisioned
    for workload in WORKLOADS:
        has = (layout.data(workload.name) / "population.db").is_file()
        assert has is workload.population, workload.name


def test_a_second_run_keeps_everything(tmp_path: Path) -> None:
    """Provisioning again issues nothing, keeps every key and does not seed again."""
    provision(tmp_path / "ca", tmp_path / "v", TOPOLOGY, people=0)
    layout = VolumeLayout(tmp_path / "v")
    before = {p: p.read_bytes() for p in layout.root.rglob("key.pem")}
    report = provision(tmp_path / "ca", tmp_path / "v", TOPOLOGY, people=0)
    assert report.issued == []
    assert not report.population_seeded
    assert {p: p.read_bytes() for p in layout.root.rglob("key.pem")} == before


def test_a_certificate_without_the_names_is_issued_anew(tmp_path: Path) -> None:
    """A participant whose certificate lacks the service's names (one `noots bootstrap`
    issued, say) gets a new one, and the old one is on the CRL every workload reads."""
    authority = CertificateAuthority.create(tmp_path / "ca", clock=SystemClock())
    old = authority.issue("noots-ida", "ida")
    report = provision(tmp_path / "ca", tmp_path / "v", TOPOLOGY, people=0, population=False)
    assert "noots-ida" in report.issued
    layout = VolumeLayout(tmp_path / "v")
    crl = load_crl((layout.trust / "crl.pem").read_bytes())
    assert crl.get_revoked_certificate_by_serial_number(old.serial) is not None
    assert "ida" in _names(_certificate(layout.keys("ida") / "noots-ida" / "cert.pem"))


def test_a_lost_key_volume_gets_a_new_credential(tmp_path: Path) -> None:
    """When no workload holds the key of a certificate any more, the participant is issued
    anew and the certificate whose key is lost is revoked."""
    provision(tmp_path / "ca", tmp_path / "v", TOPOLOGY, people=0, population=False)
    layout = VolumeLayout(tmp_path / "v")
    lost = _certificate(layout.keys("ida") / "noots-ida" / "cert.pem")
    shutil.rmtree(layout.keys("ida"))
    report = provision(tmp_path / "ca", tmp_path / "v", TOPOLOGY, people=0, population=False)
    assert report.issued == ["noots-ida"]
    crl = load_crl((layout.trust / "crl.pem").read_bytes())
    assert crl.get_revoked_certificate_by_serial_number(lost.serial_number) is not None


def test_stale_participants_leave_a_key_volume(tmp_path: Path) -> None:
    """A key volume holding a participant its workload no longer acts as loses it."""
    provision(tmp_path / "ca", tmp_path / "v", TOPOLOGY, people=0, population=False)
    layout = VolumeLayout(tmp_path / "v")
    shutil.copytree(layout.keys("platform") / "noots-vs", layout.keys("ida") / "noots-vs")
    provision(tmp_path / "ca", tmp_path / "v", TOPOLOGY, people=0, population=False)
    assert sorted(p.name for p in layout.keys("ida").iterdir()) == ["noots-ida"]


def test_a_crl_near_its_next_update_is_signed_anew(tmp_path: Path) -> None:
    """A CRL closer to its next update than the margin is re-signed, so a restarted landscape
    does not fail closed on an outdated CRL soon after."""
    clock = ManualClock(SystemClock().now())
    provision(tmp_path / "ca", tmp_path / "v", TOPOLOGY, people=0, population=False, clock=clock)
    layout = VolumeLayout(tmp_path / "v")
    first = load_crl((layout.trust / "crl.pem").read_bytes())
    assert first.next_update_utc is not None
    clock.advance(first.next_update_utc - clock.now() - CRL_REFRESH_MARGIN + timedelta(hours=1))
    provision(tmp_path / "ca", tmp_path / "v", TOPOLOGY, people=0, population=False, clock=clock)
    second = load_crl((layout.trust / "crl.pem").read_bytes())
    assert second.next_update_utc is not None
    assert second.next_update_utc > first.next_update_utc


@pytest.mark.skipif(os.geteuid() != 0, reason="handing files to another user needs root")
def test_owner_gets_the_workloads_files_but_never_the_ca(tmp_path: Path) -> None:
    """With --owner the workloads' keys and state belong to the containers' user; the CA
    stays the one-shot's (no container opens it); the trust volume stays readable by all."""
    provision(tmp_path / "ca", tmp_path / "v", TOPOLOGY, people=0, owner=(12345, 12346))
    layout = VolumeLayout(tmp_path / "v")
    for path in [*layout.keys("ida").rglob("*"), layout.data("ida")]:
        assert (path.stat().st_uid, path.stat().st_gid) == (12345, 12346), path
    assert (tmp_path / "ca" / "ca" / "root-key.pem").stat().st_uid == os.geteuid()
    assert (layout.trust / "root-cert.pem").stat().st_mode & 0o004


def test_provision_command(tmp_path: Path) -> None:
    """`noots provision --pki-dir --volumes` provisions the topology NOOTS_TOPOLOGY names and says
    what it did."""
    result = CliRunner().invoke(
        app,
        [
            "provision",
            "--pki-dir",
            str(tmp_path / "ca"),
            "--volumes",
            str(tmp_path / "v"),
            "--topology",
            str(PROJECT_ROOT / "landscape.yaml"),
            "--no-population",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "certificates issued" in result.output
    assert (tmp_path / "v" / "keys" / "platform" / "noots-platform" / "key.pem").is_file()


def test_provision_command_refuses_a_bad_owner(tmp_path: Path) -> None:
    """--owner must be UID:GID."""
    result = CliRunner().invoke(
        app,
        [
            "provision",
            "--pki-dir",
            str(tmp_path / "ca"),
            "--volumes",
            str(tmp_path),
            "--owner",
            "x",
        ],
    )
    assert result.exit_code != 0
    assert "UID:GID" in result.output


def test_a_participant_the_operator_revoked_stays_revoked(tmp_path: Path) -> None:
    """After `noots pki revoke`, provisioning again publishes the CRL with the revocation and
    issues nothing anew for the participant: the operator's decision holds."""
    provision(tmp_path / "ca", tmp_path / "v", TOPOLOGY, people=0, population=False)
    layout = VolumeLayout(tmp_path / "v")
    revoked = _certificate(layout.keys("ida") / "noots-ida" / "cert.pem")
    CertificateAuthority.open(tmp_path / "ca", clock=SystemClock()).revoke("noots-ida")
    report = provision(tmp_path / "ca", tmp_path / "v", TOPOLOGY, people=0, population=False)
    assert report.issued == []
    assert report.revoked == ["noots-ida"]
    crl = load_crl((layout.trust / "crl.pem").read_bytes())
    assert crl.get_revoked_certificate_by_serial_number(revoked.serial_number) is not None
    kept = _certificate(layout.keys("ida") / "noots-ida" / "cert.pem")
    assert kept.serial_number == revoked.serial_number


def test_a_workload_acting_as_an_unlisted_participant_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A workload whose rules name a participant the topology does not list gets a clear
    ConfigurationError naming it, not a KeyError."""
    import dataclasses

    from noots import provision as provision_module
    from noots.errors import ConfigurationError

    ghost = dataclasses.replace(WORKLOADS[1], participants=("noots-ghost",))
    monkeypatch.setattr(provision_module, "workloads", lambda topology: [ghost])
    with pytest.raises(ConfigurationError, match="noots-ghost"):
        provision(tmp_path / "ca", tmp_path / "v", TOPOLOGY, people=0, population=False)


def test_provision_accepts_the_old_ca_option_with_a_note(tmp_path: Path) -> None:
    """--ca, the old name of --pki-dir, still works and says it is deprecated."""
    result = CliRunner().invoke(
        app,
        [
            "provision",
            "--ca",
            str(tmp_path / "ca"),
            "--volumes",
            str(tmp_path / "v"),
            "--topology",
            str(PROJECT_ROOT / "landscape.yaml"),
            "--no-population",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "--ca is deprecated, use --pki-dir" in result.stderr
    assert (tmp_path / "ca" / "ca" / "root-cert.pem").is_file()


def test_published_certificates_are_the_participants_current_ones(
    provisioned: tuple[Path, VolumeLayout],
) -> None:
    """trust/certificates/<id>.pem is the certificate the participant's workload holds."""
    _ca, layout = provisioned
    platform = layout.keys("platform") / "noots-platform" / "cert.pem"
    published = layout.trust / "certificates" / "noots-platform.pem"
    assert published.read_bytes() == platform.read_bytes()


def test_revoke_revokes_and_publishes_the_crl(tmp_path: Path) -> None:
    """`provision(revoke=[id])`: the participant's certificate is on the published CRL and
    in the published index as revoked; it is not issued anew."""
    provision(tmp_path / "ca", tmp_path / "v", TOPOLOGY, people=0)
    layout = VolumeLayout(tmp_path / "v")
    before = _certificate(layout.keys("ida") / "noots-ida" / "cert.pem")
    report = provision(tmp_path / "ca", tmp_path / "v", TOPOLOGY, people=0, revoke=["noots-ida"])
    crl = load_crl((layout.trust / "crl.pem").read_bytes())
    assert crl.get_revoked_certificate_by_serial_number(before.serial_number) is not None
    assert "noots-ida" in report.revoked
    assert '"revoked"' in (layout.trust / "index.json").read_text("utf-8")


def test_revoke_of_a_participant_outside_the_topology_is_refused(tmp_path: Path) -> None:
    """A typo in --revoke revokes nothing, not even the valid ids before it, and says why."""
    provision(tmp_path / "ca", tmp_path / "v", TOPOLOGY, people=0)
    with pytest.raises(ConfigurationError, match="not in the topology"):
        provision(
            tmp_path / "ca", tmp_path / "v", TOPOLOGY, people=0, revoke=["noots-ida", "noots-idaa"]
        )
    authority = CertificateAuthority.open(tmp_path / "ca", clock=SystemClock())
    assert all(r.status == "valid" for r in authority.records() if r.participant_id == "noots-ida")


def test_provision_command_revokes(tmp_path: Path) -> None:
    """`noots provision --revoke ID` revokes and says so."""
    args = ["provision", "--pki-dir", str(tmp_path / "ca"), "--volumes", str(tmp_path / "v")]
    args += ["--topology", str(PROJECT_ROOT / "landscape.yaml"), "--no-population"]
    CliRunner().invoke(app, args)
    result = CliRunner().invoke(app, [*args, "--revoke", "noots-ida"])
    assert result.exit_code == 0, result.output
    assert "revoked noots-ida" in result.output
