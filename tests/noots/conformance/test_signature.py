"""Tests of the simulator's detached signatures over report files."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from noots.clock import ManualClock
from noots.conformance import (
    ReportFiles,
    sign_report_file,
    sign_report_files,
    signature_path,
    verify_report_file,
    write_report,
)
from noots.errors import (
    CertificateRevoked,
    CertificateUntrusted,
    MalformedMessage,
    SignatureError,
    SignatureInvalid,
    SignatureMissing,
    WrongKeyUsage,
)
from noots.pki import Role
from noots.testing.pki import TestPki
from tests.noots.conformance.test_report import sample_report

SIMULATOR = "noots-simulator"


@pytest.fixture(scope="module")
def pki() -> Iterator[TestPki]:
    with TestPki(clock=ManualClock(datetime.now(UTC))) as test_pki:
        yield test_pki


@pytest.fixture
def signed(tmp_path: Path, pki: TestPki) -> ReportFiles:
    report = sample_report()
    files = write_report(
        report,
        html=tmp_path / "report.html",
        junit=tmp_path / "report.xml",
        json=tmp_path / "report.json",
    )
    sign_report_files(files, report, pki.signer(SIMULATOR, Role.SIMULATOR), clock=pki.clock)
    return files


def test_every_format_verifies(signed: ReportFiles, pki: TestPki) -> None:
    """HTML, JUnit and JSON each verify and carry the report's verdict and target."""
    for path in signed.paths():
        info = verify_report_file(path, pki.verifier())
        assert info.signer == SIMULATOR
        assert info.file_name == path.name
        assert (info.kind, info.target, info.passed, info.score) == (
            "provider",
            "http://127.0.0.1:8416",
            False,
            50.0,
        )


@pytest.mark.parametrize("name", ["report.html", "report.xml", "report.json"])
def test_an_edit_of_one_byte_is_detected(signed: ReportFiles, pki: TestPki, name: str) -> None:
    """Changing a file after signing raises SignatureInvalid naming the file."""
    path = next(p for p in signed.paths() if p.name == name)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(SignatureInvalid, match=name):
        verify_report_file(path, pki.verifier())


def test_verdict_flipped_in_json_is_detected(signed: ReportFiles, pki: TestPki) -> None:
    """Turning a failed report into a passed one is exactly what must not go unnoticed."""
    assert signed.json is not None
    text = signed.json.read_text("utf-8").replace('"passed": false', '"passed": true', 1)
    signed.json.write_text(text, "utf-8")
    with pytest.raises(SignatureInvalid):
        verify_report_file(signed.json, pki.verifier())


def test_edited_signature_document_is_refused(signed: ReportFiles, pki: TestPki) -> None:
    """Changing the signed digest inside the signature breaks the signature itself."""
    assert signed.html is not None
    sig = signature_path(signed.html)
    text = sig.read_text("utf-8")
    start = text.index("<rs:Score>") + len("<rs:Score>")
    sig.write_text(text[:start] + "100" + text[text.index("</rs:Score>") :], "utf-8")
    with pytest.raises(SignatureError):
        verify_report_file(signed.html, pki.verifier())


def test_missing_signature_is_reported(tmp_path: Path, pki: TestPki) -> None:
    """A report without its .sig file raises SignatureMissing."""
    path = tmp_path / "r.json"
    write_report(sample_report(), json=path)
    with pytest.raises(SignatureMissing, match=r"r\.json\.sig"):
        verify_report_file(path, pki.verifier())


def test_only_a_simulator_may_sign(tmp_path: Path, pki: TestPki) -> None:
    """A report signed by a register's credential is refused (role simulator required)."""
    path = tmp_path / "r.json"
    report = sample_report()
    write_report(report, json=path)
    sign_report_file(path, report, pki.signer("991-01234ZFZR-41", Role.PROVIDER), clock=pki.clock)
    with pytest.raises(WrongKeyUsage):
        verify_report_file(path, pki.verifier())


def test_signature_from_another_pki_is_untrusted(tmp_path: Path, pki: TestPki) -> None:
    """A simulator of another landscape (another root CA) is not trusted."""
    path = tmp_path / "r.json"
    report = sample_report()
    write_report(report, json=path)
    with TestPki(clock=pki.clock) as other:
        sign_report_file(path, report, other.signer(SIMULATOR, Role.SIMULATOR), clock=pki.clock)
    with pytest.raises(CertificateUntrusted):
        verify_report_file(path, pki.verifier())


def test_revoked_simulator_is_refused(tmp_path: Path) -> None:
    """After the simulator's certificate is revoked its signatures no longer verify."""
    with TestPki(clock=ManualClock(datetime.now(UTC))) as own:
        path = tmp_path / "r.json"
        report = sample_report()
        write_report(report, json=path)
        sign_report_file(path, report, own.signer(SIMULATOR, Role.SIMULATOR), clock=own.clock)
        verify_report_file(path, own.verifier())
        own.revoke(SIMULATOR)
        with pytest.raises(CertificateRevoked):
            verify_report_file(path, own.verifier())


def test_foreign_xml_as_signature_is_malformed(tmp_path: Path, pki: TestPki) -> None:
    """A signed document that is not a report signature is refused as malformed."""
    from lxml import etree

    from noots.xml import serialize

    path = tmp_path / "r.json"
    write_report(sample_report(), json=path)
    other = pki.signer(SIMULATOR, Role.SIMULATOR).sign(etree.Element("{urn:x}Other"))
    signature_path(path).write_bytes(serialize(other))
    with pytest.raises(MalformedMessage):
        verify_report_file(path, pki.verifier())
