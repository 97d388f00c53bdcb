"""``noots pki``: the simulated PKI on the command line (create, issue, revoke, list, show).

Every command works on one PKI directory (``ca/``, ``participants/``): ``--pki-dir``, by default
the landscape's, ``<data dir>/pki``. ``noots pki issue --csr FILE`` signs an operator's own
certificate signing request: the operator keeps the private key.

Exit codes (noots.cli._exit): 0 done; 1 the tool could not do its job (no CA in the landscape's
data dir yet, a CA that exists already); 2 the CA refused a certificate signing request; 64 a
usage error (bad option or value, a participant the CA does not know, a named directory
without CA, a missing file).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from noots.cli._app import app
from noots.cli._exit import CHECK_FAILED, TOOL_FAILED, existing_file, usage_error
from noots.cli._options import DataDirOption, PkiDirOption, deprecated_option, renamed
from noots.pki import CertificateAuthority, KeyType, Role

pki_app = typer.Typer(help="The simulated NOOTS PKI: root CA, participant certificates, CRL.")
app.add_typer(pki_app, name="pki", no_args_is_help=True)

#: ``--dir``/``-d``, the old name of ``--pki-dir``: still accepted, with a note.
OldDirOption = Annotated[Path | None, deprecated_option("--dir", "-d")]
ParticipantOption = Annotated[
    str,
    typer.Option("--participant", "-p", metavar="ID", help="Participant id, e.g. 08118079-BPA-87."),
]
KeyTypeOption = Annotated[KeyType, typer.Option("--key-type", help="Key algorithm.")]


def _directory(pki_dir: Path | None, data_dir: Path | None, old_dir: Path | None) -> Path:
    """The PKI directory the options name (default: the landscape's data dir's)."""
    named = renamed(pki_dir, old_dir, old_name="--dir", new_name="--pki-dir")
    if named is not None:
        return named
    from noots.settings import NootsSettings, load_settings

    overrides = {} if data_dir is None else {"data_dir": data_dir}
    return load_settings(NootsSettings, **overrides).data_dir / "pki"


def _open(
    pki_dir: Path | None, data_dir: Path | None, old_dir: Path | None
) -> CertificateAuthority:
    from noots.clock import SystemClock

    directory = _directory(pki_dir, data_dir, old_dir)
    try:
        return CertificateAuthority.open(directory, clock=SystemClock())
    except FileNotFoundError:
        if pki_dir is not None or old_dir is not None:
            raise usage_error(f"no CA in {directory}", option="--pki-dir") from None
        typer.echo(
            f"error: no CA in {directory} yet: run noots bootstrap (or noots pki init) first",
            err=True,
        )
        raise typer.Exit(TOOL_FAILED) from None


def _unknown(exc: Exception) -> Exception:
    """A participant the CA does not know (or an id no participant can have): a usage error."""
    return usage_error(str(exc), option="--participant")


@pki_app.command("init")
def init(
    pki_dir: PkiDirOption = None,
    data_dir: DataDirOption = None,
    old_dir: OldDirOption = None,
    key_type: KeyTypeOption = KeyType.RSA2048,
    days: Annotated[
        int, typer.Option(min=1, metavar="DAYS", help="Validity of the root certificate.")
    ] = 3650,
) -> None:
    """Create the root CA and an empty CRL in the PKI directory."""
    from datetime import timedelta

    from noots.clock import SystemClock

    directory = _directory(pki_dir, data_dir, old_dir)
    try:
        ca = CertificateAuthority.create(
            directory, clock=SystemClock(), key_type=key_type, validity=timedelta(days=days)
        )
    except FileExistsError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(TOOL_FAILED) from None
    typer.echo(f"root CA created: {ca.root_cert_path}")


@pki_app.command("issue")
def issue(
    participant: ParticipantOption,
    role: Annotated[Role, typer.Option("--role", "-r", help="The participant's role.")],
    pki_dir: PkiDirOption = None,
    data_dir: DataDirOption = None,
    old_dir: OldDirOption = None,
    csr: Annotated[
        Path | None,
        typer.Option(
            "--csr",
            metavar="FILE",
            help="Sign this certificate signing request (PEM or DER) instead of making a key: "
            "the private key stays with you.",
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            metavar="FILE",
            help="With --csr: also write the certificate here (it is always stored as "
            "participants/<id>/cert.pem).",
        ),
    ] = None,
    key_type: KeyTypeOption = KeyType.RSA2048,
    days: Annotated[
        int, typer.Option(min=1, metavar="DAYS", help="Validity of the certificate.")
    ] = 365,
    name: Annotated[
        list[str] | None,
        typer.Option(
            "--name", metavar="NAME", help="Extra subjectAltName (DNS name or IP); repeatable."
        ),
    ] = None,
) -> None:
    """Issue (or re-issue, revoking the old one) a participant's certificate.

    Without --csr the CA makes the key too and writes both (participants/<id>/key.pem, mode
    0600). With --csr FILE it signs your request and writes the certificate only: no private key
    is made or written, and an earlier key of the participant in the PKI directory is removed.
    """
    from datetime import timedelta

    if out is not None and csr is None:
        raise usage_error("--out goes with --csr", option="--out")
    ca = _open(pki_dir, data_dir, old_dir)
    if csr is not None:
        _sign_request(ca, participant, role, existing_file(csr, "--csr"), days, name or (), out)
        return
    try:
        credential = ca.issue(
            participant,
            role,
            key_type=key_type,
            validity=timedelta(days=days),
            extra_names=name or (),
        )
    except ValueError as exc:
        raise _unknown(exc) from None
    typer.echo(
        f"issued {credential.participant_id} ({credential.role.value}), "
        f"serial {credential.serial:x}: {credential.cert_path}"
    )


def _sign_request(
    ca: CertificateAuthority,
    participant: str,
    role: Role,
    csr: Path,
    days: int,
    names: list[str] | tuple[str, ...],
    out: Path | None,
) -> None:
    from datetime import timedelta

    from cryptography.hazmat.primitives import serialization

    from noots.errors import CertificateRequestRejected

    try:
        certificate = ca.sign_request(
            csr.read_bytes(), participant, role, validity=timedelta(days=days), extra_names=names
        )
    except ValueError as exc:  # a participant id no participant can have
        raise _unknown(exc) from None
    except CertificateRequestRejected as exc:
        typer.echo(f"refused: {csr}: {exc.message}", err=True)
        raise typer.Exit(CHECK_FAILED) from None
    stored = ca.participant_dir(participant) / "cert.pem"
    if out is not None:
        out.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    typer.echo(
        f"signed {participant} ({role.value}), serial {certificate.serial_number:x}: {stored}"
        + (f" and {out}" if out is not None else "")
    )
    typer.echo(
        "It proves that this simulator CA certified your key for this participant id and "
        "role, nothing more.",
        err=True,
    )


@pki_app.command("revoke")
def revoke(
    participant: ParticipantOption,
    pki_dir: PkiDirOption = None,
    data_dir: DataDirOption = None,
    old_dir: OldDirOption = None,
) -> None:
    """Revoke every valid certificate of a participant and publish the CRL at once."""
    from noots.pki import UnknownParticipant

    ca = _open(pki_dir, data_dir, old_dir)
    try:
        ca.revoke(participant)
    except (UnknownParticipant, ValueError) as exc:
        raise _unknown(exc) from None
    typer.echo(f"revoked {participant}; CRL updated: {ca.crl_path}")


@pki_app.command("list")
def list_(
    pki_dir: PkiDirOption = None,
    data_dir: DataDirOption = None,
    old_dir: OldDirOption = None,
) -> None:
    """Every certificate the CA has issued."""
    from rich.table import Table

    from noots.cli._console import console

    ca = _open(pki_dir, data_dir, old_dir)
    table = Table(title=f"certificates issued by {ca.directory}")
    for column in ("participant", "role", "serial", "not after", "status"):
        table.add_column(column)
    for record in ca.records():
        status = record.status
        if record.revoked_at is not None:
            status = f"revoked {record.revoked_at.isoformat()}"
        table.add_row(
            record.participant_id,
            record.role.value,
            f"{record.serial:x}",
            record.not_after.isoformat(),
            status,
        )
    console().print(table)


@pki_app.command("show")
def show(
    participant: ParticipantOption,
    pki_dir: PkiDirOption = None,
    data_dir: DataDirOption = None,
    old_dir: OldDirOption = None,
) -> None:
    """A participant's current certificate: subject, serial, validity, names, key and status."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    from noots.pki import UnknownParticipant, participant_id_of, role_of

    ca = _open(pki_dir, data_dir, old_dir)
    try:
        cert = ca.certificate(participant)
    except (UnknownParticipant, ValueError) as exc:
        raise _unknown(exc) from None
    key_path = ca.participant_dir(participant) / "key.pem"
    record = next((r for r in ca.records() if r.serial == cert.serial_number), None)
    status = record.status if record is not None else "unknown"
    key_type_text = record.key_type.value if record is not None else "unknown"
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    typer.echo(f"participant:  {participant_id_of(cert)}")
    typer.echo(f"role:         {role_of(cert).value}")
    typer.echo(f"subject:      {cert.subject.rfc4514_string()}")
    typer.echo(f"issuer:       {cert.issuer.rfc4514_string()}")
    typer.echo(f"serial:       {cert.serial_number:x}")
    typer.echo(f"not before:   {cert.not_valid_before_utc.isoformat()}")
    typer.echo(f"not after:    {cert.not_valid_after_utc.isoformat()}")
    typer.echo(f"key type:     {key_type_text}")
    typer.echo(f"alt names:    {', '.join(str(n.value) for n in names)}")
    typer.echo(f"sha256:       {cert.fingerprint(hashes.SHA256()).hex()}")
    typer.echo(f"status:       {status}")
    typer.echo(f"certificate:  {ca.participant_dir(participant) / 'cert.pem'}")
    typer.echo(
        f"private key:  {key_path}"
        if key_path.is_file()
        else "private key:  not held here (certificate signing request)"
    )
