"""Secrets: no private key (the CA's or any participant's) appears in logs, error answers,
CLI output or conformance reports, however the components fail; reprs hide keys."""

from __future__ import annotations

import contextlib
import logging
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from noots.clock import SystemClock
from noots.conformance.attacks import ATTACKS
from noots.faults import SIGNATURE_FAULTS, Fault
from noots.intermediary.settings import PlatformSettings
from noots.participant import load_credential, load_participant
from noots.pki import CertificateAuthority
from noots.registers.settings import RegisterSettings
from noots.signing import XmlSigner
from noots.testing.iam import landscape_token
from noots.testing.landscape import bootstrap, landscape_in_process
from noots.testing.secrets import KeyMaterial
from tests.security.conftest import ADMIN_TOKEN, KBA, Running
from tests.security.support import Armoury

GARBAGE = b"<?xml version='1.0'?><x>not an envelope</x>"


@pytest.fixture(scope="module")
def armoury(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Armoury]:
    data_dir = tmp_path_factory.mktemp("secrets")
    armoury = Armoury.prepare(data_dir, bootstrap(data_dir, people=300))
    yield armoury
    armoury.foreign.close()


async def drive_errors(
    client: httpx.AsyncClient, platform: str, kba: str, kba_sak: str, armoury: Armoury, admin: str
) -> list[bytes]:
    """Make every component fail in every way we know; the answers' bodies."""
    bodies: list[bytes] = []
    spec = armoury.topology.register(KBA)
    kit = armoury.kit(spec)
    transport = kba_sak + "/transport/v1/messages"
    as_sak = {"Authorization": f"Bearer {armoury.token(spec)}"}
    # Every attack at the KBA's SAK, and its bytes at the KBA's push endpoint, as its SAK.
    own_sak = landscape_token(armoury.data_dir / "pki", f"{KBA}.sak", KBA)
    for target, headers in (
        (transport, as_sak),
        (kba + "/provider/v1/requests", {"Authorization": f"Bearer {own_sak}"}),
    ):
        for attack in ATTACKS.values():
            hostile = attack.build(kit)
            for raw in (*hostile.prelude, hostile.raw):
                response = await client.post(target, content=raw, headers=headers)
                bodies.append(response.content)
    bearer = {"Authorization": f"Bearer {admin}"}
    for fault in Fault:
        at = kba_sak if fault in SIGNATURE_FAULTS else kba
        plan = {"rates": {fault.value: 1.0}, "hang_seconds": 0.5, "count": 1}
        switched = await client.put(f"{at}/admin/v1/faults", json=plan, headers=bearer)
        assert switched.status_code == 200, switched.text
        response = await client.post(transport, content=kit.fresh().raw, headers=as_sak)
        bodies.append(response.content)
    for at in (kba, kba_sak):
        await client.delete(f"{at}/admin/v1/faults", headers=bearer)
    faults = f"{kba}/admin/v1/faults"
    bad_bearer = {"Authorization": "Bearer not-a-token"}
    calls = [
        ("POST", platform + "/vs/v1/tokens", GARBAGE, {}),
        ("POST", platform + "/vs/v1/tokens", ATTACKS["unsigned"].build(kit).raw, {}),
        ("POST", transport, GARBAGE, {}),
        ("POST", kba + "/provider/v1/requests", GARBAGE, {}),
        ("PUT", f"{kba}/admin/v1/faults", b'{"rates": {"bad_signature": 1}}', bearer),
        ("GET", platform + "/dsc/v1/transfers", None, {}),
        ("GET", platform + "/dsc/v1/transfers", None, bad_bearer),
        ("POST", platform + "/admin/v1/revoke", b'{"participantId": "x"}', bad_bearer),
        ("POST", platform + "/eid/v1/login", b'{"idnr": "12345678901"}', {}),
        ("GET", platform + "/rdn/v1/services?evidenceType=Nichts&region=0", None, {}),
        ("GET", platform + "/pki/v1/participants/nobody", None, {}),
        ("GET", platform + "/pki/v1/trust-anchor", None, {}),
        ("GET", platform + "/pki/v1/crl", None, {}),
        ("PUT", faults, b'{"rates": {"error": 2}}', bearer),
        ("PUT", faults, b"{}", bad_bearer),
    ]
    for method, url, content, headers in calls:
        response = await client.request(method, url, content=content, headers=headers)
        bodies.append(response.content)
    return bodies


async def test_in_process_errors_of_every_component_leak_no_key(
    armoury: Armoury, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    """Attacks, faults of the register and its SAK (the expired-certificate one reads the CA
    key) and bad calls to the SAK, the register, VS, IDA, DSC, eID, RDN and IAM/PKI, with
    DEBUG logging: no key anywhere."""
    keys = KeyMaterial.from_pki_dir(armoury.data_dir / "pki")
    caplog.set_level(logging.DEBUG)
    async with (
        landscape_in_process(armoury.data_dir, registers=[KBA], consumers=False) as (
            landscape,
            routes,
        ),
        httpx.AsyncClient(transport=routes) as client,
    ):
        bodies = await drive_errors(
            client,
            landscape.url("platform"),
            landscape.url(KBA),
            landscape.url(f"{KBA}.sak"),
            armoury,
            landscape.admin_token,
        )
        ida = landscape.url("ida") + "/ida/v1/lookup"
        bodies.append((await client.post(ida, content=GARBAGE)).content)
    captured = capsys.readouterr()
    assert len(caplog.records) > 20  # the failures were logged: the check below has material
    assert keys.leaks([*bodies, caplog.text, captured.out, captured.err]) == []


def cli(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "noots", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={"COLUMNS": "200", "NO_COLOR": "1", "PATH": "/usr/bin:/bin"},
    )
    return f"$ noots {' '.join(args)} -> {done.returncode}\n{done.stdout}{done.stderr}"


@pytest.mark.e2e
async def test_process_logs_cli_output_and_reports_leak_no_key(
    running: Running, tmp_path: Path
) -> None:
    """The real processes' logs (attacks, faults, kill -9 and restarts of the other tests),
    CLI errors (unknown participant, missing or corrupt key, broken log, no PKI) and a
    conformance report of the KBA: no key anywhere."""
    data_dir = running.processes.data_dir
    pki_dir = data_dir / "pki"
    keys = KeyMaterial.from_pki_dir(pki_dir)
    async with httpx.AsyncClient(timeout=60.0) as client:
        bodies = await drive_errors(
            client,
            running.processes["platform"].url,
            running.processes[KBA].url,
            running.sak_url(KBA),
            running.armoury,
            ADMIN_TOKEN,
        )
    corrupt = tmp_path / "pki"
    shutil.copytree(pki_dir, corrupt)
    key_file = corrupt / "participants" / KBA / "key.pem"
    key_file.write_bytes(key_file.read_bytes()[: len(key_file.read_bytes()) // 2])
    broken_log = tmp_path / "broken.db"
    # The backup API copies what the WAL holds too (a file copy would miss it).
    with (
        contextlib.closing(sqlite3.connect(data_dir / "logs" / f"{KBA}.db")) as source,
        contextlib.closing(sqlite3.connect(broken_log)) as target,
    ):
        source.backup(target)
        target.execute("UPDATE protocol_entries SET purpose = 'changed' WHERE sequence = 1")
        target.commit()
    report = tmp_path / "report"
    outputs = [
        cli("pki", "show", "--dir", str(pki_dir), "--participant", KBA),
        cli("pki", "show", "--dir", str(pki_dir), "--participant", "nobody"),
        cli("pki", "show", "--dir", str(corrupt), "--participant", KBA),
        cli("pki", "issue", "--dir", str(corrupt), "--participant", KBA, "--role", "provider"),
        cli("pki", "list", "--dir", str(pki_dir)),
        cli("protocol", "verify", "--db", str(broken_log)),
        cli("serve", KBA, "--data-dir", str(tmp_path / "empty")),
        cli(
            "conformance",
            "provider",
            "--target",
            running.processes[KBA].url,
            "--participant",
            KBA,
            "--data-dir",
            str(data_dir),
            "--topology",
            str(data_dir / "landscape.yaml"),
            "--max-wait",
            "5",
            "--report",
            str(report),
        ),
    ]
    reports = [path.read_bytes() for path in sorted(report.glob("*")) if path.is_file()]
    assert reports  # the conformance run wrote its report files
    logs = running.processes.output()
    assert "INFO" in logs
    assert keys.leaks([*bodies, *outputs, *reports, logs]) == [], "\n".join(outputs)


def test_reprs_of_credentials_participants_and_settings_hide_keys(armoury: Armoury) -> None:
    """repr/str of credentials, participants, signers, the CA, attack kits and settings with
    an admin token show no key material and no token."""
    pki_dir = armoury.data_dir / "pki"
    keys = KeyMaterial.from_pki_dir(pki_dir)
    credential = load_credential(pki_dir, KBA)
    participant = load_participant(pki_dir, KBA, clock=SystemClock())
    authority = CertificateAuthority.open(pki_dir, clock=SystemClock())
    token = "do-not-print-this-admin-token"
    common = {"data_dir": armoury.data_dir, "admin_token": SecretStr(token)}
    objects: list[object] = [
        credential,
        participant,
        XmlSigner(credential),
        authority,
        authority.credential(KBA),
        armoury.kit(armoury.topology.register(KBA)),
        armoury.factory,
        RegisterSettings(participant_id=KBA, **common),
        PlatformSettings(**common),
    ]
    texts = [text for obj in objects for text in (repr(obj), str(obj))]
    assert keys.leaks(texts) == []
    assert not any(token in text for text in texts)
