"""Why a retrieval failed, in one line a person can act on (CLI in English, demo pages in German).

The client raises the typed errors of :mod:`noots.errors`. Errors it detects itself while
checking an answer carry its own participant id as ``component``; errors another party reported
(its SAK, the Vermittlungsstelle, a register) carry theirs. That is how the explanation tells
"your SAK refused you" apart from "the answer you got does not answer your request". A code
outside ``EDM:ERR:0001…0008`` (:class:`~noots.consumers.UnlistedCodeError`) is shown as it came.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from noots.consumers._retry import TransportFailed
from noots.consumers._sak import UnlistedCodeError
from noots.errors import (
    AuthenticationError,
    AuthorisationError,
    AuthorisationRefused,
    ConfigurationError,
    EvidencePending,
    InvalidIdnr,
    InvalidInput,
    NootsError,
    NotFound,
    TokenError,
    UnresolvedReference,
    UnsupportedCapability,
    UpstreamTimeout,
)

__all__ = ["ExchangeContext", "Explanation", "explain"]

Language = Literal["en", "de"]


@dataclass(frozen=True)
class ExchangeContext:
    """What the caller asked for, so the explanation can name it."""

    consumer: str
    evidence_type: str
    purpose: str
    provider: str | None = None
    by_idnr: bool = False


@dataclass(frozen=True)
class Explanation:
    """``code``: the EDM code; ``cause``: the likely cause; ``fix``: what to do about it."""

    code: str
    cause: str
    fix: str

    def line(self) -> str:
        return f"{self.cause} — {self.fix}"


def explain(
    error: NootsError, context: ExchangeContext, *, language: Language = "en"
) -> Explanation:
    """The likely cause of ``error`` and the fix, for the exchange described by ``context``."""
    cause, fix = (_german if language == "de" else _english)(error, context)
    code = error.reported_code if isinstance(error, UnlistedCodeError) else str(error.code)
    return Explanation(code, cause, fix)


def _own_check(error: NootsError, context: ExchangeContext) -> bool:
    return error.component == context.consumer


def _english(error: NootsError, c: ExchangeContext) -> tuple[str, str]:
    who = error.component or "the landscape"
    if isinstance(error, TransportFailed):
        return (
            f"no answer from {who}: the landscape is not running or not at the configured address",
            "start it with `noots up` (same --data-dir and topology) and try again",
        )
    if isinstance(error, UnlistedCodeError):
        return (
            f"{who} refused with error code {error.reported_code}, which is outside "
            f"EDM:ERR:0001…0008 (the national code list is not published): {error.detail or '-'}",
            "nothing was used; show the code to the person and ask the operator of "
            f"{who} what it means before trying again",
        )
    if isinstance(error, ConfigurationError):
        return (
            # Shown beside the error's own message: the cause does not repeat it.
            f"the landscape data for {c.consumer} is missing or unusable",
            "bootstrap the data dir with `noots up` once, or pass the right --data-dir",
        )
    if _own_check(error, c):
        return (
            "the answer does not answer this request (another request id, requester, provider, "
            "evidence type or person, or no valid XNachweis) and was discarded unused",
            "nothing was used; check your SAK and the register behind it, then retry",
        )
    if isinstance(error, AuthenticationError):
        return (
            f"{who} did not accept {c.consumer} (its certificate or signature, its access "
            "token, or the requester named in the 0101)",
            "act --as a registered participant whose certificate in the data dir's PKI is "
            "valid and not revoked, and name it as the requester",
        )
    if isinstance(error, AuthorisationRefused):
        return (
            f"the authorisation matrix has no row for {c.consumer} to fetch {c.evidence_type} "
            f"for the purpose {c.purpose!r}",
            "use the purpose of an authorised row (landscape.yaml, authorisations) or act --as "
            "a service that is authorised for this evidence",
        )
    if isinstance(error, TokenError):
        return (
            f"{who} refused the Vermittlungsstelle token (expired, or it does not match the "
            "request, partners or purpose)",
            "check that the clocks of the landscape agree and retry; a fresh token is fetched",
        )
    if isinstance(error, AuthorisationError):
        return (
            f"{who} says {c.consumer} may not fetch {c.evidence_type} for {c.purpose!r}",
            "act --as an authorised service or add the row to the authorisation matrix",
        )
    if isinstance(error, InvalidIdnr):
        return (f"the IDNr is not valid: {error.reason}", "check the 11 digits and the check digit")
    if isinstance(error, InvalidInput):
        return (
            f"{who} refused the request as invalid ({error.message})",
            "check the person data or IDNr and the evidence type",
        )
    if isinstance(error, NotFound):
        if c.by_idnr:
            return (
                "no unique person found for this IDNr and these basic data (unknown, ambiguous "
                "or blocked: these look alike on purpose)",
                "check the IDNr and that names and date of birth are the same person's",
            )
        return (
            "no unique person found for these basic data (unknown, ambiguous or blocked: these "
            "look alike on purpose)",
            "check names and date of birth (add the place of birth), or pass --idnr",
        )
    if isinstance(error, EvidencePending):
        return (
            f"{who} announced the evidence for {error.available_at.isoformat()} "
            f"(request urn:uuid:{error.request_id}); it is not ready yet",
            "ask again after that time, or wait for it (noots fetch waits up to 2 minutes)",
        )
    if isinstance(error, UpstreamTimeout):
        return (
            f"{who} did not deliver in time (or the announced evidence was not ready within the "
            "wait bound)",
            "try again later; `noots status` shows whether the register is up",
        )
    if isinstance(error, UnresolvedReference):
        return (
            f"no register provides {c.evidence_type} for this region ({error.message})",
            "check --evidence and --region against the RDN (`noots rdn` or landscape.yaml)",
        )
    if isinstance(error, UnsupportedCapability):
        return (
            f"{c.evidence_type} is not offered here ({error.message})",
            "use an evidence type listed in landscape.yaml (evidence_types)",
        )
    return (
        f"{who} failed while answering ({error.message}); a register may be down",
        "check `noots status` and the component's log, then retry",
    )


def _german(error: NootsError, c: ExchangeContext) -> tuple[str, str]:
    if isinstance(error, TransportFailed | ConfigurationError):
        return (
            "Der Nachweisabruf ist im Moment technisch nicht erreichbar.",
            "Bitte versuchen Sie es später noch einmal.",
        )
    if isinstance(error, UnlistedCodeError):
        return (
            f"Der Nachweis wurde nicht übermittelt (Fehlercode {error.reported_code}).",
            "Bitte reichen Sie den Nachweis selbst ein oder versuchen Sie es später noch einmal.",
        )
    if _own_check(error, c):
        return (
            "Die Antwort des Registers passte nicht zu unserer Anfrage. Wir haben sie verworfen "
            "und keine Daten daraus verwendet.",
            "Bitte versuchen Sie es später noch einmal oder reichen Sie den Nachweis selbst ein.",
        )
    if isinstance(error, AuthenticationError):
        return (
            "Unser Online-Dienst konnte sich gegenüber seinem Anschlussknoten nicht ausweisen.",
            "Das ist ein Fehler auf unserer Seite. Bitte reichen Sie den Nachweis selbst ein.",
        )
    if isinstance(error, AuthorisationError):
        return (
            "Dieser Online-Dienst darf den Nachweis für diesen Zweck nicht abrufen.",
            "Bitte reichen Sie den Nachweis selbst ein.",
        )
    if isinstance(error, NotFound):
        return (
            "Zu Ihren Angaben wurde im Register kein passender Eintrag gefunden.",
            "Bitte prüfen Sie Ihre Angaben oder reichen Sie den Nachweis selbst ein.",
        )
    if isinstance(error, InvalidInput):
        return (
            "Die Anfrage an das Register war unvollständig oder fehlerhaft.",
            "Bitte prüfen Sie Ihre Angaben und versuchen Sie es erneut.",
        )
    if isinstance(error, EvidencePending):
        from noots.german import berlin_time

        return (
            "Das Register stellt den Nachweis erst später bereit (angekündigt für "
            f"{berlin_time(error.available_at)}).",
            "Bitte versuchen Sie es dann noch einmal oder reichen Sie den Nachweis selbst ein.",
        )
    if isinstance(error, UpstreamTimeout):
        return (
            "Das Register hat nicht rechtzeitig geantwortet.",
            "Bitte versuchen Sie es später noch einmal.",
        )
    if isinstance(error, UnresolvedReference | UnsupportedCapability):
        return (
            "Für Ihren Wohnort oder diesen Nachweis ist kein Register angeschlossen.",
            "Bitte reichen Sie den Nachweis selbst ein.",
        )
    return (
        "Beim Abruf des Nachweises ist ein Fehler aufgetreten.",
        "Bitte versuchen Sie es später noch einmal.",
    )
