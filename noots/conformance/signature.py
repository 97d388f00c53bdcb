"""Reports signed by the simulator, so a third party can check that nobody edited them.

Decision: a **detached signature per report file**. Beside ``report.html`` the suite writes
``report.html.sig``, an XML document that names the file, its SHA-256 and size, and the
report's verdict, score and coverage, enveloped-signed (XMLDSig, the same profile as every
noots message) by the participant ``noots-simulator`` (role ``simulator``) of the landscape's
PKI. One mechanism covers HTML, JUnit XML and JSON alike, and the files themselves stay exactly
what CI tools and browsers expect::

    <rs:ReportSignature xmlns:rs="urn:noots:report-signature:1" version="1">
      <rs:File>report.html</rs:File><rs:Sha256>…64 hex…</rs:Sha256><rs:Size>12345</rs:Size>
      <rs:Kind>provider</rs:Kind><rs:Title>…</rs:Title><rs:Target>…</rs:Target>
      <rs:Passed>true</rs:Passed><rs:Score>100</rs:Score><rs:Coverage>100</rs:Coverage>
      <rs:SignedAt>2026-11-22T09:14:05.123Z</rs:SignedAt>
      <ds:Signature>…</ds:Signature>
    </rs:ReportSignature>

:func:`verify_report_file` verifies the signature (certificate path to the trust anchor the
caller brings, CRL, role ``simulator``), reads the fields from the signed element only, and
compares the digest with the file's bytes. Any change to the file, to the signature document or
a signature by anybody but a simulator raises a typed error of :mod:`noots.errors`.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from lxml import etree

from noots.clock import Clock, format_utc, parse_utc
from noots.conformance.render import ReportFiles
from noots.conformance.report import Report
from noots.errors import MalformedMessage, SignatureInvalid, SignatureMissing
from noots.pki import Role
from noots.signing import XmlSigner, XmlVerifier
from noots.xml import XmlLimits, parse, serialize

__all__ = [
    "SIGNATURE_NS",
    "SIGNATURE_SUFFIX",
    "ReportSignature",
    "sign_report_file",
    "sign_report_files",
    "signature_path",
    "verify_report_file",
]

SIGNATURE_NS = "urn:noots:report-signature:1"
SIGNATURE_SUFFIX = ".sig"
_FIELDS = (
    "File",
    "Sha256",
    "Size",
    "Kind",
    "Title",
    "Target",
    "Passed",
    "Score",
    "Coverage",
    "SignedAt",
)
_LIMITS = XmlLimits(max_bytes=256 * 1024, max_depth=16, max_elements=200)


def _q(local: str) -> str:
    return f"{{{SIGNATURE_NS}}}{local}"


@dataclass(frozen=True)
class ReportSignature:
    """What the simulator attested about one report file (read from the signed element)."""

    file_name: str
    sha256: str
    size: int
    kind: str
    title: str
    target: str
    passed: bool
    score: float
    coverage: float
    signed_at: datetime
    signer: str


def signature_path(path: Path) -> Path:
    """Where the detached signature of ``path`` lives: ``<path>.sig``."""
    return path.with_name(path.name + SIGNATURE_SUFFIX)


def sign_report_file(path: Path, report: Report, signer: XmlSigner, *, clock: Clock) -> Path:
    """Write the signature of the report file at ``path`` (its bytes as they are now)."""
    data = path.read_bytes()
    summary = report.summary
    values = {
        "File": path.name,
        "Sha256": hashlib.sha256(data).hexdigest(),
        "Size": str(len(data)),
        "Kind": report.kind,
        "Title": report.title,
        "Target": report.target,
        "Passed": "true" if report.passed else "false",
        "Score": f"{summary.score:g}",
        "Coverage": f"{summary.coverage:g}",
        "SignedAt": format_utc(clock.now(), millis=True),
    }
    root = etree.Element(_q("ReportSignature"), nsmap={"rs": SIGNATURE_NS})
    root.set("version", "1")
    for name in _FIELDS:
        etree.SubElement(root, _q(name)).text = values[name]
    target = signature_path(path)
    target.write_bytes(serialize(signer.sign(root)))
    return target


def sign_report_files(
    files: ReportFiles, report: Report, signer: XmlSigner, *, clock: Clock
) -> list[Path]:
    """Sign every file of ``files``; the paths of the signatures written."""
    return [sign_report_file(path, report, signer, clock=clock) for path in files.paths()]


def _read(signed: etree._Element) -> dict[str, str]:
    if signed.tag != _q("ReportSignature") or signed.get("version") != "1":
        raise MalformedMessage("not a noots report signature (rs:ReportSignature version 1)")
    children = [child for child in signed if isinstance(child.tag, str)]
    names = [etree.QName(child).localname for child in children]
    if names != list(_FIELDS) or any(etree.QName(c).namespace != SIGNATURE_NS for c in children):
        raise MalformedMessage(f"report signature must carry exactly {', '.join(_FIELDS)}")
    return {name: (child.text or "") for name, child in zip(names, children, strict=True)}


def verify_report_file(
    path: Path, verifier: XmlVerifier, *, signature: Path | None = None
) -> ReportSignature:
    """Check that ``path`` is exactly the file the simulator signed.

    Raises :class:`SignatureMissing` (no signature file), a signature or certificate error
    (the signature document was changed, or not signed by a simulator under the trust anchor),
    :class:`MalformedMessage` (not a report signature) or :class:`SignatureInvalid` (the file
    was changed after signing).
    """
    signature = signature or signature_path(path)
    try:
        raw = signature.read_bytes()
    except FileNotFoundError:
        raise SignatureMissing(
            f"no signature for {path.name}: expected {signature.name} beside it"
        ) from None
    verified = verifier.verify(parse(raw, _LIMITS), required_role=Role.SIMULATOR)
    values = _read(verified.element)
    data = path.read_bytes()
    actual = hashlib.sha256(data).hexdigest()
    if not hmac.compare_digest(actual, values["Sha256"]):
        raise SignatureInvalid(
            f"{path.name} was changed after it was signed: its SHA-256 is {actual}, "
            f"the simulator signed {values['Sha256']} ({values['Size']} bytes, now {len(data)})"
        )
    try:
        return ReportSignature(
            file_name=values["File"],
            sha256=values["Sha256"],
            size=int(values["Size"]),
            kind=values["Kind"],
            title=values["Title"],
            target=values["Target"],
            passed=values["Passed"] == "true",
            score=float(values["Score"]),
            coverage=float(values["Coverage"]),
            signed_at=parse_utc(values["SignedAt"]),
            signer=verified.signer.participant_id,
        )
    except ValueError as exc:
        raise MalformedMessage(f"report signature field unreadable: {exc}") from None
