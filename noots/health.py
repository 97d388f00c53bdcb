"""What a component's ``/health`` says about the certificates it works with.

A component whose own certificate is revoked or expired still answers, but nothing it signs or
presents is accepted any more: every online service that depends on it fails. Its ``/health``
must say so, not "healthy" (issue 17: the scenario suites revoked a demo service's certificate
and ``/health`` and ``noots status`` stayed green). :func:`certificate_problems` checks each of a
component's own certificates with the landscape's validator (trust anchor, validity, CRL, read
afresh when the CA publishes a new one) and names every one that fails, in German and English::

    problems = certificate_problems(validator, [("noots-vs", "Vermittlungsstelle", cert)])
    status = 503 if problems else 200
    body["problems"] = [p.text for p in problems]              # German / English
    body["certificates"] = [p.to_json() for p in problems]     # machine-readable
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from cryptography import x509

from noots.errors import (
    CertificateExpired,
    CertificateNotYetValid,
    CertificateRevoked,
    NootsError,
)
from noots.pki import CertificateValidator

__all__ = ["CertificateProblem", "certificate_problems", "problem_of"]

_REASONS = {
    # reason: (German, English)
    "revoked": ("gesperrt", "revoked"),
    "expired": ("abgelaufen", "expired"),
    "not-yet-valid": ("noch nicht gültig", "not yet valid"),
    "untrusted": ("nicht vertrauenswürdig", "not trusted"),
}


@dataclass(frozen=True)
class CertificateProblem:
    """One certificate of a component that does not pass validation now."""

    participant_id: str
    #: What the participant is, in German ("Vermittlungsstelle").
    title: str
    #: ``revoked``, ``expired``, ``not-yet-valid`` or ``untrusted``.
    reason: str
    #: The validator's own words (English).
    detail: str

    @property
    def german(self) -> str:
        return f"Zertifikat von {self.participant_id} ({self.title}) {_REASONS[self.reason][0]}"

    @property
    def english(self) -> str:
        return f"certificate of {self.participant_id} {_REASONS[self.reason][1]}: {self.detail}"

    @property
    def text(self) -> str:
        """Both languages in one line (German first)."""
        return f"{self.german} / {self.english}"

    def to_json(self) -> dict[str, Any]:
        return {
            "participant": self.participant_id,
            "reason": self.reason,
            "de": self.german,
            "en": self.english,
        }


def _reason(error: NootsError) -> str:
    if isinstance(error, CertificateRevoked):
        return "revoked"
    if isinstance(error, CertificateExpired):
        return "expired"
    if isinstance(error, CertificateNotYetValid):
        return "not-yet-valid"
    return "untrusted"


def problem_of(participant_id: str, title: str, error: NootsError) -> CertificateProblem:
    """The problem a validation ``error`` of ``participant_id``'s certificate means."""
    return CertificateProblem(participant_id, title, _reason(error), error.message)


def certificate_problems(
    validator: CertificateValidator,
    certificates: Iterable[tuple[str, str, x509.Certificate]],
) -> list[CertificateProblem]:
    """The problem of each ``(participant id, German title, certificate)`` that fails
    validation now; empty when all are valid."""
    problems = []
    for participant_id, title, certificate in certificates:
        try:
            validator.validate(certificate)
        except NootsError as error:
            problems.append(problem_of(participant_id, title, error))
    return problems
