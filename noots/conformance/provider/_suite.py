"""The provider conformance suite: real requests to someone else's register, graded per
connection condition DP-01 … DP-15.

The suite acts as a data consumer of the simulator's landscape (it signs with a consumer
credential of the PKI and seals tokens as its VS) and talks to the register directly, without a
hub in between, so every check sees the register's own answer. The probes:

=====  ======================================================================================
DP-01  a valid request (0102 with evidence) and an unknown person (0103), schema-checked
DP-02  unsigned, tampered after signing, signed by another consumer (J's attack registry)
DP-03  revoked, expired, not yet valid, from a foreign CA
DP-04  no token, expired, sealed by the consumer, for another request / consumer / provider /
       person, another purpose in the envelope
DP-05  an IDNr with a wrong check digit
DP-06  an unknown person, an ambiguous one
DP-07  an information block compared with an unknown person, field by field
DP-08  request id echoed, fresh UUIDs, times in UTC with zone
DP-09  every answer signed by the target (role provider) and bound to its request
DP-10  the same bytes twice, an envelope an hour old, one an hour in the future
DP-11  entities, external DTDs, UTF-16, oversize, deep nesting, too many nodes, signature
       wrapping; then a valid request must still be answered
DP-12  the register's protocol log, when the suite can read it (``--protocol-log``)
DP-13  answer time of the valid request; an asynchronous subject is collected when announced
DP-14  an evidence type the register does not provide
DP-15  ``GET /health``
=====  ======================================================================================
"""

from __future__ import annotations

import asyncio
import re
import ssl
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from lxml import etree

from noots.clock import Clock, parse_utc
from noots.conformance import Check, Report, Section, Status, condition, excerpt
from noots.conformance.answers import (
    Exchange,
    official_validator,
    read_answer,
    time_zone_problems,
)
from noots.conformance.attacks import ATTACKS, AttackKit, personal_data
from noots.conformance.credentials import SuiteCredentials, prepare_credentials
from noots.conformance.requests import RequestFactory, SignedRequest
from noots.errors import EdmCode, NootsError, UpstreamError, XmlError
from noots.messages import EvidenceResponse, NaturalPerson, Subject
from noots.participant import load_validator
from noots.protocol import open_protocol_log_read_only
from noots.signing import XmlVerifier
from noots.topology import Topology
from noots.xml import parse as parse_xml

__all__ = ["ProviderTarget", "run_provider_suite"]

Sleep = Callable[[float], Awaitable[None]]

_GROUPS: dict[str, tuple[str, ...]] = {
    "DP-02": ("unsigned", "tampered_after_signing", "certificate_of_another_participant"),
    "DP-03": ("untrusted_certificate", "revoked_sender"),
    "DP-04": (
        "no_token",
        "token_expired",
        "token_sealed_by_consumer",
        "token_for_another_request",
        "token_of_another_consumer",
        "idnr_of_another_person",
    ),
    "DP-10": ("replay", "stale_envelope"),
    "DP-11": (
        "xxe_external_entity",
        "billion_laughs",
        "xxe_utf16",
        "billion_laughs_utf16",
        "external_dtd",
        "parameter_entity",
        "oversize",
        "deep_nesting",
        "very_deep_nesting",
        "too_many_elements",
        "moved_signed_body",
        "duplicated_body",
        "wrapped_in_unknown_element",
        "signature_in_object",
        "duplicate_id_reference",
        "header_only_signature",
        "two_signatures",
    ),
}


@dataclass(frozen=True)
class ProviderTarget:
    """The register under test and the subjects the suite asks about.

    ``subject`` must be a person (or company) the register holds evidence for; ``unknown`` one
    it does not know; ``blocked`` one with an information block (DP-07); ``ambiguous`` one
    that matches several entries; ``async_subject`` one the register answers asynchronously.
    """

    url: str
    participant: str
    evidence_type: str
    consumer: str
    subject: Subject
    unknown: Subject
    blocked: NaturalPerson | None = None
    ambiguous: Subject | None = None
    async_subject: NaturalPerson | None = None
    other_subject: NaturalPerson | None = None
    other_consumer: str | None = None
    protocol_log: str | None = None
    time_budget: float = 10.0
    max_wait: float = 30.0

    @property
    def endpoint(self) -> str:
        url = self.url.rstrip("/")
        return url if url.endswith("/evidence/v1") else f"{url}/evidence/v1"

    @property
    def base_url(self) -> str:
        return self.endpoint.removesuffix("/evidence/v1")


@dataclass
class _Run:
    """State of one run: who we are, how we send, what came back."""

    target: ProviderTarget
    topology: Topology
    factory: RequestFactory
    verifier: XmlVerifier
    http: httpx.AsyncClient
    clock: Clock
    exchanges: dict[str, Exchange] = field(default_factory=dict)
    requests: dict[str, SignedRequest] = field(default_factory=dict)

    async def send(self, name: str, raw: bytes) -> Exchange:
        started = time.perf_counter()
        hard_limit = max(3 * self.target.time_budget, self.target.time_budget + 5)
        try:
            response = await self.http.post(
                self.target.endpoint,
                content=raw,
                headers={"Content-Type": "application/xml"},
                timeout=hard_limit,
            )
        except httpx.HTTPError as exc:
            exchange = Exchange(
                name,
                raw,
                None,
                b"",
                time.perf_counter() - started,
                read_answer(b"", raw, verifier=self.verifier, participant=self.target.participant),
                transport_error=f"{type(exc).__name__}: {exc}".strip(": "),
            )
        else:
            seconds = time.perf_counter() - started
            answer = read_answer(
                response.content,
                raw,
                verifier=self.verifier,
                participant=self.target.participant,
            )
            exchange = Exchange(name, raw, response.status_code, response.content, seconds, answer)
        self.exchanges[name] = exchange
        return exchange

    async def signed(self, name: str, subject: Subject | None = None, **options: Any) -> Exchange:
        signed = self.factory.signed(
            consumer=self.target.consumer,
            provider=self.target.participant,
            evidence_type=options.pop("evidence_type", self.target.evidence_type),
            subject=subject if subject is not None else self.target.subject,
            **options,
        )
        self.requests[name] = signed
        return await self.send(name, signed.raw)


# -- grading helpers -------------------------------------------------------------------------


def _check(
    name: str,
    ok: bool,
    *,
    expected: str,
    actual: str,
    exchange: Exchange | None = None,
    hint: str = "",
) -> Check:
    return Check(
        name,
        Status.PASSED if ok else Status.FAILED,
        expected=expected,
        actual=actual,
        request=excerpt(exchange.raw, 1200) if exchange else "",
        response=excerpt(exchange.body, 1500) if exchange else "",
        hint="" if ok else hint,
        seconds=exchange.seconds if exchange else 0.0,
    )


def _skip(name: str, why: str, hint: str = "") -> Check:
    return Check(name, Status.SKIPPED, expected="", actual=why, hint=hint)


def _readable_text(exchange: Exchange) -> str:
    """What a person could read in the answer: the message's texts and attribute values.

    Base64 (signature values, certificates) is left out: a three-letter given name turns up
    in it by chance and would make the check flaky.
    """
    source = exchange.answer.body_xml or exchange.body
    try:
        root = parse_xml(source)
    except XmlError:
        return exchange.body.decode("utf-8", errors="replace")
    parts: list[str] = []
    stack = [root]
    while stack:
        element = stack.pop()
        if not isinstance(element.tag, str) or etree.QName(element).localname == "Signature":
            continue
        parts.extend(str(value) for value in element.attrib.values())
        if element.text:
            parts.append(element.text)
        stack.extend(element)
    return "\n".join(parts)


def _leaks(exchange: Exchange, subjects: Iterable[Subject]) -> list[str]:
    text = _readable_text(exchange)
    return [
        marker
        for marker in personal_data(subjects)
        if re.search(rf"(?<!\w){re.escape(marker)}(?!\w)", text)
    ]


def _refusal(
    name: str,
    exchange: Exchange,
    code: EdmCode,
    subjects: Sequence[Subject],
    hint: str,
) -> Check:
    """A refusal with ``code`` that carries no evidence and no personal data."""
    answer = exchange.answer
    leaks = _leaks(exchange, subjects)
    ok = answer.is_error and answer.code == code.value and not answer.has_evidence and not leaks
    actual = exchange.describe()
    if leaks:
        actual += f"; personal data in the answer: {', '.join(leaks)}"
    return _check(
        name,
        ok,
        expected=f"0103 {code.value} ({code.title}), no evidence, no personal data",
        actual=actual,
        exchange=exchange,
        hint=hint,
    )


def _schema_errors(body_xml: bytes) -> list[str] | None:
    validate = official_validator()
    if validate is None or not body_xml:
        return None
    return validate(body_xml)


# -- the suite -------------------------------------------------------------------------------


async def run_provider_suite(
    target: ProviderTarget,
    *,
    topology: Topology,
    pki_dir: Path,
    clock: Clock,
    transport: httpx.AsyncBaseTransport | None = None,
    sleep: Sleep = asyncio.sleep,
    notes: Sequence[str] = (),
    on_progress: Callable[[str], None] | None = None,
    credentials: SuiteCredentials | None = None,
    tls: ssl.SSLContext | None = None,
) -> Report:
    """Run every probe against ``target`` and grade the answers (see the module docstring).

    ``transport`` replaces the network (tests wire in-process registers); ``sleep`` waits for
    an announced asynchronous answer; ``credentials`` reuses the certificates of an earlier
    run (:func:`prepare_credentials`); ``tls`` is the client side of mutual TLS for an https
    register (:func:`platform_tls`). Raises :class:`UpstreamError` when the target does not
    answer at all.
    """
    started = clock.now()
    progress = on_progress or (lambda _text: None)
    credentials = credentials or prepare_credentials(
        pki_dir,
        participant=target.participant,
        consumer=target.consumer,
        vs_id=topology.platform.vs_id,
        clock=clock,
        crl_url=topology.base_url("platform") + "/pki/v1/crl",
    )
    factory = RequestFactory.from_pki_dir(pki_dir, topology, clock=clock)
    verifier = XmlVerifier(load_validator(pki_dir, clock=clock))
    verify: ssl.SSLContext | bool = tls if tls is not None else True
    async with httpx.AsyncClient(transport=transport, trust_env=False, verify=verify) as http:
        run = _Run(target, topology, factory, verifier, http, clock)
        kit = AttackKit(
            factory,
            consumer=target.consumer,
            provider=target.participant,
            evidence_type=target.evidence_type,
            subject=target.subject,
            other_subject=target.other_subject,
            other_consumer=target.other_consumer,
            revoked_signer=credentials.revoked,
            untrusted_signer=credentials.untrusted,
        )
        health = await _dp15(run, progress)
        progress("DP-01 valid request")
        valid = await run.signed("valid request")
        if valid.transport_error is not None and health.status is Status.FAILED:
            raise UpstreamError(
                f"{target.endpoint} does not answer ({valid.transport_error}): is the register "
                "running and the URL right?"
            )
        sections = [health, *(await _main_probes(run, kit, valid, credentials, progress))]
        sections.append(await _dp13(run, sleep, progress))
        sections.append(_dp12(run))
    order = {f"DP-{i:02d}": i for i in range(1, 16)}
    sections.sort(key=lambda s: order[s.id])
    return Report(
        "provider",
        f"Provider conformance of {target.participant}",
        target.endpoint,
        started,
        clock.now(),
        tuple(sections),
        participant=target.participant,
        notes=(*credentials.instructions, *notes),
    )


async def _dp15(run: _Run, progress: Callable[[str], None]) -> Section:
    progress("DP-15 health")
    url = run.target.base_url + "/health"
    started = time.perf_counter()
    try:
        response = await run.http.get(url, timeout=run.target.time_budget)
    except httpx.HTTPError as exc:
        check = Check(
            "GET /health",
            Status.FAILED,
            "200 (healthy) or 503 (degraded) with a JSON body",
            f"no answer: {type(exc).__name__}",
            request=f"GET {url}",
            hint="Serve /health on the register's base URL.",
            seconds=time.perf_counter() - started,
        )
        return Section.for_condition(condition("DP-15"), [check])
    try:
        response.json()
        is_json = True
    except ValueError:
        is_json = False
    ok = response.status_code in (200, 503) and is_json
    state = {200: "healthy", 503: "degraded"}.get(response.status_code, "unexpected status")
    check = Check(
        "GET /health",
        Status.PASSED if ok else Status.FAILED,
        "200 (healthy) or 503 (degraded) with a JSON body",
        f"HTTP {response.status_code} ({state}){'' if is_json else ', body is not JSON'}",
        request=f"GET {url}",
        response=excerpt(response.content, 600),
        hint="" if ok else "Answer GET /health with 200 and a JSON body when healthy.",
        seconds=time.perf_counter() - started,
    )
    return Section.for_condition(condition("DP-15"), [check])


def _invalid_idnr(subject: NaturalPerson) -> NaturalPerson:
    assert subject.idnr is not None
    last = subject.idnr[-1]
    return NaturalPerson(
        subject.family_name,
        subject.given_name,
        subject.date_of_birth,
        subject.idnr[:-1] + str((int(last) + 1) % 10),
    )


def _other_type(run: _Run) -> str | None:
    """An evidence type of the landscape the target does not provide (same subject kind if
    possible)."""
    own = run.topology.evidence_type(run.target.evidence_type)
    provided: set[str] = {run.target.evidence_type}
    for register in run.topology.registers:
        if register.participant_id == run.target.participant:
            provided = set(register.evidence_types)
    others = [t for t in run.topology.evidence_types if t.name not in provided]
    same_kind = [t for t in others if t.subject == own.subject]
    chosen = (same_kind or others)[:1]
    return chosen[0].name if chosen else None


def _other_provider(run: _Run) -> str:
    for register in run.topology.registers:
        if register.participant_id != run.target.participant:
            return register.participant_id
    return "000-00000NONE-00"


async def _main_probes(
    run: _Run,
    kit: AttackKit,
    valid: Exchange,
    credentials: SuiteCredentials,
    progress: Callable[[str], None],
) -> list[Section]:
    target = run.target
    everyone: list[Subject] = [target.subject, kit.forged_subject]
    sections: list[Section] = []
    # DP-01, DP-08, DP-09 and DP-13 grade the valid request and this refusal.
    unknown = await run.signed("unknown person", target.unknown)

    # -- attacks by group
    attack_checks: dict[str, list[Check]] = {}
    for group, names in _GROUPS.items():
        progress(f"{group} attacks")
        checks = attack_checks.setdefault(group, [])
        for name in names:
            attack = ATTACKS[name]
            if not attack.applies_to(kit):
                checks.append(_skip(attack.description, f"not applicable: needs {attack.needs}"))
                continue
            hostile = attack.build(kit)
            for earlier in hostile.prelude:
                await run.send(f"{name} (prelude)", earlier)
            exchange = await run.send(name, hostile.raw)
            checks.append(
                _refusal(
                    attack.description,
                    exchange,
                    hostile.code,
                    everyone,
                    condition(group).hint,
                )
            )

    # -- DP-02/03/04/10 additions that are not in the registry
    progress("DP-03 expired and not-yet-valid certificates")
    for name, signer in (
        ("signed with an expired certificate", credentials.expired),
        ("signed with a certificate that is not yet valid", credentials.not_yet_valid),
    ):
        exchange = await run.signed(name, signer=signer)
        attack_checks["DP-03"].append(
            _refusal(name, exchange, EdmCode.AUTHENTICATION, everyone, condition("DP-03").hint)
        )
    for name, options in (
        ("envelope declares another purpose than the token", {"envelope_purpose": "Werbung"}),
        (
            "token issued for another provider",
            {"token_changes": {"provider": _other_provider(run)}},
        ),
    ):
        exchange = await run.signed(name, **options)
        attack_checks["DP-04"].append(
            _refusal(name, exchange, EdmCode.AUTHORISATION, everyone, condition("DP-04").hint)
        )
    future = await run.signed(
        "envelope created an hour in the future",
        created=run.clock.now() + timedelta(hours=1),
    )
    attack_checks["DP-10"].append(
        _refusal(
            "envelope created an hour in the future",
            future,
            EdmCode.INVALID_REQUEST,
            everyone,
            condition("DP-10").hint,
        )
    )

    # -- DP-11: still answering after all that
    progress("DP-11 still answering")
    after = await run.signed("valid request after hostile input")
    attack_checks["DP-11"].append(
        _check(
            "valid request answered after the hostile ones",
            after.answer.kind == "0102",
            expected="0102 (the register survived every hostile request)",
            actual=after.describe(),
            exchange=after,
            hint="A hostile request must never take the register down or poison its state.",
        )
    )
    for group in ("DP-02", "DP-03", "DP-04", "DP-10", "DP-11"):
        sections.append(Section.for_condition(condition(group), attack_checks[group]))

    # -- DP-05
    progress("DP-05 invalid IDNr")
    if isinstance(target.subject, NaturalPerson) and target.subject.idnr is not None:
        wrong = _invalid_idnr(target.subject)
        exchange = await run.signed("IDNr with a wrong check digit", wrong)
        dp05 = [
            _refusal(
                "IDNr with a wrong check digit",
                exchange,
                EdmCode.INVALID_REQUEST,
                [*everyone, wrong],
                condition("DP-05").hint,
            )
        ]
    else:
        dp05 = [_skip("invalid IDNr", "the evidence type is about legal persons (no IDNr)")]
    sections.append(Section.for_condition(condition("DP-05"), dp05))

    # -- DP-06
    dp06 = [
        _refusal(
            "unknown person",
            unknown,
            EdmCode.NOT_FOUND,
            [*everyone, target.unknown],
            condition("DP-06").hint,
        )
    ]
    if target.ambiguous is not None:
        progress("DP-06 ambiguous person")
        exchange = await run.signed("ambiguous person", target.ambiguous)
        leaks = _leaks(exchange, [target.ambiguous])
        ok = exchange.answer.is_error and not exchange.answer.has_evidence and not leaks
        dp06.append(
            _check(
                "ambiguous person (several entries match)",
                ok,
                expected="a refusal (0103) without evidence or personal data",
                actual=exchange.describe() + (f"; leaked {', '.join(leaks)}" if leaks else ""),
                exchange=exchange,
                hint="Several matches are no match: answer EDM:ERR:0004 without data.",
            )
        )
    else:
        dp06.append(_skip("ambiguous person", "no ambiguous subject configured"))
    sections.append(Section.for_condition(condition("DP-06"), dp06))

    # -- DP-07
    if target.blocked is not None:
        progress("DP-07 information block")
        blocked = await run.signed("blocked person", target.blocked)
        sections.append(
            Section.for_condition(condition("DP-07"), _dp07(blocked, unknown, target.blocked))
        )
    else:
        sections.append(
            Section.for_condition(
                condition("DP-07"), [_skip("information block", "no blocked subject configured")]
            )
        )

    # -- DP-14
    other = _other_type(run)
    if other is not None:
        progress("DP-14 unsupported evidence type")
        exchange = await run.signed("unsupported evidence type", evidence_type=other)
        dp14 = [
            _refusal(
                f"request for {other}, which the register does not provide",
                exchange,
                EdmCode.UNSUPPORTED_CAPABILITY,
                everyone,
                condition("DP-14").hint,
            )
        ]
    else:
        dp14 = [_skip("unsupported evidence type", "the landscape has no other evidence type")]
    sections.append(Section.for_condition(condition("DP-14"), dp14))

    sections.append(Section.for_condition(condition("DP-01"), _dp01(run, valid, unknown)))
    sections.append(Section.for_condition(condition("DP-08"), _dp08(run, valid, unknown)))
    sections.append(Section.for_condition(condition("DP-09"), _dp09(run, valid)))
    return sections


def _dp01(run: _Run, valid: Exchange, unknown: Exchange) -> list[Check]:
    checks = []
    for exchange, wanted in ((valid, "0102"), (unknown, "0103")):
        answer = exchange.answer
        problems: list[str] = []
        if answer.kind != wanted:
            problems.append(f"expected a {wanted}, got {answer.describe()}")
        if answer.parse_error:
            problems.append(f"not a valid XNachweis message: {answer.parse_error}")
        schema = _schema_errors(answer.body_xml)
        if schema:
            problems.append("schema: " + "; ".join(schema[:3]))
        if wanted == "0102":
            message = answer.message
            if not answer.has_evidence:
                problems.append("no evidence document in RepositoryItem")
            elif isinstance(message, EvidenceResponse) and message.evidence is not None:
                wanted_type = run.topology.evidence_type(run.target.evidence_type)
                if message.evidence.conformance.classification != wanted_type.classification:
                    problems.append("the evidence is of another type than requested")
        schema_note = "official XNachweis 1.2.0 schema" if schema is not None else "structure"
        checks.append(
            _check(
                f"{exchange.name} answered with a valid {wanted}",
                not problems,
                expected=f"{wanted} valid against XNachweis 1.2.0 ({schema_note} checked)",
                actual="; ".join(problems) or f"valid {wanted}",
                exchange=exchange,
                hint=condition("DP-01").hint,
            )
        )
    return checks


def _dp08(run: _Run, valid: Exchange, unknown: Exchange) -> list[Check]:
    checks = []
    seen_uuids: set[str] = set()
    for exchange in (valid, unknown):
        request = run.requests[exchange.name].request
        answer = exchange.answer
        problems = []
        echoed = (answer.request_id or "").lower()
        if echoed != f"urn:uuid:{request.request_id}":
            problems.append(
                f"requestid {answer.request_id!r}, request id urn:uuid:{request.request_id}"
            )
        for label, value in (
            ("nachrichtenUUID", answer.message_uuid),
            ("response id", answer.response_id),
        ):
            if not value:
                problems.append(f"no {label}")
            elif value.lower() in {str(request.message_uuid), str(request.request_id)}:
                problems.append(f"{label} reuses an id of the request")
            elif value.lower() in seen_uuids:
                problems.append(f"{label} {value} was used in an earlier answer")
            if value:
                seen_uuids.add(value.lower())
        zones = time_zone_problems(answer.times)
        if zones:
            problems.append(f"times not in UTC with zone: {', '.join(zones[:3])}")
        if not answer.times:
            problems.append("no date-times found")
        checks.append(
            _check(
                f"{exchange.name}: ids and times",
                not problems,
                expected="requestid = the 0101's id, fresh nachrichtenUUID and response id, "
                "UTC times with Z",
                actual="; ".join(problems) or "ids echoed and fresh, times in UTC",
                exchange=exchange,
                hint=condition("DP-08").hint,
            )
        )
    return checks


def _dp09(run: _Run, valid: Exchange) -> list[Check]:
    answer = valid.answer
    checks = [
        _check(
            "valid request: answer signed by the register and bound to the request",
            answer.verified,
            expected=f"signature of {run.target.participant} (role provider) under the trust "
            "anchor, InResponseTo = SHA-256 of the request bytes",
            actual=answer.signature_error or answer.binding_error or "signed and bound",
            exchange=valid,
            hint=condition("DP-09").hint,
        )
    ]
    # Only what claims to be an answer is graded here; no answer at all (a crash, a dropped
    # connection) is the failure of the condition whose probe caused it.
    answered = [
        e
        for name, e in run.exchanges.items()
        if name != valid.name and e.answer.kind in ("0102", "0103", "env:Error")
    ]
    bad = [
        f"{e.name}: {e.answer.signature_error or e.answer.binding_error or 'unsigned'}"
        for e in answered
        if not e.answer.verified
    ]
    checks.append(
        Check(
            f"every other answer signed and bound ({len(answered) - len(bad)} of {len(answered)})",
            Status.FAILED if bad else Status.PASSED,
            expected="each refusal is signed by the register and bound to its request",
            actual="; ".join(bad[:6]) + (f" (+{len(bad) - 6} more)" if len(bad) > 6 else "")
            if bad
            else "all signed and bound",
            hint=condition("DP-09").hint if bad else "",
        )
    )
    return checks


def _dp07(blocked: Exchange, unknown: Exchange, person: NaturalPerson) -> list[Check]:
    a, b = blocked.answer, unknown.answer
    differences = []
    if (a.kind, a.code) != (b.kind, b.code):
        differences.append(f"code {a.kind} {a.code} vs {b.kind} {b.code}")
    if a.detail != b.detail:
        differences.append(f"detail {a.detail!r} vs {b.detail!r}")
    if blocked.status != unknown.status:
        differences.append(f"HTTP {blocked.status} vs {unknown.status}")
    if a.structure != b.structure:
        differences.append("the answers have different elements")
    leaks = _leaks(blocked, [person])
    if leaks:
        differences.append(f"personal data of the blocked person: {', '.join(leaks)}")
    if not a.is_error:
        differences.append(f"the blocked person got {a.describe()}")
    return [
        _check(
            "blocked person answered exactly like an unknown one",
            not differences,
            expected="same code, detail, HTTP status and shape as for an unknown person",
            actual="; ".join(differences) or f"both {a.describe()}, same detail and shape",
            exchange=blocked,
            hint=condition("DP-07").hint,
        )
    ]


async def _dp13(run: _Run, sleep: Sleep, progress: Callable[[str], None]) -> Section:
    target = run.target
    valid = run.exchanges["valid request"]
    in_time = valid.status is not None and valid.seconds <= target.time_budget
    answered = valid.answer.kind in ("0102", "0103")
    checks = [
        _check(
            "valid request answered in time",
            in_time and answered,
            expected=f"an answer within {target.time_budget:g} s",
            actual=f"{valid.describe()} after {valid.seconds:.2f} s",
            exchange=valid,
            hint="Answer within the hub's timeout, or announce ResponseAvailableDateTime.",
        )
    ]
    subject = target.async_subject
    if subject is None:
        checks.append(_skip("asynchronous answer", "no asynchronous subject configured"))
        return Section.for_condition(condition("DP-13"), checks)
    progress("DP-13 asynchronous subject")
    first = await run.signed("asynchronous subject", subject)
    answer = first.answer
    if answer.kind == "0102" and answer.has_evidence and first.seconds <= target.time_budget:
        checks.append(
            _check(
                "asynchronous subject",
                True,
                expected="evidence now, or ResponseAvailableDateTime and evidence then",
                actual=f"evidence delivered at once after {first.seconds:.2f} s",
                exchange=first,
            )
        )
        return Section.for_condition(condition("DP-13"), checks)
    if answer.is_error and answer.code == EdmCode.NOT_FOUND.value:
        checks.append(
            _skip(
                "asynchronous answer",
                "the register does not know the asynchronous test subject (EDM:ERR:0004)",
            )
        )
        return Section.for_condition(condition("DP-13"), checks)
    if answer.kind != "0102" or not answer.available_at:
        checks.append(
            _check(
                "asynchronous subject",
                False,
                expected="evidence now, or a 0102 with ResponseAvailableDateTime",
                actual=f"{first.describe()} after {first.seconds:.2f} s",
                exchange=first,
                hint=condition("DP-13").hint,
            )
        )
        return Section.for_condition(condition("DP-13"), checks)
    try:
        available = parse_utc(answer.available_at)
    except ValueError:
        checks.append(
            _check(
                "asynchronous subject",
                False,
                expected="ResponseAvailableDateTime in UTC with zone",
                actual=f"unreadable time {answer.available_at!r}",
                exchange=first,
                hint=condition("DP-13").hint,
            )
        )
        return Section.for_condition(condition("DP-13"), checks)
    wait = (available - run.clock.now()).total_seconds()
    checks.append(
        _check(
            "announces ResponseAvailableDateTime",
            wait > -1,
            expected="a 0102 announcing a time in the future",
            actual=f"available at {answer.available_at} ({wait:.1f} s from now)",
            exchange=first,
            hint=condition("DP-13").hint,
        )
    )
    if wait > target.max_wait:
        checks.append(
            _skip(
                "collect the announced evidence",
                f"announced {wait:.0f} s ahead, more than the suite waits ({target.max_wait:g} s)",
            )
        )
        return Section.for_condition(condition("DP-13"), checks)
    await sleep(max(wait, 0) + 0.05)
    resent = run.factory.resend(run.requests["asynchronous subject"])
    second = await run.send("asynchronous subject, collected", resent.raw)
    request_id = f"urn:uuid:{resent.request.request_id}"
    ok = (
        second.answer.kind == "0102"
        and second.answer.has_evidence
        and (second.answer.request_id or "").lower() == request_id
    )
    checks.append(
        _check(
            "the same request after ResponseAvailableDateTime gets the evidence",
            ok,
            expected=f"0102 with evidence for {request_id}",
            actual=second.describe(),
            exchange=second,
            hint=condition("DP-13").hint,
        )
    )
    return Section.for_condition(condition("DP-13"), checks)


def _dp12(run: _Run) -> Section:
    target = run.target
    if target.protocol_log is None:
        return Section.for_condition(
            condition("DP-12"),
            [
                _skip(
                    "protocol log",
                    "the suite cannot see the register's protocol log",
                    "Pass --protocol-log (SQLite file or postgresql:// URL of your log) to "
                    "have every transfer of this run checked.",
                )
            ],
        )
    expectations = [
        ("valid request", "delivered"),
        ("unknown person", "refused:EDM:ERR:0004"),
    ]
    if "IDNr with a wrong check digit" in run.requests:
        expectations.append(("IDNr with a wrong check digit", "refused:EDM:ERR:0003"))
    checks: list[Check] = []
    try:
        log = open_protocol_log_read_only(
            target.protocol_log, party="noots-conformance", clock=run.clock
        )
    except (NootsError, OSError) as exc:
        return Section.for_condition(
            condition("DP-12"),
            [_check("protocol log readable", False, expected="a protocol log", actual=str(exc))],
        )
    try:
        try:
            count = log.verify()
            checks.append(
                _check(
                    "hash chain intact",
                    True,
                    expected="the log verifies",
                    actual=f"{count} entries verified",
                )
            )
        except NootsError as exc:
            checks.append(
                _check(
                    "hash chain intact",
                    False,
                    expected="the log verifies",
                    actual=exc.message,
                    hint="Never change or delete protocol entries; append only.",
                )
            )
        entries = log.entries()
    finally:
        log.close()
    by_request: dict[str, set[str]] = {}
    for entry in entries:
        key = entry.message_id.lower().removeprefix("urn:uuid:")
        by_request.setdefault(key, set()).add(entry.outcome)
    for name, outcome in expectations:
        request = run.requests[name].request
        found = by_request.get(str(request.request_id), set())
        checks.append(
            _check(
                f"{name} logged",
                outcome in found,
                expected=f"an entry for urn:uuid:{request.request_id} with outcome {outcome}",
                actual=f"outcomes logged: {', '.join(sorted(found)) or 'none'}",
                exchange=run.exchanges[name],
                hint=condition("DP-12").hint,
            )
        )
    return Section.for_condition(condition("DP-12"), checks)
