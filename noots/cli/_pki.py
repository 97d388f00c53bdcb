"""``noots pki``: the simulated PKI on the command line (create, issue, revoke, list, show)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from noots.cli._app import app
from noots.pki import CertificateAuthority, KeyType, Role

pki_app = typer.Typer(help="The simulated NOOTS PKI: root CA, participant certificates, CRL.")
app.add_typer(pki_app, name="pki", no_args_is_help=True)

DirOption = Annotated[
    Path, typer.Option("--dir", "-d", help="PKI data directory (holds ca/ and participants/).")
]
ParticipantOption = Annotated[
    str, typer.Option("--participant", "-p", help="Participant id, e.g. 08118079-BPA-87.")
]
KeyTypeOption = Annotated[KeyType, typer.Option("--key-type", help="Key algorithm.")]


def _open(directory: Path) -> CertificateAuthority:
    from noots.clock import SystemClock

    try:
        return CertificateAuthority.open(directory, clock=SystemClock())
    except FileNotFoundError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None


@pki_app.command("init")
def init(
    directory: DirOption,
    key_type: KeyTypeOption = KeyType.RSA2048,
    days: Annotated[int, typer.Option(help="Validity of the root certificate.")] = 3650,
) -> None:
    """Create the root CA and an empty CRL in DIR."""
    from datetime import timedelta

    from noots.clock import SystemClock

    try:
        ca = CertificateAuthority.create(
            directory, clock=SystemClock(), key_type=key_type, validity=timedelta(days=days)
        )
    except FileExistsError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    typer.echo(f"root CA created: {ca.root_cert_path}")


@pki_app.command("issue")
def issue(
    directory: DirOption,
    participant: ParticipantOption,
    role: Annotated[Role, typer.Option("--role", "-r", help="The participant's role.")],
    key_type: KeyTypeOption = KeyType.RSA2048,
    days: Annotated[int, typer.Option(help="Validity of the certificate.")] = 365,
    name: Annotated[
        list[str] | None,
        typer.Option("--name", help="Extra subjectAltName (DNS name or IP); repeatable."),
    ] = None,
) -> None:
    """Issue (or re-issue, revoking the old one) a participant's certificate and key."""
    from datetime import timedelta

    ca = _open(directory)
    try:
        credential = ca.issue(
            participant,
            role,
            key_type=key_type,
            validity=timedelta(days=days),
            extra_names=name or (),
        )
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    typer.echo(
        f"issued {credential.participant_id} ({credential.role.value}), "
        f"serial {credential.serial:x}: {credential.cert_path}"
    )


@pki_app.command("revoke")
def revoke(directory: DirOption, participant: ParticipantOption) -> None:
    """Revoke every valid certificate of a participant and publish the CRL at once."""
    from noots.pki import UnknownParticipant

    ca = _open(directory)
    try:
        ca.revoke(participant)
    except (UnknownParticipant, ValueError) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    typer.echo(f"revoked {participant}; CRL updated: {ca.crl_path}")


@pki_app.command("list")
def list_(directory: DirOption) -> None:
    """Every certificate the CA has issued."""
    from rich.console import Console
    from rich.table import Table

    ca = _open(directory)
    table = Table(title=f"certificates issued by {directory}")
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
    Console().print(table)


@pki_app.command("show")
def show(directory: DirOption, participant: ParticipantOption) -> None:
    """A participant's current certificate: subject, serial, validity, names, key and status."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    from noots.pki import UnknownParticipant

    ca = _open(directory)
    try:
        credential = ca.credential(participant)
    except (UnknownParticipant, ValueError) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    cert = credential.certificate
    status = next((r.status for r in ca.records() if r.serial == cert.serial_number), "unknown")
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    typer.echo(f"participant:  {credential.participant_id}")
    typer.echo(f"role:         {credential.role.value}")
    typer.echo(f"subject:      {cert.subject.rfc4514_string()}")
    typer.echo(f"issuer:       {cert.issuer.rfc4514_string()}")
    typer.echo(f"serial:       {cert.serial_number:x}")
    typer.echo(f"not before:   {cert.not_valid_before_utc.isoformat()}")
    typer.echo(f"not after:    {cert.not_valid_after_utc.isoformat()}")
    typer.echo(f"key type:     {credential.key_type.value}")
    typer.echo(f"alt names:    {', '.join(str(n.value) for n in names)}")
    typer.echo(f"sha256:       {cert.fingerprint(hashes.SHA256()).hex()}")
    typer.echo(f"status:       {status}")
    typer.echo(f"certificate:  {credential.cert_path}")
    typer.echo(f"private key:  {credential.key_path}")
