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
from noots.conformance.i18n import Text, _
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

# Probes whose exchanges later checks look up by name (the name is also what the report shows).
_VALID = Text("gültige Nachweisanfrage", "valid request")
_UNKNOWN = Text("unbekannte Person", "unknown person")
_WRONG_IDNR = Text("IDNr mit falscher Prüfziffer", "IDNr with a wrong check digit")
_ASYNCHRONOUS = Text("asynchrone Person", "asynchronous person")


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
        actual += _(
            f"; personenbezogene Daten in der Antwort: {', '.join(leaks)}",
            f"; personal data in the answer: {', '.join(leaks)}",
        )
    wanted = (
        f"0103 {code.value} ({code.title})"
        if code is not None
        else _("eine Ablehnung (0103)", "a refusal (0103)")
    )
    return _check(
        name,
        ok,
        expected=_(
            f"{wanted}, kein Nachweis, keine personenbezogenen Daten",
            f"{wanted}, no evidence, no personal data",
        ),
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
            progress(
                _(
                    f"DP-01 gültige Nachweisanfrage ({_mode(target)})",
                    f"DP-01 valid request ({_mode(target)})",
                )
            )
            valid = await run.ask(str(_VALID))
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
        _(
            f"Konformität des Registers {target.participant} ({_mode(target)})",
            f"Provider conformance of {target.participant} ({_mode(target)})",
        ),
        target.base_url,
        started,
        clock.now(),
        tuple(sections),
        participant=target.participant,
        notes=tuple(notes),
    )


def _mode(target: ProviderTarget) -> str:
    if target.mode == "passive":
        return _("Passivmodus", "passive mode")
    return _("Push-Modus", "push mode")


def _tls_context(
    mint: TokenMint, pki_dir: Path, participant: str, role: Role, tls: ProviderTls
) -> ssl.SSLContext:
    credential = mint.party(participant, role).credential
    anchor = tls.ca_file or (pki_dir / "ca" / "root-cert.pem")
    return client_context(TlsFiles(credential.cert_path, credential.key_path, anchor))


async def _dp15(run: _Run, progress: Callable[[str], None]) -> Section:
    progress(_("DP-15 Health-Endpunkt", "DP-15 health"))
    url = run.target.base_url + "/health"
    started = run.timer()
    try:
        response = await run.http.get(url, timeout=run.target.time_budget)
    except httpx.HTTPError as exc:
        check = _check(
            "GET /health",
            False,
            expected=_(
                "200 (betriebsbereit) oder 503 (eingeschränkt) mit JSON-Inhalt",
                "200 (healthy) or 503 (degraded) with a JSON body",
            ),
            actual=_(f"keine Antwort: {type(exc).__name__}", f"no answer: {type(exc).__name__}"),
            hint=condition("DP-15").hint,
        )
        return Section.for_condition(condition("DP-15"), [check])
    is_json = response.headers.get("content-type", "").startswith("application/json")
    ok = response.status_code in (200, 503) and is_json
    if response.status_code == 200:
        state = _("betriebsbereit", "healthy")
    else:
        state = _("eingeschränkt oder fehlend", "degraded or missing")
    not_json = "" if is_json else _(", Inhalt ist kein JSON", ", body is not JSON")
    check = Check(
        "GET /health",
        Status.PASSED if ok else Status.FAILED,
        _(
            "200 (betriebsbereit) oder 503 (eingeschränkt) mit JSON-Inhalt",
            "200 (healthy) or 503 (degraded) with a JSON body",
        ),
        f"HTTP {response.status_code} ({state}){not_json}",
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
    unknown = await run.ask(str(_UNKNOWN), target.unknown)

    sections.append(Section.for_condition(condition("DP-04"), await _dp04(run, progress)))

    # -- DP-05
    progress(_("DP-05 ungültige IDNr", "DP-05 invalid IDNr"))
    if isinstance(target.subject, NaturalPerson) and target.subject.idnr is not None:
        wrong = _invalid_idnr(target.subject)
        exchange = await run.ask(str(_WRONG_IDNR), wrong)
        dp05 = [
            _refusal(
                str(_WRONG_IDNR),
                exchange,
                EdmCode.INVALID_REQUEST,
                [*everyone, wrong],
                condition("DP-05").hint,
            )
        ]
    else:
        dp05 = [
            _skip(
                _("ungültige IDNr", "invalid IDNr"),
                _(
                    "der Nachweistyp betrifft juristische Personen (keine IDNr)",
                    "the evidence type is about legal persons (no IDNr)",
                ),
            )
        ]
    sections.append(Section.for_condition(condition("DP-05"), dp05))

    # -- DP-06
    dp06 = [
        _refusal(
            str(_UNKNOWN),
            unknown,
            EdmCode.NOT_FOUND,
            [*everyone, target.unknown],
            condition("DP-06").hint,
        )
    ]
    if target.ambiguous is not None:
        progress(_("DP-06 mehrdeutige Person", "DP-06 ambiguous person"))
        exchange = await run.ask(_("mehrdeutige Person", "ambiguous person"), target.ambiguous)
        leaks = _leaks(exchange, [target.ambiguous])
        ok = exchange.answer.is_error and not exchange.answer.has_evidence and not leaks
        leaked = _(f"; preisgegeben: {', '.join(leaks)}", f"; leaked {', '.join(leaks)}")
        dp06.append(
            _check(
                _(
                    "mehrdeutige Person (mehrere Einträge passen)",
                    "ambiguous person (several entries match)",
                ),
                ok,
                expected=_(
                    "eine Ablehnung (0103) ohne Nachweis und ohne personenbezogene Daten",
                    "a refusal (0103) without evidence or personal data",
                ),
                actual=exchange.describe() + (leaked if leaks else ""),
                exchange=exchange,
                hint=_(
                    "Mehrere Treffer sind kein Treffer: mit EDM:ERR:0004 ohne Daten antworten.",
                    "Several matches are no match: answer EDM:ERR:0004 without data.",
                ),
            )
        )
    else:
        dp06.append(
            _skip(
                _("mehrdeutige Person", "ambiguous person"),
                _(
                    "keine mehrdeutige Person angegeben: die Suite kann nicht wissen, welche "
                    "Ihrer Personen gleiche Grunddaten haben",
                    "no ambiguous person named: the suite cannot tell which of your people "
                    "share basic data",
                ),
                _(
                    "--ambiguous 'Familienname, Vorname, JJJJ-MM-TT' (Grunddaten, die zu zwei "
                    "oder mehr Personen Ihres Registers passen)",
                    "--ambiguous 'Family, Given, YYYY-MM-DD' (basic data that match two or "
                    "more people of your register)",
                ),
            )
        )
    sections.append(Section.for_condition(condition("DP-06"), dp06, requires_all=True))

    # -- DP-07
    if target.blocked is not None:
        progress(_("DP-07 Auskunftssperre", "DP-07 information block"))
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
                        _("Auskunftssperre", "information block"),
                        _(
                            "keine gesperrte Person angegeben: die Suite kann die Antwort für "
                            "eine gesperrte Person nicht mit der für eine unbekannte vergleichen",
                            "no blocked person named: the suite cannot compare a blocked "
                            "person's answer with an unknown one's",
                        ),
                        _(
                            "--blocked 'Familienname, Vorname, JJJJ-MM-TT[, IDNr]' (eine Person "
                            "mit Auskunftssperre in Ihrem Register)",
                            "--blocked 'Family, Given, YYYY-MM-DD[, IDNr]' (a person with an "
                            "Auskunftssperre in your register)",
                        ),
                    )
                ],
                requires_all=True,
            )
        )

    sections.append(
        Section.for_condition(condition("DP-14"), await _dp14(run, progress), requires_all=True)
    )
    sections.append(Section.for_condition(condition("DP-17"), await _dp17(run, progress)))
    sections.append(
        Section.for_condition(condition("DP-01"), _dp01(run, valid, unknown), requires_all=True)
    )
    sections.append(Section.for_condition(condition("DP-08"), _dp08(run, valid, unknown)))
    return sections


async def _dp04(run: _Run, progress: Callable[[str], None]) -> list[Check]:
    progress(_("DP-04 Token der Vermittlungsstelle", "DP-04 Vermittlungsstelle token"))
    target = run.target
    everyone = _everyone(run)
    hint = condition("DP-04").hint
    now = run.clock.now()
    other_register = _other_register(run)
    probes: list[tuple[str, dict[str, Any]]] = [
        (
            _(
                "kein Token, wo Noots-Vs-Token-Required true ist",
                "no token where Noots-Vs-Token-Required is true",
            ),
            {"with_token": False},
        ),
        (
            _("ein abgelaufenes Token", "an expired token"),
            {
                "token_changes": {
                    "issued_at": now - timedelta(minutes=10),
                    "expires_at": now - timedelta(minutes=5),
                }
            },
        ),
        (
            _(
                "ein Token, das der Datennutzer statt der Vermittlungsstelle gesiegelt hat",
                "a token sealed by the consumer instead of the VS",
            ),
            {"token_signer": run.factory.consumer_signer(target.consumer)},
        ),
        (
            _("ein Token eines anderen Datenhalters", "a token of another provider"),
            {"token_changes": {"provider": other_register}},
        ),
        (
            _(
                "ein anderer Zweck in Noots-Purpose als im Token",
                "another purpose in Noots-Purpose than in the token",
            ),
            {"metadata_purpose": "Werbung"},
        ),
        (
            _(
                "ein Token, wo keines erforderlich ist, für einen anderen Datenhalter",
                "a token where none is required, for another provider",
            ),
            {"token_changes": {"provider": other_register}, "vs_token_required": False},
        ),
    ]
    if target.other_consumer is not None:
        probes.append(
            (
                _("ein Token eines anderen Datennutzers", "a token of another consumer"),
                {"token_changes": {"consumer": target.other_consumer}},
            )
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
    name = _("ein Token einer anderen Nachweisanfrage", "a token of another request")
    exchange = await run.ask(name, issued_token=other.issued_token)
    checks.append(_refusal(name, exchange, EdmCode.AUTHORISATION, everyone, hint))
    if (
        isinstance(target.subject, NaturalPerson)
        and target.subject.idnr is not None
        and target.other_subject is not None
    ):
        name = _(
            "ein Token für eine Nachweisanfrage zu einer anderen Person (IDNr)",
            "a token for a request about another person (IDNr)",
        )
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
                _(
                    f"{other_type} (nicht geliefert) ohne Token",
                    f"{other_type} (not provided) without a token",
                ),
                {"with_token": False},
            ),
            (
                _(
                    f"{other_type} (nicht geliefert) mit einem Token eines anderen Datenhalters",
                    f"{other_type} (not provided) with a token of another provider",
                ),
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
                    _(
                        "Das Token vor dem Nachweistyp prüfen: ein unberechtigter Aufrufer darf "
                        "nicht erfahren, was Sie liefern (0002, nicht 0007). ",
                        "Check the token before the evidence type: an unauthorised caller must "
                        "not learn what you provide (0002, not 0007). ",
                    )
                    + hint,
                )
            )
    # Noots-Vs-Token-Required false and no token: the transfer needs none, answer it.
    name = _(
        "kein Token, wo keines erforderlich ist (Noots-Vs-Token-Required false)",
        "no token where none is required (Noots-Vs-Token-Required false)",
    )
    exchange = await run.ask(name, with_token=False, vs_token_required=False)
    checks.append(
        _check(
            name,
            exchange.answer.kind == "0102",
            expected=_(
                "eine 0102 (eine Übermittlung ohne VS-Token, wo das Gesetz keines verlangt)",
                "a 0102 (a transfer without a VS token where the law needs none)",
            ),
            actual=exchange.describe(),
            exchange=exchange,
            hint=_(
                "Ein Token nur verlangen, wo Noots-Vs-Token-Required true ist (oder eines kam).",
                "Require a token only where Noots-Vs-Token-Required is true (or one came).",
            ),
        )
    )
    return checks


async def _dp07(run: _Run, unknown: Exchange, person: NaturalPerson) -> list[Check]:
    blocked = await run.ask(_("gesperrte Person", "blocked person"), person)
    a, b = blocked.answer, unknown.answer
    differences = []
    if (a.kind, a.code) != (b.kind, b.code):
        differences.append(
            _(
                f"Code {a.kind} {a.code} gegenüber {b.kind} {b.code}",
                f"code {a.kind} {a.code} vs {b.kind} {b.code}",
            )
        )
    if a.detail != b.detail:
        differences.append(
            _(
                f"Detailtext {a.detail!r} gegenüber {b.detail!r}",
                f"detail {a.detail!r} vs {b.detail!r}",
            )
        )
    if blocked.status != unknown.status:
        differences.append(
            _(
                f"HTTP {blocked.status} gegenüber {unknown.status}",
                f"HTTP {blocked.status} vs {unknown.status}",
            )
        )
    if a.structure != b.structure:
        differences.append(
            _("die Antworten haben verschiedene Elemente", "the answers have different elements")
        )
    leaks = _leaks(blocked, [person])
    if leaks:
        differences.append(
            _(
                f"personenbezogene Daten der gesperrten Person: {', '.join(leaks)}",
                f"personal data of the blocked person: {', '.join(leaks)}",
            )
        )
    if not a.is_error:
        differences.append(
            _(
                f"die gesperrte Person erhielt {a.describe()}",
                f"the blocked person got {a.describe()}",
            )
        )
    checks = [
        _check(
            _(
                "gesperrte Person genau wie eine unbekannte beantwortet",
                "blocked person answered exactly like an unknown one",
            ),
            not differences,
            expected=_(
                "gleicher Code, Detailtext, HTTP-Status und gleiche Form wie für eine "
                "unbekannte Person",
                "same code, detail, HTTP status and shape as for an unknown person",
            ),
            actual="; ".join(differences)
            or _(
                f"beide {a.describe()}, gleicher Detailtext und gleiche Form",
                f"both {a.describe()}, same detail and shape",
            ),
            exchange=blocked,
            hint=condition("DP-07").hint,
        )
    ]
    blocked_times = [blocked.seconds]
    unknown_times = [unknown.seconds]
    for index in range(1, _TIMING_SAMPLES):
        blocked_name = _(f"gesperrte Person ({index + 1})", f"blocked person ({index + 1})")
        blocked_times.append((await run.ask(blocked_name, person)).seconds)
        unknown_name = _(f"unbekannte Person ({index + 1})", f"unknown person ({index + 1})")
        unknown_times.append((await run.ask(unknown_name, run.target.unknown)).seconds)
    slow, fast = statistics.median(blocked_times), statistics.median(unknown_times)
    gap = abs(slow - fast)
    telling = gap > _TIMING_SLACK and gap > 0.5 * max(slow, fast)
    checks.append(
        _check(
            _(
                "gesperrte Person in etwa der Zeit einer unbekannten beantwortet",
                "blocked person answered in about the time of an unknown one",
            ),
            not telling,
            expected=_(
                f"Mediane aus je {_TIMING_SAMPLES} Antworten höchstens {_TIMING_SLACK:g} s "
                "oder die Hälfte der langsameren auseinander",
                f"medians of {_TIMING_SAMPLES} answers within {_TIMING_SLACK:g} s or half "
                "the slower one",
            ),
            actual=_(
                f"gesperrt {slow:.3f} s, unbekannt {fast:.3f} s (Median)",
                f"blocked {slow:.3f} s, unknown {fast:.3f} s (median)",
            ),
            exchange=blocked,
            hint=_(
                "Für eine gesperrte Person dieselbe Arbeit tun wie für eine unbekannte (keine "
                "zusätzliche Suche, kein früher Abbruch), damit die Antwortzeit nichts verrät.",
                "Do the same work for a blocked person as for an unknown one (no extra "
                "look-up, no early exit) so the answer time tells nothing.",
            ),
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
        progress(_("DP-14 nicht unterstützter Nachweistyp", "DP-14 unsupported evidence type"))
        name = _(
            f"eine Nachweisanfrage für den Nachweistyp {other}, den das Register nicht liefert",
            f"a request for {other}, which the register does not provide",
        )
        exchange = await run.ask(
            name,
            evidence_type=other,
            service_id=run.topology.service_id(target.participant, target.evidence_type),
        )
        checks.append(_refusal(name, exchange, EdmCode.UNSUPPORTED_CAPABILITY, everyone, hint))
    else:
        checks.append(
            _skip(
                _("nicht unterstützter Nachweistyp", "unsupported evidence type"),
                _(
                    "die Landschaft hat keinen Nachweistyp, den das Register nicht liefert",
                    "the landscape has no evidence type the register does not provide",
                ),
                _(
                    "eine Topologie (--topology) mit einem weiteren Nachweistyp",
                    "a topology (--topology) with another evidence type",
                ),
            )
        )
    name = _("eine Dienstkennung eines anderen Registers", "a service id of another register")
    other_register = _other_register(run)
    exchange = await run.ask(
        name, service_id=run.topology.service_id(other_register, target.evidence_type)
    )
    checks.append(_refusal(name, exchange, EdmCode.UNRESOLVED_REFERENCE, everyone, hint))
    return checks


async def _dp17(run: _Run, progress: Callable[[str], None]) -> list[Check]:
    progress(_("DP-17 Nachweisanfrage und Metadaten", "DP-17 request and metadata"))
    target = run.target
    everyone = _everyone(run)
    hint = condition("DP-17").hint
    checks: list[Check] = []
    if target.other_consumer is not None:
        name = _(
            "eine 0101 eines anderen Anfragenden als Noots-Consumer",
            "a 0101 of another requester than Noots-Consumer",
        )
        exchange = await run.ask(
            name, consumer=target.other_consumer, metadata_consumer=target.consumer
        )
        checks.append(_refusal(name, exchange, None, everyone, hint))
    name = _("eine 0101, die einen anderen Datenhalter nennt", "a 0101 that names another provider")
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
            problems.append(
                _(
                    f"keine Antwort: {exchange.transport_error}",
                    f"no answer: {exchange.transport_error}",
                )
            )
        elif answer.kind != wanted:
            problems.append(
                _(
                    f"eine {wanted} erwartet, {answer.describe()} erhalten",
                    f"expected a {wanted}, got {answer.describe()}",
                )
            )
        if answer.parse_error:
            problems.append(
                _(
                    f"keine gültige XNachweis-Nachricht: {answer.parse_error}",
                    f"not a valid XNachweis message: {answer.parse_error}",
                )
            )
        schema = _schema_errors(answer.body_xml)
        if schema:
            problems.append(_("Schema: ", "schema: ") + "; ".join(schema[:3]))
        message = answer.message
        request = run.deliveries[exchange.name].request
        if message is not None and message.request_id != request.request_id:
            problems.append(
                _(
                    "die Antwort beantwortet nicht diese 0101 (andere Kennung der Nachweisanfrage)",
                    "the answer does not answer this 0101 (another request id)",
                )
            )
        if wanted == "0102":
            if not answer.has_evidence:
                problems.append(
                    _(
                        "kein Nachweisdokument in RepositoryItem",
                        "no evidence document in RepositoryItem",
                    )
                )
            elif isinstance(message, EvidenceResponse) and message.evidence is not None:
                wanted_type = run.topology.evidence_type(run.target.evidence_type)
                if message.evidence.conformance.classification != wanted_type.classification:
                    problems.append(
                        _(
                            "der Nachweis hat einen anderen Nachweistyp als angefragt",
                            "the evidence is of another type than requested",
                        )
                    )
            if isinstance(message, EvidenceResponse) and (
                message.provider.identifier != run.target.participant
            ):
                problems.append(
                    _(
                        f"die 0102 nennt den Datenhalter {message.provider.identifier}",
                        f"the 0102 names provider {message.provider.identifier}",
                    )
                )
        if schema is not None:
            schema_note = _("offizielles XNachweis-1.2.0-Schema", "official XNachweis 1.2.0 schema")
        else:
            schema_note = _("Struktur", "structure")
        checks.append(
            _check(
                _(
                    f"{exchange.name} mit einer gültigen {wanted} beantwortet",
                    f"{exchange.name} answered with a valid {wanted}",
                ),
                not problems,
                expected=_(
                    f"{wanted} gültig nach XNachweis 1.2.0 ({schema_note} geprüft), als Antwort "
                    "auf diese 0101",
                    f"{wanted} valid against XNachweis 1.2.0 ({schema_note} checked), "
                    "answering this 0101",
                ),
                actual="; ".join(problems) or _(f"gültige {wanted}", f"valid {wanted}"),
                exchange=exchange,
                hint=condition("DP-01").hint,
            )
        )
    if official_validator() is None:
        # Structure alone is not the condition: without the official schemas DP-01 is not
        # fully tested and must not show as passed.
        checks.append(
            _skip(
                _(
                    "gegen das offizielle XNachweis-1.2.0-Schema geprüft",
                    "checked against the official XNachweis 1.2.0 schema",
                ),
                _(
                    "die offiziellen Schemas liegen nicht vor (../shared neben dem Checkout "
                    "oder NOOTS_SHARED_DIR): nur die Struktur wurde geprüft",
                    "the official schemas are not at hand (../shared beside the checkout or "
                    "NOOTS_SHARED_DIR): only the structure was checked",
                ),
                _(
                    "NOOTS_SHARED_DIR=<Ordner mit xnachweis/ und tools/xnachweis_check.py>",
                    "NOOTS_SHARED_DIR=<folder with xnachweis/ and tools/xnachweis_check.py>",
                ),
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
                _(
                    f"requestid {answer.request_id!r}, Kennung der Nachweisanfrage "
                    f"urn:uuid:{request.request_id}",
                    f"requestid {answer.request_id!r}, request id urn:uuid:{request.request_id}",
                )
            )
        for label, value in (
            ("nachrichtenUUID", answer.message_uuid),
            ("EvidenceResponseIdentifier", answer.response_id),
        ):
            if not value:
                problems.append(_(f"kein {label}", f"no {label}"))
            elif value.lower().removeprefix("urn:uuid:") in {
                str(request.message_uuid),
                str(request.request_id),
            }:
                problems.append(
                    _(
                        f"{label} verwendet eine Kennung der Nachweisanfrage erneut",
                        f"{label} reuses an id of the request",
                    )
                )
            elif value.lower() in seen_uuids:
                problems.append(
                    _(
                        f"{label} {value} wurde schon in einer früheren Antwort verwendet",
                        f"{label} {value} was used in an earlier answer",
                    )
                )
            if value:
                seen_uuids.add(value.lower())
        zones = time_zone_problems(answer.times)
        if zones:
            problems.append(
                _(
                    f"Zeiten nicht in UTC mit Zone: {', '.join(zones[:3])}",
                    f"times not in UTC with zone: {', '.join(zones[:3])}",
                )
            )
        if not answer.times:
            problems.append(_("keine Zeitangaben gefunden", "no date-times found"))
        checks.append(
            _check(
                _(f"{exchange.name}: Kennungen und Zeiten", f"{exchange.name}: ids and times"),
                not problems,
                expected=_(
                    "requestid = Kennung der 0101, frische nachrichtenUUID und "
                    "Antwortkennung, UTC-Zeiten mit Z",
                    "requestid = the 0101's id, fresh nachrichtenUUID and response id, "
                    "UTC times with Z",
                ),
                actual="; ".join(problems)
                or _(
                    "Kennungen zurückgegeben und frisch, Zeiten in UTC",
                    "ids echoed and fresh, times in UTC",
                ),
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
        actual = _(f"Verbindung abgelehnt: {error}", f"connection refused: {error}")
        body = b""
    else:
        body = response.content
        leaks = b"RepositoryItem" in body or b"EvidenceResponse.0102" in body
        ok = response.status_code in statuses and not leaks
        actual = f"HTTP {response.status_code}" + (
            _("; eine Antwort mit Nachweis", "; an answer with evidence") if leaks else ""
        )
    if passive:
        expected = _(
            "401 oder 403 (oder kein Push-Endpunkt: 404/405), keine Daten",
            "401 or 403 (or no push endpoint: 404/405), no data",
        )
    else:
        expected = _("401 oder 403, keine Daten", "401 or 403, no data")
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
    progress(_("DP-16 nur der eigene SAK", "DP-16 only its own SAK"))
    target = run.target
    mint = run.mint
    passive = target.mode == "passive"
    acting_for = _other_register(run)
    other_sak = run.topology.sak_id(acting_for)
    checks: list[Check] = []
    valid = run.exchanges[str(_VALID)]
    if not passive and valid.transport_error is None:
        # The other half of "only its own SAK": the own SAK's valid token must get through.
        refused = _own_token_refused(target, valid.status)
        checks.append(
            _check(
                _(
                    "das gültige Token des eigenen SAK wird angenommen",
                    "its own SAK's valid token is accepted",
                ),
                refused is None,
                expected=_("keine Ablehnung mit 401/403", "no refusal with 401/403"),
                actual=valid.describe(),
                exchange=valid,
                hint=refused or condition("DP-16").hint,
            )
        )
    calls: list[tuple[str, str | None]] = [
        (_("kein Zugriffstoken", "no access token"), None),
        (
            _(
                f"ein gültiges Token des Online-Dienstes {target.consumer}",
                f"a valid token of the online service {target.consumer}",
            ),
            mint.bearer(target.consumer, Role.CONSUMER, target.participant),
        ),
        (
            _(
                f"ein gültiges Token eines anderen SAK ({other_sak})",
                f"a valid token of another SAK ({other_sak})",
            ),
            mint.bearer(other_sak, Role.SAK, target.participant),
        ),
        (
            _(
                "das Token des eigenen SAK für eine andere Zielgruppe (die IDA)",
                "its own SAK's token for another audience (the IDA)",
            ),
            mint.bearer(target.sak_id, Role.SAK, run.topology.ida.participant_id),
        ),
        (
            _(
                f"das Token des eigenen SAK, handelnd für einen anderen ({acting_for})",
                f"its own SAK's token acting for another participant ({acting_for})",
            ),
            mint.bearer(target.sak_id, Role.SAK, target.participant, acts_for=acting_for),
        ),
        (
            _(
                "das Token des eigenen SAK, vor einer Stunde abgelaufen",
                "its own SAK's token, expired an hour ago",
            ),
            mint.bearer(
                target.sak_id,
                Role.SAK,
                target.participant,
                issued_at=run.clock.now() - timedelta(hours=1, minutes=5),
            ),
        ),
    ]
    url = target.base_url + PROVIDER_REQUESTS_PATH
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
        name = _(
            f"das Token des eigenen SAK über dem TLS-Zertifikat von {target.consumer}",
            f"its own SAK's token over the TLS certificate of {target.consumer}",
        )
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
    valid = run.exchanges[str(_VALID)]
    in_time = valid.transport_error is None and valid.seconds <= target.time_budget
    answered = valid.answer.kind in ("0102", "0103")
    checks = [
        _check(
            _(
                "gültige Nachweisanfrage rechtzeitig beantwortet",
                "valid request answered in time",
            ),
            in_time and answered,
            expected=_(
                f"eine Antwort innerhalb von {target.time_budget:g} s",
                f"an answer within {target.time_budget:g} s",
            ),
            actual=_(
                f"{valid.describe()} nach {valid.seconds:.2f} s",
                f"{valid.describe()} after {valid.seconds:.2f} s",
            ),
            exchange=valid,
            hint=_(
                "Innerhalb der Zeitgrenze Ihres SAK (10 s) antworten oder "
                "ResponseAvailableDateTime ankündigen.",
                "Answer within your SAK's timeout (10 s), or announce ResponseAvailableDateTime.",
            ),
        )
    ]
    subject = target.async_subject
    option = _(
        "--asynchronous 'Familienname, Vorname, JJJJ-MM-TT[, IDNr]' (eine Person, die Ihr "
        "Register asynchron beantwortet)",
        "--asynchronous 'Family, Given, YYYY-MM-DD[, IDNr]' (a person your register answers "
        "asynchronously)",
    )
    asynchronous_answer = _("asynchrone Antwort", "asynchronous answer")
    if subject is None:
        checks.append(
            _skip(
                asynchronous_answer,
                _(
                    "keine asynchrone Person angegeben: nur die Antwortzeit wurde bewertet",
                    "no asynchronous person named: only the answer time was graded",
                ),
                option,
            )
        )
        # Only half of the condition was tested: it must not show as passed.
        return Section.for_condition(condition("DP-13"), checks, requires_all=True)
    progress(_("DP-13 asynchrone Person", "DP-13 asynchronous person"))
    first = await run.ask(str(_ASYNCHRONOUS), subject)
    answer = first.answer
    if answer.kind == "0102" and answer.has_evidence and first.seconds <= target.time_budget:
        checks.append(
            _check(
                str(_ASYNCHRONOUS),
                True,
                expected=_(
                    "der Nachweis sofort, oder ResponseAvailableDateTime und der Nachweis dann",
                    "evidence now, or ResponseAvailableDateTime and evidence then",
                ),
                actual=_(
                    f"Nachweis sofort geliefert nach {first.seconds:.2f} s",
                    f"evidence delivered at once after {first.seconds:.2f} s",
                ),
                exchange=first,
            )
        )
        return Section.for_condition(condition("DP-13"), checks)
    if answer.is_error and answer.code == EdmCode.NOT_FOUND.value:
        checks.append(
            _skip(
                asynchronous_answer,
                _(
                    "das Register kennt die asynchrone Person nicht (EDM:ERR:0004): nur die "
                    "Antwortzeit wurde bewertet",
                    "the register does not know the asynchronous person (EDM:ERR:0004): only "
                    "the answer time was graded",
                ),
                option,
            )
        )
        return Section.for_condition(condition("DP-13"), checks, requires_all=True)
    if answer.kind != "0102" or not answer.available_at:
        checks.append(
            _check(
                str(_ASYNCHRONOUS),
                False,
                expected=_(
                    "der Nachweis sofort, oder eine 0102 mit ResponseAvailableDateTime",
                    "evidence now, or a 0102 with ResponseAvailableDateTime",
                ),
                actual=_(
                    f"{first.describe()} nach {first.seconds:.2f} s",
                    f"{first.describe()} after {first.seconds:.2f} s",
                ),
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
                str(_ASYNCHRONOUS),
                False,
                expected=_(
                    "ResponseAvailableDateTime in UTC mit Zone",
                    "ResponseAvailableDateTime in UTC with zone",
                ),
                actual=_(
                    f"unlesbare Zeitangabe {answer.available_at!r}",
                    f"unreadable time {answer.available_at!r}",
                ),
                exchange=first,
                hint=condition("DP-13").hint,
            )
        )
        return Section.for_condition(condition("DP-13"), checks)
    wait = (available - run.clock.now()).total_seconds()
    checks.append(
        _check(
            _("kündigt ResponseAvailableDateTime an", "announces ResponseAvailableDateTime"),
            wait > -1,
            expected=_(
                "eine 0102, die einen Zeitpunkt in der Zukunft ankündigt",
                "a 0102 announcing a time in the future",
            ),
            actual=_(
                f"verfügbar ab {answer.available_at} (in {wait:.1f} s)",
                f"available at {answer.available_at} ({wait:.1f} s from now)",
            ),
            exchange=first,
            hint=condition("DP-13").hint,
        )
    )
    if wait > target.max_wait:
        # Announced, but not collected: the condition is not fully tested and must not pass.
        checks.append(
            _skip(
                _("den angekündigten Nachweis abholen", "collect the announced evidence"),
                _(
                    f"{wait:.0f} s im Voraus angekündigt, länger als die Suite wartet "
                    f"({target.max_wait:g} s)",
                    f"announced {wait:.0f} s ahead, more than the suite waits "
                    f"({target.max_wait:g} s)",
                ),
                f"--max-wait {int(wait) + 30}",
            )
        )
        return Section.for_condition(condition("DP-13"), checks, requires_all=True)
    progress(
        _(
            f"DP-13 wartet {max(wait, 0):.0f} s auf den angekündigten Nachweis",
            f"DP-13 waiting {max(wait, 0):.0f} s for the announced evidence",
        )
    )
    await sleep(max(wait, 0) + 0.05)
    again = run.factory.redeliver(run.deliveries[str(_ASYNCHRONOUS)])
    second = await run.deliver(
        _("asynchrone Person, abgeholt", "asynchronous person, collected"), again
    )
    request_id = f"urn:uuid:{again.request.request_id}"
    ok = (
        second.answer.kind == "0102"
        and second.answer.has_evidence
        and (second.answer.request_id or "").lower() == request_id
    )
    checks.append(
        _check(
            _(
                "dieselbe 0101 nach ResponseAvailableDateTime erhält den Nachweis",
                "the same 0101 after ResponseAvailableDateTime gets the evidence",
            ),
            ok,
            expected=_(
                f"0102 mit Nachweis für {request_id}", f"0102 with evidence for {request_id}"
            ),
            actual=second.describe(),
            exchange=second,
            hint=condition("DP-13").hint,
        )
    )
    return Section.for_condition(condition("DP-13"), checks)


async def _dp12(run: _Run, progress: Callable[[str], None]) -> Section:
    progress(_("DP-12 Protokollexport", "DP-12 protocol export"))
    target = run.target
    url = target.protocol_export or (target.base_url + PROVIDER_TRANSFERS_PATH)
    expectations: list[tuple[str, str, bool]] = [
        (str(_VALID), "delivered", True),
        (str(_UNKNOWN), "refused:EDM:ERR:0004", True),
    ]
    if str(_WRONG_IDNR) in run.deliveries:
        expectations.append((str(_WRONG_IDNR), "refused:EDM:ERR:0003", False))
    option = _(
        "GET /provider/v1/transfers?requestId=… bereitstellen (docs/SAK.md, 'Protocol "
        "export'), oder --protocol-export URL, wo Ihr Register ihn bereitstellt",
        "serve GET /provider/v1/transfers?requestId=… (docs/SAK.md, 'Protocol export'), or "
        "--protocol-export URL where your register serves it",
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
                    _(f"{name} protokolliert", f"{name} logged"),
                    _(
                        f"der Protokollexport unter {url} antwortet nicht ({type(exc).__name__})",
                        f"the protocol export at {url} does not answer ({type(exc).__name__})",
                    ),
                    option,
                )
            )
            continue
        if response.status_code in (404, 405) and not _is_export(response):
            return Section.for_condition(
                condition("DP-12"),
                [
                    _skip(
                        _("Protokollexport", "protocol export"),
                        _(
                            f"{url} wird nicht bereitgestellt (HTTP {response.status_code})",
                            f"{url} is not served (HTTP {response.status_code})",
                        ),
                        option,
                    )
                ],
                requires_all=True,
            )
        entries = _export_entries(response)
        if entries is None:
            checks.append(
                _check(
                    _(f"{name} protokolliert", f"{name} logged"),
                    False,
                    expected=_(
                        "200 mit {'transfers': [...]} für den eigenen SAK des Registers",
                        "200 with {'transfers': [...]} for the register's own SAK",
                    ),
                    actual=f"HTTP {response.status_code}: {excerpt(response.content, 200)}",
                    hint=_own_token_refused(run.target, response.status_code)
                    or condition("DP-12").hint,
                )
            )
            continue
        checks.append(_logged(run, name, delivery, outcome, with_idnr, entries))
    return Section.for_condition(condition("DP-12"), checks, requires_all=True)


def _own_token_refused(target: ProviderTarget, status: int | None) -> str | None:
    """What to check when the register refused a call made with its own SAK's valid token:
    every condition would otherwise fail with a hint about something else."""
    if status not in (401, 403):
        return None
    claims = (
        f"sub {target.sak_id}, aud {target.participant}, acts_for {target.participant}, roles [sak]"
    )
    return _(
        f"Ihr Register hat ein gültiges Zugriffstoken seines eigenen SAK abgelehnt (HTTP "
        f"{status}; {claims}): prüfen Sie Ihre Tokenprüfung (docs/SAK.md, "
        "„Access tokens, both ways“).",
        f"Your register refused a valid access token of its own SAK (HTTP {status}; "
        f"{claims}): check your token check (docs/SAK.md, “Access tokens, both ways”).",
    )


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
        found = ", ".join(sorted(str(e.get("outcome")) for e in entries)) or _("keiner", "none")
        problems.append(
            _(
                f"kein Eintrag mit dem Ergebnis {outcome} (protokolliert: {found})",
                f"no entry with outcome {outcome} (logged: {found})",
            )
        )
    else:
        entry = match[0]
        if entry.get("consumer") != delivery.metadata.consumer:
            problems.append(
                _(
                    f"Datennutzer {entry.get('consumer')!r}",
                    f"consumer {entry.get('consumer')!r}",
                )
            )
        if entry.get("evidenceType") not in (type_spec.name, type_spec.classification):
            problems.append(
                _(
                    f"Nachweistyp {entry.get('evidenceType')!r}",
                    f"evidence type {entry.get('evidenceType')!r}",
                )
            )
        if entry.get("purpose") != delivery.metadata.purpose:
            problems.append(
                _(f"Zweck {entry.get('purpose')!r}", f"purpose {entry.get('purpose')!r}")
            )
        if with_idnr and idnr is not None and entry.get("idnr") != idnr:
            problems.append(
                _(
                    "die IDNr ist nicht protokolliert (das Datenschutzcockpit der Bürgerin oder "
                    "des Bürgers könnte sie nicht zeigen)",
                    "the IDNr is not logged (the citizen's cockpit could not show it)",
                )
            )
    with_the_idnr = _(", die IDNr", ", the IDNr") if with_idnr and idnr else ""
    return Check(
        _(f"{name} protokolliert", f"{name} logged"),
        Status.FAILED if problems else Status.PASSED,
        expected=_(
            f"ein Eintrag für urn:uuid:{request.request_id}: Ergebnis {outcome}, Datennutzer "
            f"{delivery.metadata.consumer}, Nachweistyp, Zweck{with_the_idnr}",
            f"an entry for urn:uuid:{request.request_id}: outcome {outcome}, consumer "
            f"{delivery.metadata.consumer}, evidence type, purpose{with_the_idnr}",
        ),
        actual="; ".join(problems) or _("protokolliert", "logged"),
        hint=condition("DP-12").hint if problems else "",
    )
