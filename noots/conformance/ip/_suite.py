"""The IP conformance suite: an Intermediäre Plattform's EU-facing side against IP-01 … IP-10.

The suite plays a member state's eDelivery gateway and evidence requester (use case 3): it
sends signed ebMS3 user messages with EDM ``QueryRequest``s to the IP's access point
(``POST {target}/as4``), valid ones and every way :mod:`noots.conformance.eu_requests` spoils
them, reads each answer as a member state would (signature and certificate of the IP's access
point, ebMS header, EDM structure) and grades it. Whether a refused request reached a German
register anyway is read from the registers' protocol logs (a :data:`Witness`); without one
those checks are skipped, saying so.

The preview (IP-04) is decided on the IP's preview page as a person would: the suite posts
its form (``decision=approve|decline``, ``eid=yes``), as noots' IP serves it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from noots.clock import Clock
from noots.conformance.attacks import find_personal_data
from noots.conformance.catalogue import condition
from noots.conformance.eu_requests import (
    UNKNOWN_EVIDENCE_TYPE,
    Crafted,
    EuParties,
    EuRequestFactory,
    edm_evidence_type,
    ip_parties,
    person_of,
)
from noots.conformance.i18n import _
from noots.conformance.report import Check, Report, Section, Status, excerpt
from noots.errors import EdmCode, NootsError, UpstreamError
from noots.eu import ebms, edm
from noots.eu.edm import EdmEvidenceType, EdmNaturalPerson, QueryErrorResponse, QueryResponse
from noots.participant import load_validator
from noots.pki import Role
from noots.signing import XmlVerifier
from noots.synthetic.identities import BEHAVIOUR_IDENTITIES, Behaviour
from noots.topology import Topology
from noots.xml import parse

__all__ = [
    "AS4_PATH",
    "IpTarget",
    "Witness",
    "default_ip_target",
    "landscape_witness",
    "protocol_witness",
    "run_ip_suite",
]

#: Where a simulated access point takes messages (noots.intermediary.eu.gateway.AS4_PATH).
AS4_PATH = "/as4"
#: How many requests of the member state's authority the German registers have answered so
#: far (their protocol entries): the suite compares it before and after each probe.
Witness = Callable[[], Awaitable[int]]
Timer = Callable[[], float]
_GATEWAY_ROLES = frozenset({Role.SIMULATOR, Role.PLATFORM})
_LOOPBACK = ("http://127.0.0.1", "http://localhost", "http://[::1]")


@dataclass(frozen=True)
class IpTarget:
    """The IP's access point under test (``url``: its base, messages go to ``url/as4``), who
    is who (:class:`EuParties`), and whom the requests are about."""

    url: str
    parties: EuParties
    evidence_type: EdmEvidenceType
    subject: EdmNaturalPerson
    unknown: EdmNaturalPerson
    time_budget: float = 30.0

    @property
    def inbox(self) -> str:
        return self.url.rstrip("/") + AS4_PATH


def _person(behaviour: Behaviour) -> EdmNaturalPerson:
    found = next(i for i in BEHAVIOUR_IDENTITIES if i.behaviour is behaviour)
    return EdmNaturalPerson(found.family_name, found.given_names.split()[0], found.date_of_birth)


def default_ip_target(
    topology: Topology,
    url: str | None = None,
    *,
    evidence: str = "Geburtsurkunde",
    tls: bool = False,
    subject: EdmNaturalPerson | None = None,
    unknown: EdmNaturalPerson | None = None,
) -> IpTarget:
    """The landscape's IP (its access point as the member states reach it, unless ``url``),
    asked for ``evidence`` about the normal-case test identity; the not-found identity is the
    unknown person."""
    parties = ip_parties(topology)
    ip = topology.intermediary_platform
    assert ip is not None  # ip_parties checked it
    return IpTarget(
        url or topology.base_url(ip.participant_id, tls=tls) + "/ip/v1",
        parties,
        edm_evidence_type(topology, evidence),
        subject or _person(Behaviour.NORMAL),
        unknown or _person(Behaviour.NOT_FOUND),
    )


def protocol_witness(
    logs: Sequence[tuple[str, Any]], authority_id: str, *, clock: Clock
) -> Witness:
    """A :data:`Witness` reading the protocol logs ``(party, target)`` (a SQLite path or a
    database URL, :meth:`~noots.settings.NootsSettings.protocol_log_target`): the entries of
    those parties whose receiver is the authority ``authority_id`` (logged as
    ``<EAS code>:<identifier>``)."""
    from noots.protocol import open_protocol_log

    def count() -> int:
        total = 0
        for party, target in logs:
            if isinstance(target, Path) and not target.is_file():
                continue
            log = open_protocol_log(target, party=party, clock=clock)
            try:
                total += sum(
                    1
                    for entry in log.entries()
                    if entry.party == party and entry.consumer.endswith(":" + authority_id)
                )
            finally:
                log.close()
        return total

    async def witness() -> int:
        return await asyncio.to_thread(count)

    return witness


@dataclass
class _Sent:
    """One message sent and what came back, read as the member state reads it."""

    name: str
    crafted: Crafted
    status: int | None
    body: bytes
    seconds: float
    error: str | None = None
    answer: ebms.UserMessage | None = None
    document: edm.EdmMessage | None = None
    unreadable: str | None = None

    @property
    def evidence(self) -> bool:
        return isinstance(self.document, QueryResponse) and bool(self.document.evidences)

    @property
    def exception(self) -> QueryErrorResponse | None:
        return self.document if isinstance(self.document, QueryErrorResponse) else None

    def describe(self) -> str:
        if self.error is not None:
            return _(f"keine Antwort: {self.error}", f"no answer: {self.error}")
        if self.document is None:
            why = f" ({self.unreadable})" if self.unreadable else ""
            text = self.body[:160].decode("utf-8", "replace").strip()
            return f"HTTP {self.status}{why}: {text}"
        if isinstance(self.document, QueryErrorResponse):
            error = self.document.error
            kind = error.exception_type[1] if error.exception_type else "?"
            preview = " PreviewRequired" if error.preview_required else ""
            return f"HTTP {self.status}: rs:Exception {error.code.value} ({kind}){preview}"
        if isinstance(self.document, QueryResponse):
            if self.document.available_at is not None:
                return f"HTTP {self.status}: QueryResponse Unavailable"
            count = len(self.document.evidences)
            return _(
                f"HTTP {self.status}: QueryResponse mit {count} Nachweis(en)",
                f"HTTP {self.status}: QueryResponse with {count} evidence(s)",
            )
        return f"HTTP {self.status}: {type(self.document).__name__}"


@dataclass
class _Run:
    target: IpTarget
    factory: EuRequestFactory
    verifier: XmlVerifier
    http: httpx.AsyncClient
    witness: Witness | None
    timer: Timer
    progress: Callable[[str], None]
    #: Every refusal and preview request of the run (IP-10 reads them all).
    refusals: list[_Sent] = field(default_factory=list)
    reached: bool = False

    # -- sending and reading --------------------------------------------------------------

    async def send(self, name: str, crafted: Crafted) -> _Sent:
        started = self.timer()
        try:
            response = await self.http.post(
                self.target.inbox,
                content=crafted.raw,
                headers={"content-type": "application/soap+xml"},
                timeout=self.target.time_budget,
            )
        except httpx.HTTPError as exc:
            if not self.reached:
                raise UpstreamError(
                    f"the IP's access point at {self.target.inbox} does not answer: "
                    f"{type(exc).__name__}"
                ) from None
            return _Sent(name, crafted, None, b"", self.timer() - started, type(exc).__name__)
        self.reached = True
        sent = _Sent(name, crafted, response.status_code, response.content, self.timer() - started)
        if response.status_code == 200 and response.content.lstrip().startswith(b"<"):
            self._read(sent)
        return sent

    def _read(self, sent: _Sent) -> None:
        try:
            opened = ebms.open_user_message(
                sent.body, self.verifier, required_role=_GATEWAY_ROLES
            ).message
            sent.answer = opened
            sent.document = edm.parse(parse(opened.edm_document), opened.attachments)
        except NootsError as exc:
            sent.unreadable = f"{type(exc).__name__}: {exc.message}"

    async def count(self) -> int | None:
        return None if self.witness is None else await self.witness()

    def query(self, **options: Any) -> Any:
        return self.factory.query(self.target.evidence_type, self.target.subject, **options)

    def craft(self, variant: str, **options: Any) -> Crafted:
        return self.factory.craft(variant, self.query(**options))

    # -- grading ----------------------------------------------------------------------------

    def check(
        self,
        name: str,
        sent: _Sent | None,
        problems: list[str],
        expected: str,
        hint: str,
        *,
        actual: str | None = None,
    ) -> Check:
        return Check(
            name,
            Status.FAILED if problems else Status.PASSED,
            expected=expected,
            actual="; ".join(problems) or actual or (sent.describe() if sent else ""),
            request=excerpt(sent.crafted.raw, 1000) if sent else "",
            response=excerpt(sent.body, 1500) if sent else "",
            hint=hint if problems else "",
            seconds=sent.seconds if sent else 0.0,
        )

    def header_problems(self, sent: _Sent, action: str) -> list[str]:
        """The answer's ebMS header against the request's (read as the member state)."""
        answer, request = sent.answer, sent.crafted.message
        if answer is None:
            return [
                _(
                    f"keine verifizierbare eDelivery-Antwort: {sent.describe()}",
                    f"no verifiable eDelivery answer: {sent.describe()}",
                )
            ]
        problems = []
        parties = self.target.parties
        if answer.from_party != parties.access_point:
            problems.append(
                _(
                    f"From {answer.from_party}, erwartet {parties.access_point}",
                    f"From {answer.from_party}, expected {parties.access_point}",
                )
            )
        if answer.to_party != request.from_party:
            problems.append(
                _(
                    f"To {answer.to_party}, erwartet {request.from_party}",
                    f"To {answer.to_party}, expected {request.from_party}",
                )
            )
        if answer.action != action:
            problems.append(
                _(
                    f"Action {answer.action}, erwartet {action}",
                    f"action {answer.action}, expected {action}",
                )
            )
        if answer.ref_to_message_id != request.message_id:
            problems.append(
                _(
                    "RefToMessageId nennt nicht die MessageId der Anfrage",
                    "RefToMessageId does not name the request's MessageId",
                )
            )
        if answer.conversation_id != request.conversation_id:
            problems.append(
                _(
                    "andere ConversationId als die Anfrage",
                    "another ConversationId than the request",
                )
            )
        if (
            answer.original_sender != request.final_recipient
            or answer.final_recipient != request.original_sender
        ):
            problems.append(
                _(
                    "originalSender/finalRecipient nicht die der Anfrage, getauscht",
                    "originalSender/finalRecipient are not the request's, swapped",
                )
            )
        document = sent.document
        if document is not None and getattr(document, "request_id", None) != (
            sent.crafted.query.request_id
        ):
            problems.append(
                _("requestId ist nicht die id der Anfrage", "requestId is not the request's id")
            )
        return problems

    def exception_problems(
        self, sent: _Sent, code: EdmCode, exception_type: str, *, preview: bool = False
    ) -> list[str]:
        error = sent.exception
        if error is None:
            return [
                _(
                    f"keine rs:Exception {code.value}: {sent.describe()}",
                    f"no rs:Exception {code.value}: {sent.describe()}",
                )
            ]
        problems = self.header_problems(sent, ebms.ACTION_EXCEPTION)
        if error.code != code:
            problems.append(
                _(
                    f"Code {error.code.value}, erwartet {code.value}",
                    f"code {error.code.value}, expected {code.value}",
                )
            )
        found = error.error.exception_type[1] if error.error.exception_type else "?"
        if found != exception_type:
            problems.append(
                _(
                    f"xsi:type rs:{found}, erwartet rs:{exception_type}",
                    f"xsi:type rs:{found}, expected rs:{exception_type}",
                )
            )
        if preview != error.error.preview_required:
            problems.append(
                _(
                    "Schweregrad PreviewRequired mit PreviewLocation erwartet",
                    "severity PreviewRequired with a PreviewLocation expected",
                )
                if preview
                else _(
                    "unerwartet PreviewRequired",
                    "unexpectedly PreviewRequired",
                )
            )
        return problems

    def refusal_problems(self, sent: _Sent) -> list[str]:
        """A clean refusal: answered, no crash, no evidence; an EDM exception (not a preview
        request) or an eDelivery-level refusal (HTTP 4xx)."""
        if sent.error is not None:
            return [_(f"keine Antwort: {sent.error}", f"no answer: {sent.error}")]
        if sent.evidence or b"RepositoryItemRef" in sent.body:
            return [_("Nachweis geliefert", "evidence delivered")]
        if sent.status is not None and 400 <= sent.status < 500:
            return []
        error = sent.exception
        if error is not None and not error.error.preview_required:
            return []
        if sent.status is not None and sent.status >= 500:
            return [
                _(
                    f"HTTP {sent.status}: ein Absturz, keine saubere Ablehnung",
                    f"HTTP {sent.status}: a crash, not a clean refusal",
                )
            ]
        return [_(f"nicht abgelehnt: {sent.describe()}", f"not refused: {sent.describe()}")]

    async def refused(
        self, name: str, crafted: Crafted, hint: str, *, repeat: bytes | None = None
    ) -> list[Check]:
        """Send ``crafted`` (after ``repeat``, the same bytes sent before) and grade a clean
        refusal and that no register was asked."""
        before = await self.count()
        sent = await self.send(name, crafted)
        self.refusals.append(sent)
        checks = [
            self.check(
                name,
                sent,
                self.refusal_problems(sent),
                _(
                    "eine saubere Ablehnung (rs:Exception oder HTTP 4xx), kein Nachweis",
                    "a clean refusal (rs:Exception or HTTP 4xx), no evidence",
                ),
                hint,
            )
        ]
        checks.append(await self.not_forwarded(name, before))
        return checks

    async def not_forwarded(self, name: str, before: int | None) -> Check:
        label = _(f"{name}: nichts an ein Register weitergegeben", f"{name}: nothing passed on")
        if before is None:
            return Check(
                label,
                Status.SKIPPED,
                expected=_("keine Übermittlung im Protokoll", "no transfer in the protocol"),
                actual=_(
                    "nicht geprüft: kein Protokoll eines Registers lesbar",
                    "not checked: no register's protocol readable",
                ),
            )
        after = await self.count()
        assert after is not None
        grew = after - before
        return Check(
            label,
            Status.FAILED if grew else Status.PASSED,
            expected=_("keine Übermittlung im Protokoll", "no transfer in the protocol"),
            actual=_(
                f"{grew} Übermittlung(en) an die Behörde protokolliert",
                f"{grew} transfer(s) to the authority logged",
            ),
            hint=_(
                "Eine abgelehnte Nachricht darf keine 0301 auslösen: erst prüfen, dann fragen.",
                "A refused message must not cause a 0301: check first, then ask.",
            )
            if grew
            else "",
        )

    def section(self, condition_id: str, checks: Sequence[Check]) -> Section:
        return Section.for_condition(condition(condition_id), checks)

    # -- the conditions ---------------------------------------------------------------------

    async def ip01(self) -> Section:
        hint = condition("IP-01").hint
        before = await self.count()
        sent = await self.send("valid", self.craft("valid"))
        checks = [
            self.check(
                _(
                    "Antwort signiert, an die Anfrage gebunden",
                    "answer signed, bound to the request",
                ),
                sent,
                self.header_problems(sent, ebms.ACTION_RESPONSE),
                _(
                    "ExecuteQueryResponse des Zugangspunkts der IP, RefToMessageId und "
                    "ConversationId der Anfrage",
                    "ExecuteQueryResponse of the IP's access point, RefToMessageId and "
                    "ConversationId of the request",
                ),
                hint,
            )
        ]
        problems: list[str] = []
        document = sent.document
        if not isinstance(document, QueryResponse) or not document.evidences:
            problems.append(
                _(f"kein Nachweis: {sent.describe()}", f"no evidence: {sent.describe()}")
            )
        else:
            wanted = self.target.evidence_type.classification
            for evidence in document.evidences:
                if evidence.classification != wanted:
                    problems.append(
                        _(
                            f"Nachweistyp {evidence.classification}, erwartet {wanted}",
                            f"evidence type {evidence.classification}, expected {wanted}",
                        )
                    )
                if not evidence.document:
                    problems.append(_("leeres Nachweisdokument", "empty evidence document"))
            if document.requester.identifier != self.target.parties.authority.identifier:
                problems.append(
                    _(
                        "EvidenceRequester der Antwort ist nicht der der Anfrage",
                        "the answer's EvidenceRequester is not the request's",
                    )
                )
        checks.append(
            self.check(
                _("QueryResponse mit dem Nachweis", "QueryResponse with the evidence"),
                sent,
                problems,
                _(
                    "Status Success, ein EvidenceProvider (EP), Nachweis des angefragten Typs "
                    "als RepositoryItemRef auf einen Payload-Teil",
                    "status Success, one EvidenceProvider (EP), evidence of the requested type "
                    "as RepositoryItemRef to a payload part",
                ),
                hint,
            )
        )
        if before is not None:
            after = await self.count()
            assert after is not None
            checks.append(
                Check(
                    _("das Register wurde gefragt", "the register was asked"),
                    Status.PASSED if after - before == 1 else Status.FAILED,
                    expected=_("eine Übermittlung im Protokoll", "one transfer in the protocol"),
                    actual=_(
                        f"{after - before} Übermittlung(en) protokolliert",
                        f"{after - before} transfer(s) logged",
                    ),
                    hint=_(
                        "Das Protokoll des Registers, das die Suite liest, zeigt die "
                        "Übermittlung nicht: prüfen Sie, welches Register die IP fragt.",
                        "The register protocol the suite reads does not show the transfer: "
                        "check which register the IP asks.",
                    )
                    if after - before != 1
                    else "",
                )
            )
        return self.section("IP-01", checks)

    async def ip02(self) -> Section:
        hint = condition("IP-02").hint
        before = await self.count()
        crafted = self.factory.craft(
            "valid", self.factory.query(UNKNOWN_EVIDENCE_TYPE, self.target.subject)
        )
        sent = await self.send("unknown_evidence_type", crafted)
        self.refusals.append(sent)
        checks = [
            self.check(
                _("unbekannter Nachweistyp", "unknown evidence type"),
                sent,
                self.exception_problems(
                    sent, EdmCode.UNSUPPORTED_CAPABILITY, "UnsupportedCapabilityExceptionType"
                ),
                "rs:UnsupportedCapabilityExceptionType EDM:ERR:0007",
                hint,
            ),
            await self.not_forwarded(_("unbekannter Nachweistyp", "unknown evidence type"), before),
        ]
        return self.section("IP-02", checks)

    async def ip03(self) -> Section:
        hint = condition("IP-03").hint
        crafted = self.factory.craft(
            "valid", self.factory.query(self.target.evidence_type, self.target.unknown)
        )
        sent = await self.send("unknown_person", crafted)
        self.refusals.append(sent)
        return self.section(
            "IP-03",
            [
                self.check(
                    _("unbekannte Person", "unknown person"),
                    sent,
                    self.exception_problems(sent, EdmCode.NOT_FOUND, "ObjectNotFoundExceptionType"),
                    "rs:ObjectNotFoundExceptionType EDM:ERR:0004",
                    hint,
                )
            ],
        )

    async def _preview_requested(self, name: str) -> tuple[str | None, Check]:
        hint = condition("IP-04").hint
        sent = await self.send(name, self.craft("valid", preview=True))
        self.refusals.append(sent)
        problems = self.exception_problems(
            sent, EdmCode.AUTHORISATION, "AuthorizationExceptionType", preview=True
        )
        location = sent.exception.error.preview_location if sent.exception else None
        if location is not None and not (
            location.startswith("https://") or location.startswith(_LOOPBACK)
        ):
            problems.append(
                _("PreviewLocation ist keine https-URL", "PreviewLocation is not an https URL")
            )
        check = self.check(
            _("Vorschau verlangt", "preview required"),
            sent,
            problems,
            _(
                "rs:AuthorizationExceptionType EDM:ERR:0002, Schweregrad PreviewRequired, "
                "PreviewLocation",
                "rs:AuthorizationExceptionType EDM:ERR:0002, severity PreviewRequired, "
                "PreviewLocation",
            ),
            hint,
        )
        return (location if not problems else None), check

    async def _decide(self, location: str, decision: str) -> Check:
        name = _(
            f"Entscheidung auf der Vorschauseite: {decision}",
            f"decision on the preview page: {decision}",
        )
        try:
            response = await self.http.post(
                location,
                data={"decision": decision, "eid": "yes"},
                timeout=self.target.time_budget,
            )
        except httpx.HTTPError as exc:
            return Check(
                name,
                Status.FAILED,
                expected=_("die Seite nimmt die Entscheidung an", "the page takes the decision"),
                actual=_(
                    f"keine Antwort: {type(exc).__name__}", f"no answer: {type(exc).__name__}"
                ),
            )
        ok = response.status_code < 400
        return Check(
            name,
            Status.PASSED if ok else Status.FAILED,
            expected=_("die Seite nimmt die Entscheidung an", "the page takes the decision"),
            actual=f"HTTP {response.status_code}",
            response=excerpt(response.content, 800),
            hint=""
            if ok
            else _(
                "Die Vorschauseite muss ein Formular mit decision=approve|decline und eid=yes "
                "annehmen (wie die Seite der noots-IP).",
                "The preview page must take a form with decision=approve|decline and eid=yes "
                "(as noots' IP's page does).",
            ),
        )

    async def ip04(self) -> Section:
        hint = condition("IP-04").hint
        skipped = _("nicht geprüft: keine PreviewLocation", "not checked: no PreviewLocation")
        location, asked = await self._preview_requested("preview")
        checks = [asked]
        names = (
            _("Vorschauseite erreichbar", "preview page reachable"),
            _("Wiederholung vor der Entscheidung", "repetition before the decision"),
            _(
                "Entscheidung auf der Vorschauseite: approve",
                "decision on the preview page: approve",
            ),
            _("Wiederholung nach der Zustimmung", "repetition after the approval"),
        )
        if location is None:
            checks.extend(Check(name, Status.SKIPPED, actual=skipped) for name in names)
        else:
            try:
                page = await self.http.get(location, timeout=self.target.time_budget)
                status: int | None = page.status_code
            except httpx.HTTPError:
                status = None
            checks.append(
                Check(
                    names[0],
                    Status.PASSED if status == 200 else Status.FAILED,
                    expected="HTTP 200",
                    actual=f"HTTP {status}",
                    hint="" if status == 200 else hint,
                )
            )
            again = await self.send(
                "preview_undecided", self.craft("valid", preview_location=location)
            )
            self.refusals.append(again)
            checks.append(
                self.check(
                    names[1],
                    again,
                    self.exception_problems(
                        again, EdmCode.AUTHORISATION, "AuthorizationExceptionType", preview=True
                    ),
                    _(
                        "wieder PreviewRequired, kein Nachweis",
                        "PreviewRequired again, no evidence",
                    ),
                    hint,
                )
            )
            checks.append(await self._decide(location, "approve"))
            after = await self.send(
                "preview_approved", self.craft("valid", preview_location=location)
            )
            problems = self.header_problems(after, ebms.ACTION_RESPONSE)
            if not after.evidence:
                problems.insert(
                    0, _(f"kein Nachweis: {after.describe()}", f"no evidence: {after.describe()}")
                )
            checks.append(
                self.check(
                    names[3],
                    after,
                    problems,
                    _("QueryResponse mit dem Nachweis", "QueryResponse with the evidence"),
                    hint,
                )
            )
        declined_at, asked_again = await self._preview_requested("preview_declined")
        checks.append(asked_again)
        declined_names = (
            _(
                "Entscheidung auf der Vorschauseite: decline",
                "decision on the preview page: decline",
            ),
            _("Wiederholung nach der Ablehnung", "repetition after the refusal"),
        )
        if declined_at is None:
            checks.extend(Check(name, Status.SKIPPED, actual=skipped) for name in declined_names)
        else:
            checks.append(await self._decide(declined_at, "decline"))
            refused = await self.send(
                "preview_refused", self.craft("valid", preview_location=declined_at)
            )
            self.refusals.append(refused)
            checks.append(
                self.check(
                    declined_names[1],
                    refused,
                    self.exception_problems(
                        refused, EdmCode.NOT_FOUND, "ObjectNotFoundExceptionType"
                    ),
                    "rs:ObjectNotFoundExceptionType EDM:ERR:0004",
                    hint,
                )
            )
        return self.section("IP-04", checks)

    async def probes(self, condition_id: str, variants: Sequence[str]) -> list[Check]:
        hint = condition(condition_id).hint
        checks: list[Check] = []
        for variant in variants:
            self.progress(f"{condition_id} {variant}")
            checks.extend(await self.refused(variant, self.craft(variant), hint))
        return checks

    async def ip05(self) -> Section:
        return self.section(
            "IP-05", await self.probes("IP-05", ("tampered", "unsigned", "untrusted_signer"))
        )

    async def ip06(self) -> Section:
        variants = ("wrong_signer", "wrong_recipient", "wrong_original_sender", "other_provider")
        return self.section("IP-06", await self.probes("IP-06", variants))

    async def ip07(self) -> Section:
        hint = condition("IP-07").hint
        crafted = self.craft("valid")
        first = await self.send("replay_first", crafted)
        checks = [
            self.check(
                _("erste Zustellung beantwortet", "first delivery answered"),
                first,
                []
                if first.evidence
                else [_(f"kein Nachweis: {first.describe()}", f"no evidence: {first.describe()}")],
                _("QueryResponse mit dem Nachweis", "QueryResponse with the evidence"),
                hint,
            )
        ]
        checks.extend(await self.refused("replay", crafted, hint))
        checks.extend(await self.probes("IP-07", ("stale", "future")))
        return self.section("IP-07", checks)

    async def ip08(self) -> Section:
        hint = condition("IP-08").hint
        checks = await self.probes("IP-08", ("doctype", "external_entity", "utf16", "oversize"))
        after = await self.send("still_answering", self.craft("valid"))
        checks.append(
            self.check(
                _("danach eine gültige Anfrage beantwortet", "a valid request answered afterwards"),
                after,
                []
                if after.evidence
                else [_(f"kein Nachweis: {after.describe()}", f"no evidence: {after.describe()}")],
                _("QueryResponse mit dem Nachweis", "QueryResponse with the evidence"),
                hint,
            )
        )
        return self.section("IP-08", checks)

    async def ip09(self) -> Section:
        hint = condition("IP-09").hint
        checks: list[Check] = []
        for variant in ("missing_slot", "wrong_slot_type"):
            self.progress(f"IP-09 {variant}")
            before = await self.count()
            sent = await self.send(variant, self.craft(variant))
            self.refusals.append(sent)
            checks.append(
                self.check(
                    variant,
                    sent,
                    self.exception_problems(
                        sent, EdmCode.INVALID_REQUEST, "InvalidRequestExceptionType"
                    ),
                    _(
                        "signierte rs:InvalidRequestExceptionType EDM:ERR:0003 für die "
                        "requestId der Anfrage",
                        "a signed rs:InvalidRequestExceptionType EDM:ERR:0003 for the "
                        "request's requestId",
                    ),
                    hint,
                )
            )
            checks.append(await self.not_forwarded(variant, before))
        return self.section("IP-09", checks)

    def ip10(self) -> Section:
        hint = condition("IP-10").hint
        people = [person_of(self.target.subject), person_of(self.target.unknown)]
        checks = []
        for sent in self.refusals:
            # Only what was an answer and no delivery (a delivery carries the person by
            # right; that it should have been a refusal is its own condition's failure).
            if sent.error is not None or sent.evidence:
                continue
            found = find_personal_data(sent.body, people)
            checks.append(
                self.check(
                    sent.name,
                    sent,
                    [
                        _(
                            f"personenbezogene Daten: {', '.join(found)}",
                            f"personal data: {', '.join(found)}",
                        )
                    ]
                    if found
                    else [],
                    _(
                        "weder Name noch Geburtsdatum der Person",
                        "neither the person's name nor date of birth",
                    ),
                    hint,
                    actual=_("keine personenbezogenen Daten", "no personal data"),
                )
            )
        return self.section("IP-10", checks)


def landscape_witness(
    topology: Topology,
    classification: str,
    authority_id: str,
    protocol_target: Callable[[str], Any],
    *,
    clock: Clock,
) -> Witness:
    """The :data:`Witness` of a landscape: the protocol logs of every register that provides
    the German evidence type of ``classification``, counting the transfers to the authority
    ``authority_id`` (``protocol_target``: party → where its log is, e.g.
    :meth:`~noots.settings.NootsSettings.protocol_log_target`)."""
    registers = [
        register.participant_id
        for register in topology.registers
        if any(
            topology.evidence_type(name).classification == classification
            for name in register.evidence_types
        )
    ]
    return protocol_witness(
        [(register, protocol_target(register)) for register in registers],
        authority_id,
        clock=clock,
    )


async def run_ip_suite(
    target: IpTarget,
    *,
    pki_dir: Path,
    clock: Clock,
    transport: httpx.AsyncBaseTransport | None = None,
    verify: Any = True,
    witness: Witness | None = None,
    timer: Timer = time.perf_counter,
    notes: Sequence[str] = (),
    on_progress: Callable[[str], None] | None = None,
) -> Report:
    """Grade the IP at ``target`` against IP-01 … IP-10 (see the module docstring). Raises
    :class:`UpstreamError` when its access point does not answer at all."""
    started = clock.now()
    progress = on_progress or (lambda _text: None)
    factory = EuRequestFactory(target.parties, pki_dir=pki_dir, clock=clock)
    verifier = XmlVerifier(load_validator(pki_dir, clock=clock))
    sections: list[Section] = []
    try:
        async with httpx.AsyncClient(
            transport=transport, verify=verify, trust_env=False, follow_redirects=False
        ) as http:
            run = _Run(target, factory, verifier, http, witness, timer, progress)
            for step in (run.ip01, run.ip02, run.ip03, run.ip04, run.ip05, run.ip06, run.ip07):
                progress(step.__name__.upper().replace("IP", "IP-"))
                sections.append(await step())
            progress("IP-08")
            sections.append(await run.ip08())
            progress("IP-09")
            sections.append(await run.ip09())
            sections.append(run.ip10())
    finally:
        factory.close()
    extra = [
        _(
            f"Die Suite sendet als {target.parties.gateway} für {target.parties.authority.name} "
            f"an {target.parties.access_point}",
            f"The suite sends as {target.parties.gateway} for {target.parties.authority.name} to "
            f"{target.parties.access_point}",
        )
    ]
    if witness is None:
        extra.append(
            _(
                "Ob abgelehnte Nachrichten ein Register erreichten, wurde nicht geprüft (kein "
                "Protokoll eines Registers lesbar).",
                "Whether refused messages reached a register was not checked (no register "
                "protocol readable).",
            )
        )
    return Report(
        "ip",
        _(
            "Konformität der Intermediären Plattform (EU-Seite)",
            "Intermediary Platform conformance (EU side)",
        ),
        target.url,
        started,
        clock.now(),
        tuple(sections),
        participant=target.parties.access_point,
        notes=(*notes, *extra),
    )
