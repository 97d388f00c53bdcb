"""The provider conformance suite: a register behind its SAK, graded per connection condition.

The suite plays the register's own SAK: it hands the register bare 0101s with the metadata a
SAK establishes, in **push** mode (POST to the register) or **passive** mode (the register
fetches from the suite), presents the access tokens of the landscape's IAM, and reads the
bare 0102/0103 the register answers. It seals Vermittlungsstelle tokens as the landscape's
VS. The probes (docs/CONFORMANCE.md has them with rules and fix hints):

=====  ======================================================================================
DP-01  a valid request (0102 with evidence) and an unknown person (0103), schema-checked
DP-04  token missing, expired, sealed by the consumer, for another request / consumer /
       provider / person, another purpose in the metadata, a bad token where none is needed,
       an unsupported evidence type without a valid token (0002 before 0007), no token where
       none is needed (answered)
DP-05  an IDNr with a wrong check digit
DP-06  an unknown person, an ambiguous one
DP-07  an information block compared with an unknown person: fields and answer time
DP-08  request id echoed, fresh UUIDs, times in UTC with zone
DP-12  the protocol export for the run's transfers
DP-13  answer time of the valid request; an asynchronous person collected when announced
DP-14  an evidence type the register does not provide (0007); a service id of another (0006)
DP-15  ``GET /health``
DP-16  the push endpoint called without a token, with another participant's, another SAK's,
       another audience's, an expired token; with TLS another participant's certificate
DP-17  a 0101 of another requester than Noots-Consumer, one naming another provider
=====  ======================================================================================

A run never changes the PKI (:mod:`noots.conformance.credentials`).
"""

from __future__ import annotations

import asyncio
import re
import ssl
import statistics
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from lxml import etree

from noots.clock import Clock, parse_utc
from noots.conformance.answers import Exchange, official_validator, time_zone_problems
from noots.conformance.attacks import personal_data
from noots.conformance.catalogue import PROVIDER_CONDITIONS, condition
from noots.conformance.credentials import ScratchIssuer, TokenMint
from noots.conformance.provider._channel import (
    Channel,
    PassiveChannel,
    PushChannel,
    SakDouble,
)
from noots.conformance.provider._targets import ProviderTarget
from noots.conformance.report import Check, Report, Section, Status, excerpt
from noots.conformance.requests import Delivery, RequestFactory
from noots.errors import EdmCode, UpstreamError, XmlError
from noots.messages import EvidenceResponse, NaturalPerson, Subject
from noots.participant import load_validator
from noots.pki import Role
from noots.sak import PROVIDER_REQUESTS_PATH, PROVIDER_TRANSFERS_PATH
from noots.tls import TlsFiles, client_context
from noots.topology import Topology
from noots.xml import parse as parse_xml

__all__ = ["ProviderTls", "run_provider_suite", "sak_double_for"]

Sleep = Callable[[float], Awaitable[None]]
Timer = Callable[[], float]

# Blocked and unknown answer times may differ by this much (seconds), or by half the slower
# one, before DP-07 calls the difference telling.
_TIMING_SLACK = 0.5
_TIMING_SAMPLES = 3


@dataclass(frozen=True)
class ProviderTls:
    """Mutual TLS towards the register: the suite presents its SAK's certificate and trusts
    ``ca_file`` (default: the simulator's root) for the register's server certificate."""

    ca_file: Path | None = None


@dataclass
class _Run:
    """State of one run: who we are, how we deliver, what came back."""

    target: ProviderTarget
    topology: Topology
    factory: RequestFactory
    mint: TokenMint
    channel: Channel
    http: httpx.AsyncClient
    clock: Clock
    timer: Timer
    exchanges: dict[str, Exchange] = field(default_factory=dict)
    deliveries: dict[str, Delivery] = field(default_factory=dict)

    @property
    def limit(self) -> float:
        """How long one answer is waited for before it counts as none."""
        return max(3 * self.target.time_budget, self.target.time_budget + 5)

    def own_sak(self) -> str:
        """The access token of the register's own SAK, as the real one presents it."""
        return self.mint.bearer(self.target.sak_id, Role.SAK, self.target.participant)

    async def deliver(self, name: str, delivery: Delivery) -> Exchange:
        self.deliveries[name] = delivery
        exchange = await self.channel.deliver(
            name, delivery, authorization=self.own_sak(), limit=self.limit
        )
        self.exchanges[name] = exchange
        return exchange

    async def ask(self, name: str, subject: Subject | None = None, **options: Any) -> Exchange:
        target = self.target
        delivery = self.factory.delivery(
            consumer=options.pop("consumer", target.consumer),
            provider=options.pop("provider", target.participant),
            evidence_type=options.pop("evidence_type", target.evidence_type),
            subject=subject if subject is not None else target.subject,
            **options,
        )
        return await self.deliver(name, delivery)


def sak_double_for(
    target: ProviderTarget, topology: Topology, pki_dir: Path, *, clock: Clock
) -> SakDouble:
    """The suite's SAK for a passive register (serve :func:`sak_double_app` of it where the
    register fetches, and pass it to :func:`run_provider_suite`)."""
    from noots.pki import CertificateAuthority

    authority = CertificateAuthority.open(pki_dir, clock=clock)
    return SakDouble(
        register=target.participant,
        sak_id=target.sak_id,
        iam_id=topology.platform.iam_id,
        iam=authority.credential(topology.platform.iam_id),
        validator=load_validator(pki_dir, clock=clock),
        clock=clock,
        trust_anchor=authority.root_cert_path,
        crl=authority.crl_path,
    )


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


def _skip(name: str, why: str, option: str = "") -> Check:
    """A check that could not be made: why, and the option that would make it."""
    return Check(name, Status.SKIPPED, expected="", actual=why, hint=option)


def _readable_text(exchange: Exchange) -> str:
    """What a person could read in the answer: the message's texts and attribute values."""
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
    code: EdmCode | None,
    subjects: Sequence[Subject],
    hint: str,
) -> Check:
    """A refusal with ``code`` (any refusal where ``code`` is None: the documentation leaves
    it open) that carries no evidence and no personal data."""
    answer = exchange.answer
    leaks = _leaks(exchange, subjects)
    coded = answer.code == code.value if code is not None else True
    ok = answer.is_error and coded and not answer.has_evidence and not leaks
    actual = exchange.describe()
    if leaks:
        actual += f"; personal data in the answer: {', '.join(leaks)}"
    wanted = f"0103 {code.value} ({code.title})" if code is not None else "a refusal (0103)"
    return _check(
        name,
        ok,
        expected=f"{wanted}, no evidence, no personal data",
        actual=actual,
        exchange=exchange,
        hint=hint,
    )


def _schema_errors(body_xml: bytes) -> list[str] | None:
    validate = official_validator()
    if validate is None or not body_xml:
        return None
    return validate(body_xml)


def _invalid_idnr(subject: NaturalPerson) -> NaturalPerson:
    assert subject.idnr is not None
    last = subject.idnr[-1]
    return replace(subject, idnr=subject.idnr[:-1] + str((int(last) + 1) % 10))


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


def _other_register(run: _Run) -> str:
    for register in run.topology.registers:
        if register.participant_id != run.target.participant:
            return register.participant_id
    return "000-00000NONE-00"


def _everyone(run: _Run) -> list[Subject]:
    target = run.target
    found: list[Subject] = [target.subject]
    if target.other_subject is not None:
        found.append(target.other_subject)
    return found


# -- the suite -------------------------------------------------------------------------------


async def run_provider_suite(
    target: ProviderTarget,
    *,
    topology: Topology,
    pki_dir: Path,
    clock: Clock,
    transport: httpx.AsyncBaseTransport | None = None,
    sleep: Sleep = asyncio.sleep,
    timer: Timer = time.perf_counter,
    notes: Sequence[str] = (),
    on_progress: Callable[[str], None] | None = None,
    tls: ProviderTls | None = None,
    passive: SakDouble | None = None,
) -> Report:
    """Run every probe against ``target`` and grade the answers (see the module docstring).

    ``transport`` replaces the network (tests wire in-process registers); ``sleep`` waits for
    an announced asynchronous answer and ``timer`` measures answer times (tests inject both);
    ``tls`` reaches an https register with mutual TLS; ``passive`` is the suite's SAK the
    register fetches from (:func:`sak_double_for`, served by the caller) and is required in
    passive mode. Raises :class:`UpstreamError` when the register does not answer at all.
    """
    started = clock.now()
    progress = on_progress or (lambda _text: None)
    if target.mode == "passive" and passive is None:
        raise ValueError("passive mode needs the suite's SAK (sak_double_for), served")
    factory = RequestFactory.from_pki_dir(pki_dir, topology, clock=clock)
    with ScratchIssuer(pki_dir, clock=clock) as scratch:
        mint = TokenMint(pki_dir, topology, scratch, clock=clock)
        verify: ssl.SSLContext | bool = True
        if tls is not None:
            verify = _tls_context(mint, pki_dir, target.sak_id, Role.SAK, tls)
        async with httpx.AsyncClient(transport=transport, trust_env=False, verify=verify) as http:
            channel: Channel
            if target.mode == "passive":
                assert passive is not None
                channel = PassiveChannel(passive, timer=timer)
            else:
                channel = PushChannel(http, target.base_url, timer=timer)
            run = _Run(target, topology, factory, mint, channel, http, clock, timer)
            health = await _dp15(run, progress)
            progress(f"DP-01 valid request ({target.mode} mode)")
            valid = await run.ask("valid request")
            if valid.transport_error is not None and health.status is Status.FAILED:
                raise UpstreamError(
                    f"{target.base_url} does not answer ({valid.transport_error}): is the "
                    "register running and the URL right?"
                )
            sections = [health, *(await _main_probes(run, valid, progress))]
            sections.append(await _dp16(run, progress, transport, pki_dir, tls))
            sections.append(await _dp13(run, sleep, progress))
            sections.append(await _dp12(run, progress))
    order = {c.id: i for i, c in enumerate(PROVIDER_CONDITIONS)}
    sections.sort(key=lambda s: order[s.id])
    return Report(
        "provider",
        f"Provider conformance of {target.participant} ({target.mode} mode)",
        target.base_url,
        started,
        clock.now(),
        tuple(sections),
        participant=target.participant,
        notes=tuple(notes),
    )


def _tls_context(
    mint: TokenMint, pki_dir: Path, participant: str, role: Role, tls: ProviderTls
) -> ssl.SSLContext:
    credential = mint.party(participant, role).credential
    anchor = tls.ca_file or (pki_dir / "ca" / "root-cert.pem")
    return client_context(TlsFiles(credential.cert_path, credential.key_path, anchor))


async def _dp15(run: _Run, progress: Callable[[str], None]) -> Section:
    progress("DP-15 health")
    url = run.target.base_url + "/health"
    started = run.timer()
    try:
        response = await run.http.get(url, timeout=run.target.time_budget)
    except httpx.HTTPError as exc:
        check = _check(
            "GET /health",
            False,
            expected="200 (healthy) or 503 (degraded) with a JSON body",
            actual=f"no answer: {type(exc).__name__}",
            hint=condition("DP-15").hint,
        )
        return Section.for_condition(condition("DP-15"), [check])
    is_json = response.headers.get("content-type", "").startswith("application/json")
    ok = response.status_code in (200, 503) and is_json
    state = "healthy" if response.status_code == 200 else "degraded or missing"
    check = Check(
        "GET /health",
        Status.PASSED if ok else Status.FAILED,
        "200 (healthy) or 503 (degraded) with a JSON body",
        f"HTTP {response.status_code} ({state}){'' if is_json else ', body is not JSON'}",
        request=f"GET {url}",
        response=excerpt(response.content, 600),
        hint="" if ok else condition("DP-15").hint,
        seconds=run.timer() - started,
    )
    return Section.for_condition(condition("DP-15"), [check])


async def _main_probes(
    run: _Run, valid: Exchange, progress: Callable[[str], None]
) -> list[Section]:
    target = run.target
    everyone = _everyone(run)
    sections: list[Section] = []
    # DP-01, DP-08 and DP-13 grade the valid request and this refusal.
    unknown = await run.ask("unknown person", target.unknown)

    sections.append(Section.for_condition(condition("DP-04"), await _dp04(run, progress)))

    # -- DP-05
    progress("DP-05 invalid IDNr")
    if isinstance(target.subject, NaturalPerson) and target.subject.idnr is not None:
        wrong = _invalid_idnr(target.subject)
        exchange = await run.ask("IDNr with a wrong check digit", wrong)
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
        exchange = await run.ask("ambiguous person", target.ambiguous)
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
        dp06.append(
            _skip(
                "ambiguous person",
                "no ambiguous person named: the suite cannot tell which of your people share "
                "basic data",
                "--ambiguous 'Family, Given, YYYY-MM-DD' (basic data that match two or more "
                "people of your register)",
            )
        )
    sections.append(Section.for_condition(condition("DP-06"), dp06, requires_all=True))

    # -- DP-07
    if target.blocked is not None:
        progress("DP-07 information block")
        sections.append(
            Section.for_condition(
                condition("DP-07"), await _dp07(run, unknown, target.blocked), requires_all=True
            )
        )
    else:
        sections.append(
            Section.for_condition(
                condition("DP-07"),
                [
                    _skip(
                        "information block",
                        "no blocked person named: the suite cannot compare a blocked person's "
                        "answer with an unknown one's",
                        "--blocked 'Family, Given, YYYY-MM-DD, IDNr' (a person with an "
                        "Auskunftssperre in your register)",
                    )
                ],
                requires_all=True,
            )
        )

    sections.append(
        Section.for_condition(condition("DP-14"), await _dp14(run, progress), requires_all=True)
    )
    sections.append(Section.for_condition(condition("DP-17"), await _dp17(run, progress)))
    sections.append(Section.for_condition(condition("DP-01"), _dp01(run, valid, unknown)))
    sections.append(Section.for_condition(condition("DP-08"), _dp08(run, valid, unknown)))
    return sections


async def _dp04(run: _Run, progress: Callable[[str], None]) -> list[Check]:
    progress("DP-04 Vermittlungsstelle token")
    target = run.target
    everyone = _everyone(run)
    hint = condition("DP-04").hint
    now = run.clock.now()
    other_register = _other_register(run)
    probes: list[tuple[str, dict[str, Any]]] = [
        ("no token where Noots-Vs-Token-Required is true", {"with_token": False}),
        (
            "an expired token",
            {
                "token_changes": {
                    "issued_at": now - timedelta(minutes=10),
                    "expires_at": now - timedelta(minutes=5),
                }
            },
        ),
        (
            "a token sealed by the consumer instead of the VS",
            {"token_signer": run.factory.consumer_signer(target.consumer)},
        ),
        ("a token of another provider", {"token_changes": {"provider": other_register}}),
        ("another purpose in Noots-Purpose than in the token", {"metadata_purpose": "Werbung"}),
        (
            "a token where none is required, for another provider",
            {"token_changes": {"provider": other_register}, "vs_token_required": False},
        ),
    ]
    if target.other_consumer is not None:
        probes.append(
            ("a token of another consumer", {"token_changes": {"consumer": target.other_consumer}})
        )
    checks: list[Check] = []
    for name, options in probes:
        exchange = await run.ask(name, **options)
        checks.append(_refusal(name, exchange, EdmCode.AUTHORISATION, everyone, hint))
    # A valid token of another request of the same parties.
    other = run.factory.delivery(
        consumer=target.consumer,
        provider=target.participant,
        evidence_type=target.evidence_type,
        subject=target.subject,
    )
    name = "a token of another request"
    exchange = await run.ask(name, issued_token=other.issued_token)
    checks.append(_refusal(name, exchange, EdmCode.AUTHORISATION, everyone, hint))
    if (
        isinstance(target.subject, NaturalPerson)
        and target.subject.idnr is not None
        and target.other_subject is not None
    ):
        name = "a token for a request about another person (IDNr)"
        original = run.factory.delivery(
            consumer=target.consumer,
            provider=target.participant,
            evidence_type=target.evidence_type,
            subject=target.subject,
        )
        forged = replace(original.request, subject=target.other_subject, issued_token="")
        exchange = await run.ask(name, request=forged, issued_token=original.issued_token)
        checks.append(_refusal(name, exchange, EdmCode.AUTHORISATION, everyone, hint))
    # Nothing about what the register provides before the token is checked.
    other_type = _other_type(run)
    if other_type is not None:
        for name, options in (
            (
                f"{other_type} (not provided) without a token",
                {"with_token": False},
            ),
            (
                f"{other_type} (not provided) with a token of another provider",
                {"token_changes": {"provider": other_register}},
            ),
        ):
            exchange = await run.ask(
                name,
                evidence_type=other_type,
                service_id=run.topology.service_id(target.participant, target.evidence_type),
                **options,
            )
            checks.append(
                _refusal(
                    name,
                    exchange,
                    EdmCode.AUTHORISATION,
                    everyone,
                    "Check the token before the evidence type: an unauthorised caller must not "
                    "learn what you provide (0002, not 0007). " + hint,
                )
            )
    # Noots-Vs-Token-Required false and no token: the transfer needs none, answer it.
    name = "no token where none is required (Noots-Vs-Token-Required false)"
    exchange = await run.ask(name, with_token=False, vs_token_required=False)
    checks.append(
        _check(
            name,
            exchange.answer.kind == "0102",
            expected="a 0102 (a transfer without a VS token where the law needs none)",
            actual=exchange.describe(),
            exchange=exchange,
            hint="Require a token only where Noots-Vs-Token-Required is true (or one came).",
        )
    )
    return checks


async def _dp07(run: _Run, unknown: Exchange, person: NaturalPerson) -> list[Check]:
    blocked = await run.ask("blocked person", person)
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
    checks = [
        _check(
            "blocked person answered exactly like an unknown one",
            not differences,
            expected="same code, detail, HTTP status and shape as for an unknown person",
            actual="; ".join(differences) or f"both {a.describe()}, same detail and shape",
            exchange=blocked,
            hint=condition("DP-07").hint,
        )
    ]
    blocked_times = [blocked.seconds]
    unknown_times = [unknown.seconds]
    for index in range(1, _TIMING_SAMPLES):
        blocked_times.append((await run.ask(f"blocked person ({index + 1})", person)).seconds)
        unknown_times.append(
            (await run.ask(f"unknown person ({index + 1})", run.target.unknown)).seconds
        )
    slow, fast = statistics.median(blocked_times), statistics.median(unknown_times)
    gap = abs(slow - fast)
    telling = gap > _TIMING_SLACK and gap > 0.5 * max(slow, fast)
    checks.append(
        _check(
            "blocked person answered in about the time of an unknown one",
            not telling,
            expected=f"medians of {_TIMING_SAMPLES} answers within {_TIMING_SLACK:g} s or half "
            "the slower one",
            actual=f"blocked {slow:.3f} s, unknown {fast:.3f} s (median)",
            exchange=blocked,
            hint="Do the same work for a blocked person as for an unknown one (no extra "
            "look-up, no early exit) so the answer time tells nothing.",
        )
    )
    return checks


async def _dp14(run: _Run, progress: Callable[[str], None]) -> list[Check]:
    target = run.target
    everyone = _everyone(run)
    hint = condition("DP-14").hint
    checks: list[Check] = []
    other = _other_type(run)
    if other is not None:
        progress("DP-14 unsupported evidence type")
        name = f"a request for {other}, which the register does not provide"
        exchange = await run.ask(
            name,
            evidence_type=other,
            service_id=run.topology.service_id(target.participant, target.evidence_type),
        )
        checks.append(_refusal(name, exchange, EdmCode.UNSUPPORTED_CAPABILITY, everyone, hint))
    else:
        checks.append(
            _skip(
                "unsupported evidence type",
                "the landscape has no evidence type the register does not provide",
                "a topology (--topology) with another evidence type",
            )
        )
    name = "a service id of another register"
    other_register = _other_register(run)
    exchange = await run.ask(
        name, service_id=run.topology.service_id(other_register, target.evidence_type)
    )
    checks.append(_refusal(name, exchange, EdmCode.UNRESOLVED_REFERENCE, everyone, hint))
    return checks


async def _dp17(run: _Run, progress: Callable[[str], None]) -> list[Check]:
    progress("DP-17 request and metadata")
    target = run.target
    everyone = _everyone(run)
    hint = condition("DP-17").hint
    checks: list[Check] = []
    if target.other_consumer is not None:
        name = "a 0101 of another requester than Noots-Consumer"
        exchange = await run.ask(
            name, consumer=target.other_consumer, metadata_consumer=target.consumer
        )
        checks.append(_refusal(name, exchange, None, everyone, hint))
    name = "a 0101 that names another provider"
    other_register = _other_register(run)
    exchange = await run.ask(
        name,
        provider=other_register,
        service_id=run.topology.service_id(target.participant, target.evidence_type),
    )
    checks.append(_refusal(name, exchange, None, everyone, hint))
    return checks


def _dp01(run: _Run, valid: Exchange, unknown: Exchange) -> list[Check]:
    checks = []
    for exchange, wanted in ((valid, "0102"), (unknown, "0103")):
        answer = exchange.answer
        problems: list[str] = []
        if exchange.transport_error:
            problems.append(f"no answer: {exchange.transport_error}")
        elif answer.kind != wanted:
            problems.append(f"expected a {wanted}, got {answer.describe()}")
        if answer.parse_error:
            problems.append(f"not a valid XNachweis message: {answer.parse_error}")
        schema = _schema_errors(answer.body_xml)
        if schema:
            problems.append("schema: " + "; ".join(schema[:3]))
        message = answer.message
        request = run.deliveries[exchange.name].request
        if message is not None and message.request_id != request.request_id:
            problems.append("the answer does not answer this 0101 (another request id)")
        if wanted == "0102":
            if not answer.has_evidence:
                problems.append("no evidence document in RepositoryItem")
            elif isinstance(message, EvidenceResponse) and message.evidence is not None:
                wanted_type = run.topology.evidence_type(run.target.evidence_type)
                if message.evidence.conformance.classification != wanted_type.classification:
                    problems.append("the evidence is of another type than requested")
            if isinstance(message, EvidenceResponse) and (
                message.provider.identifier != run.target.participant
            ):
                problems.append(f"the 0102 names provider {message.provider.identifier}")
        schema_note = "official XNachweis 1.2.0 schema" if schema is not None else "structure"
        checks.append(
            _check(
                f"{exchange.name} answered with a valid {wanted}",
                not problems,
                expected=f"{wanted} valid against XNachweis 1.2.0 ({schema_note} checked), "
                "answering this 0101",
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
        request = run.deliveries[exchange.name].request
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
            elif value.lower().removeprefix("urn:uuid:") in {
                str(request.message_uuid),
                str(request.request_id),
            }:
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


def _refused_call(
    name: str, response: httpx.Response | None, error: str | None, *, passive: bool, seconds: float
) -> Check:
    """A call of the push endpoint that must be refused before anything is read."""
    statuses = {401, 403} | ({404, 405} if passive else set())
    if response is None:
        # A closed connection (mutual TLS refusing the certificate) is a refusal as well.
        ok = True
        actual = f"connection refused: {error}"
        body = b""
    else:
        body = response.content
        leaks = b"RepositoryItem" in body or b"EvidenceResponse.0102" in body
        ok = response.status_code in statuses and not leaks
        actual = f"HTTP {response.status_code}" + ("; an answer with evidence" if leaks else "")
    expected = "401 or 403" + (" (or no push endpoint: 404/405)" if passive else "") + ", no data"
    return Check(
        name,
        Status.PASSED if ok else Status.FAILED,
        expected=expected,
        actual=actual,
        response=excerpt(body, 800),
        hint="" if ok else condition("DP-16").hint,
        seconds=seconds,
    )


async def _dp16(
    run: _Run,
    progress: Callable[[str], None],
    transport: httpx.AsyncBaseTransport | None,
    pki_dir: Path,
    tls: ProviderTls | None,
) -> Section:
    progress("DP-16 only its own SAK")
    target = run.target
    mint = run.mint
    passive = target.mode == "passive"
    other_sak = run.topology.sak_id(_other_register(run))
    calls: list[tuple[str, str | None]] = [
        ("no access token", None),
        (
            f"a valid token of the online service {target.consumer}",
            mint.bearer(target.consumer, Role.CONSUMER, target.participant),
        ),
        (
            f"a valid token of another SAK ({other_sak})",
            mint.bearer(other_sak, Role.SAK, target.participant),
        ),
        (
            "its own SAK's token for another audience (the IDA)",
            mint.bearer(target.sak_id, Role.SAK, run.topology.ida.participant_id),
        ),
        (
            "its own SAK's token, expired an hour ago",
            mint.bearer(
                target.sak_id,
                Role.SAK,
                target.participant,
                issued_at=run.clock.now() - timedelta(hours=1, minutes=5),
            ),
        ),
    ]
    url = target.base_url + PROVIDER_REQUESTS_PATH
    checks: list[Check] = []
    for name, authorization in calls:
        delivery = run.factory.delivery(
            consumer=target.consumer,
            provider=target.participant,
            evidence_type=target.evidence_type,
            subject=target.subject,
        )
        headers = delivery.headers()
        if authorization is not None:
            headers["Authorization"] = authorization
        started = run.timer()
        try:
            response: httpx.Response | None = await run.http.post(
                url, content=delivery.raw, headers=headers, timeout=run.limit
            )
            error = None
        except httpx.HTTPError as exc:
            response, error = None, f"{type(exc).__name__}"
        checks.append(
            _refused_call(name, response, error, passive=passive, seconds=run.timer() - started)
        )
    if tls is not None:
        name = f"its own SAK's token over the TLS certificate of {target.consumer}"
        context = _tls_context(mint, pki_dir, target.consumer, Role.CONSUMER, tls)
        delivery = run.factory.delivery(
            consumer=target.consumer,
            provider=target.participant,
            evidence_type=target.evidence_type,
            subject=target.subject,
        )
        started = run.timer()
        async with httpx.AsyncClient(transport=transport, trust_env=False, verify=context) as http:
            try:
                response = await http.post(
                    url,
                    content=delivery.raw,
                    headers={**delivery.headers(), "Authorization": run.own_sak()},
                    timeout=run.limit,
                )
                error = None
            except httpx.HTTPError as exc:
                response, error = None, f"{type(exc).__name__}"
        checks.append(
            _refused_call(name, response, error, passive=passive, seconds=run.timer() - started)
        )
    return Section.for_condition(condition("DP-16"), checks)


async def _dp13(run: _Run, sleep: Sleep, progress: Callable[[str], None]) -> Section:
    target = run.target
    valid = run.exchanges["valid request"]
    in_time = valid.transport_error is None and valid.seconds <= target.time_budget
    answered = valid.answer.kind in ("0102", "0103")
    checks = [
        _check(
            "valid request answered in time",
            in_time and answered,
            expected=f"an answer within {target.time_budget:g} s",
            actual=f"{valid.describe()} after {valid.seconds:.2f} s",
            exchange=valid,
            hint="Answer within your SAK's timeout (10 s), or announce ResponseAvailableDateTime.",
        )
    ]
    subject = target.async_subject
    option = "--asynchronous 'Family, Given, YYYY-MM-DD, IDNr' (a person your register answers "
    option += "asynchronously)"
    if subject is None:
        checks.append(
            _skip(
                "asynchronous answer",
                "no asynchronous person named: only the answer time was graded",
                option,
            )
        )
        return Section.for_condition(condition("DP-13"), checks)
    progress("DP-13 asynchronous person")
    first = await run.ask("asynchronous person", subject)
    answer = first.answer
    if answer.kind == "0102" and answer.has_evidence and first.seconds <= target.time_budget:
        checks.append(
            _check(
                "asynchronous person",
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
                "the register does not know the asynchronous person (EDM:ERR:0004): only the "
                "answer time was graded",
                option,
            )
        )
        return Section.for_condition(condition("DP-13"), checks)
    if answer.kind != "0102" or not answer.available_at:
        checks.append(
            _check(
                "asynchronous person",
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
                "asynchronous person",
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
        # Announced, but not collected: the condition is not fully tested and must not pass.
        checks.append(
            _skip(
                "collect the announced evidence",
                f"announced {wait:.0f} s ahead, more than the suite waits ({target.max_wait:g} s)",
                f"--max-wait {int(wait) + 30}",
            )
        )
        return Section.for_condition(condition("DP-13"), checks, requires_all=True)
    progress(f"DP-13 waiting {max(wait, 0):.0f} s for the announced evidence")
    await sleep(max(wait, 0) + 0.05)
    again = run.factory.redeliver(run.deliveries["asynchronous person"])
    second = await run.deliver("asynchronous person, collected", again)
    request_id = f"urn:uuid:{again.request.request_id}"
    ok = (
        second.answer.kind == "0102"
        and second.answer.has_evidence
        and (second.answer.request_id or "").lower() == request_id
    )
    checks.append(
        _check(
            "the same 0101 after ResponseAvailableDateTime gets the evidence",
            ok,
            expected=f"0102 with evidence for {request_id}",
            actual=second.describe(),
            exchange=second,
            hint=condition("DP-13").hint,
        )
    )
    return Section.for_condition(condition("DP-13"), checks)


async def _dp12(run: _Run, progress: Callable[[str], None]) -> Section:
    progress("DP-12 protocol export")
    target = run.target
    url = target.protocol_export or (target.base_url + PROVIDER_TRANSFERS_PATH)
    expectations: list[tuple[str, str, bool]] = [
        ("valid request", "delivered", True),
        ("unknown person", "refused:EDM:ERR:0004", True),
    ]
    if "IDNr with a wrong check digit" in run.deliveries:
        expectations.append(("IDNr with a wrong check digit", "refused:EDM:ERR:0003", False))
    option = (
        "serve GET /provider/v1/transfers?requestId=… (docs/SAK.md, 'Protocol export'), or "
        "--protocol-export URL where your register serves it"
    )
    checks: list[Check] = []
    for name, outcome, with_idnr in expectations:
        delivery = run.deliveries[name]
        request = delivery.request
        request_id = f"urn:uuid:{request.request_id}"
        try:
            response = await run.http.get(
                url,
                params={"requestId": request_id},
                headers={"Authorization": run.own_sak()},
                timeout=run.limit,
            )
        except httpx.HTTPError as exc:
            checks.append(
                _skip(
                    f"{name} logged",
                    f"the protocol export at {url} does not answer ({type(exc).__name__})",
                    option,
                )
            )
            continue
        if response.status_code in (404, 405) and not _is_export(response):
            return Section.for_condition(
                condition("DP-12"),
                [
                    _skip(
                        "protocol export",
                        f"{url} is not served (HTTP {response.status_code})",
                        option,
                    )
                ],
                requires_all=True,
            )
        entries = _export_entries(response)
        if entries is None:
            checks.append(
                _check(
                    f"{name} logged",
                    False,
                    expected="200 with {'transfers': [...]} for the register's own SAK",
                    actual=f"HTTP {response.status_code}: {excerpt(response.content, 200)}",
                    hint=condition("DP-12").hint,
                )
            )
            continue
        checks.append(_logged(run, name, delivery, outcome, with_idnr, entries))
    return Section.for_condition(condition("DP-12"), checks, requires_all=True)


def _is_export(response: httpx.Response) -> bool:
    try:
        return "transfers" in response.json()
    except ValueError:
        return False


def _export_entries(response: httpx.Response) -> list[dict[str, Any]] | None:
    if response.status_code != 200:
        return None
    try:
        data = response.json()
    except ValueError:
        return None
    entries = data.get("transfers") if isinstance(data, dict) else None
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        return None
    return entries


def _logged(
    run: _Run,
    name: str,
    delivery: Delivery,
    outcome: str,
    with_idnr: bool,
    entries: list[dict[str, Any]],
) -> Check:
    target = run.target
    request = delivery.request
    type_spec = run.topology.evidence_type(target.evidence_type)
    subject = request.subject
    idnr = subject.idnr if isinstance(subject, NaturalPerson) else None
    problems: list[str] = []
    match = [e for e in entries if e.get("outcome") == outcome]
    if not match:
        found = ", ".join(sorted(str(e.get("outcome")) for e in entries)) or "none"
        problems.append(f"no entry with outcome {outcome} (logged: {found})")
    else:
        entry = match[0]
        if entry.get("consumer") != delivery.metadata.consumer:
            problems.append(f"consumer {entry.get('consumer')!r}")
        if entry.get("evidenceType") not in (type_spec.name, type_spec.classification):
            problems.append(f"evidence type {entry.get('evidenceType')!r}")
        if entry.get("purpose") != delivery.metadata.purpose:
            problems.append(f"purpose {entry.get('purpose')!r}")
        if with_idnr and idnr is not None and entry.get("idnr") != idnr:
            problems.append("the IDNr is not logged (the citizen's cockpit could not show it)")
    return Check(
        f"{name} logged",
        Status.FAILED if problems else Status.PASSED,
        expected=f"an entry for urn:uuid:{request.request_id}: outcome {outcome}, consumer "
        f"{delivery.metadata.consumer}, evidence type, purpose"
        + (", the IDNr" if with_idnr and idnr else ""),
        actual="; ".join(problems) or "logged",
        hint=condition("DP-12").hint if problems else "",
    )
