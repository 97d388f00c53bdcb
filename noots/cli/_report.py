"""``noots report verify FILE…``: check that report files are exactly what the simulator signed.

Exit codes: 0 every file verified; 1 the tool could not check (no trust anchor, unreadable
files); 2 a file or its signature was changed, or the signature is not the simulator's.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from noots.cli._app import app

if TYPE_CHECKING:
    from noots.signing import XmlVerifier

report_app = typer.Typer(
    name="report", help="Check signed conformance and scenario reports.", no_args_is_help=True
)
app.add_typer(report_app)


def _verifier(
    data_dir: Path | None,
    pki_dir: Path | None,
    trust_anchor: Path | None,
    crl: Path | None,
    skip_revocation: bool,
) -> XmlVerifier:
    from noots.clock import SystemClock
    from noots.participant import load_validator
    from noots.pki import CertificateValidator, FileCrlSource, StaticCrlSource, load_certificate
    from noots.settings import NootsSettings, load_settings
    from noots.signing import XmlVerifier

    clock = SystemClock()
    if trust_anchor is not None:
        anchor = load_certificate(trust_anchor.read_bytes())
        source = FileCrlSource(crl) if crl is not None else StaticCrlSource(None)
        validator = CertificateValidator(
            anchor, source, clock, require_crl=crl is not None or not skip_revocation
        )
        return XmlVerifier(validator)
    if pki_dir is None:
        overrides = {} if data_dir is None else {"data_dir": data_dir}
        pki_dir = load_settings(NootsSettings, **overrides).data_dir / "pki"
    if not (pki_dir / "ca" / "root-cert.pem").is_file():
        raise FileNotFoundError(
            f"no trust anchor at {pki_dir / 'ca' / 'root-cert.pem'}: pass --trust-anchor "
            "(the landscape's /pki/v1/trust-anchor) and --crl, or --pki-dir"
        )
    validator = load_validator(pki_dir, clock=clock)
    if skip_revocation:
        validator.require_crl = False
    return XmlVerifier(validator)


@report_app.command("verify")
def verify(
    files: Annotated[list[Path], typer.Argument(help="Report files (HTML, JUnit XML, JSON).")],
    signature: Annotated[
        Path | None,
        typer.Option("--signature", help="The signature file (default: FILE.sig beside it)."),
    ] = None,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="Landscape data dir whose PKI to trust.")
    ] = None,
    pki_dir: Annotated[
        Path | None, typer.Option("--pki-dir", help="PKI directory (default: DATA_DIR/pki).")
    ] = None,
    trust_anchor: Annotated[
        Path | None, typer.Option("--trust-anchor", help="Root certificate (PEM) to trust.")
    ] = None,
    crl: Annotated[
        Path | None, typer.Option("--crl", help="CRL (PEM) to check the signer against.")
    ] = None,
    skip_revocation: Annotated[
        bool,
        typer.Option("--skip-revocation", help="Do not require a CRL (with --trust-anchor)."),
    ] = False,
) -> None:
    """Verify that each FILE is unchanged since the simulator signed it."""
    from noots.conformance.signature import verify_report_file
    from noots.errors import NootsError

    if signature is not None and len(files) > 1:
        typer.echo("error: --signature names the signature of one file only", err=True)
        raise typer.Exit(1)
    try:
        verifier = _verifier(data_dir, pki_dir, trust_anchor, crl, skip_revocation)
    except (OSError, ValueError, NootsError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    failed = False
    for path in files:
        if not path.is_file():
            typer.echo(f"error: {path}: no such file", err=True)
            raise typer.Exit(1)
        try:
            info = verify_report_file(path, verifier, signature=signature)
        except NootsError as exc:
            failed = True
            typer.echo(f"FAILED {path}: {type(exc).__name__}: {exc.message}", err=True)
            continue
        verdict = "passed" if info.passed else "failed"
        typer.echo(
            f"OK {path}: signed by {info.signer} at {info.signed_at.isoformat()} — "
            f"{info.kind} report on {info.target}: {verdict}, score {info.score:g} %, "
            f"coverage {info.coverage:g} %"
        )
    raise typer.Exit(2 if failed else 0)
