"""The consumer conformance suite: rounds of retrievals against a misbehaving platform, graded
per connection condition DC-01 … DC-09.

=====================  ============================================================  =========
round                  what the platform does                                        graded
=====================  ============================================================  =========
normal                 a real exchange (one evidence declined in the preview)        DC-01…04,
                                                                                      07, 09
vs_refuses             the VS refuses the token                                      DC-03
tampered / unsigned /  the answer is changed after signing / has no signature /     DC-05
unbound / wrong_signer bound to another request / signed by another register
asynchronous           the register announces the evidence 1.5 s later               DC-06
error 0001 … 0008      the register answers with each error code                     DC-06, 08
transient              the hub fails once (0008, HTTP 502), then delivers            DC-08
always_failing         the hub fails every time                                      DC-08
invalid_idnr           the service is handed an invalid IDNr (drivers that can)      DC-04
=====================  ============================================================  =========

DC-01 … DC-04 are also checked on every request of every round.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from noots import idnr as idnr_rules
from noots import messages
from noots.clock import Clock
from noots.conformance import Check, Report, Section, Status, condition, excerpt
from noots.envelope import EnvelopeHeader, open_envelope
from noots.errors import ConfigurationError, EdmCode, NootsError
from noots.pki import Role
from noots.protocol import open_protocol_log
from noots.tokens import request_hash, verify_token
from noots.topology import Topology
from registers.consumer_conformance._drivers import (
    ConsumerDriver,
    DriverResult,
    ManualDriver,
    RetrievalCase,
)
from registers.consumer_conformance._gateway import (
    Event,
    Gateway,
    Mode,
    _claimed_header,
    _unverified,
)

__all__ = ["ConsumerTarget", "run_consumer_suite"]

_ERIKA = ("02476291358", "Erika", "Mustermann", date(1964, 8, 12))
_LENA = ("01234567812", "Lena", "Musterfrau", date(1992, 3, 14))
_INVALID_IDNR = "02476291359"
#: What the citizen declines in the preview of the normal round, per demo service kind.
_DECLINED = {
    "bewohnerparkausweis": frozenset({"Fahrzeughalterauskunft"}),
    "elterngeld": frozenset({"Meldebescheinigung"}),
}


@dataclass(frozen=True)
class ConsumerTarget:
    """The online service under test: its participant id, where its protocol log is (DC-09),
    and how many attempts per request count as bounded (DC-08)."""

    participant: str
    kind: str | None = None
    protocol_log: str | None = None
    retry_bound: int = 5


@dataclass
class _Round:
    name: str
    mode: Mode
    code: EdmCode | None
    case: RetrievalCase
    result: DriverResult
    events: list[Event]
    seconds: float

    @property
    def hub(self) -> list[Event]:
        return [e for e in self.events if e.kind == "hub"]

    def requests(self) -> list[tuple[Event, EnvelopeHeader, messages.EvidenceRequest]]:
        found = []
        for event in self.hub:
            parts = _unverified(event.request)
            if parts is not None:
                found.append((event, *parts))
        return found


def _rounds(driver: ConsumerDriver) -> list[tuple[str, Mode, EdmCode | None]]:
    rounds: list[tuple[str, Mode, EdmCode | None]] = [
        ("normal", Mode.NORMAL, None),
        ("vs_refuses", Mode.VS_REFUSES, None),
        ("tampered", Mode.TAMPERED, None),
        ("unsigned", Mode.UNSIGNED, None),
        ("unbound", Mode.UNBOUND, None),
        ("wrong_signer", Mode.WRONG_SIGNER, None),
        ("asynchronous", Mode.ASYNCHRONOUS, None),
    ]
    rounds += [(f"error {code.value}", Mode.ERROR, code) for code in EdmCode]
    rounds += [
        ("transient", Mode.TRANSIENT, None),
        ("always_failing", Mode.ALWAYS_FAILING, None),
    ]
    if driver.supports_idnr:
        rounds.append(("invalid_idnr", Mode.NORMAL, None))
    return rounds


def _check(
    name: str,
    ok: bool | None,
    *,
    expected: str,
    actual: str,
    event: Event | None = None,
    hint: str = "",
    seconds: float = 0.0,
) -> Check:
    status = Status.SKIPPED if ok is None else (Status.PASSED if ok else Status.FAILED)
    return Check(
        name,
        status,
        expected=expected,
        actual=actual,
        request=excerpt(event.request, 1200) if event else "",
        response=excerpt(event.response, 1200) if event else "",
        hint=hint if status is Status.FAILED else "",
        seconds=seconds,
    )


async def run_consumer_suite(
    target: ConsumerTarget,
    *,
    gateway: Gateway,
    driver: ConsumerDriver,
    topology: Topology,
    clock: Clock,
    on_progress: Callable[[str], None] | None = None,
    notes: Sequence[str] = (),
) -> Report:
    """Play every round with ``driver`` and grade (see the module docstring).

    Raises :class:`ConfigurationError` before any round if a by-hand driver would end the
    asynchronous round while the service is still waiting for the announced time.
    """
    wait = gateway.async_delay.total_seconds()
    if isinstance(driver, ManualDriver) and driver.quiet_seconds <= wait:
        raise ConfigurationError(
            f"the by-hand driver's quiet period ({driver.quiet_seconds:g} s) must be longer than "
            f"the announced wait of an asynchronous answer ({wait:g} s): the round would end "
            "before the service comes back for the evidence"
        )
    progress = on_progress or (lambda _text: None)
    started = clock.now()
    person = _LENA if target.kind == "elterngeld" else _ERIKA
    rounds: dict[str, _Round] = {}
    for name, mode, code in _rounds(driver):
        progress(f"round {name}")
        idnr = _INVALID_IDNR if name == "invalid_idnr" else person[0]
        case = RetrievalCase(
            name,
            idnr,
            person[1],
            person[2],
            person[3],
            reject=_DECLINED.get(target.kind or "", frozenset())
            if name == "normal"
            else frozenset(),
        )
        state = gateway.start_round(mode, code)
        began = time.perf_counter()

        def calls() -> int:
            return gateway.count("hub") + gateway.count("vs")

        result = await driver.retrieve(case, calls)
        rounds[name] = _Round(
            name, mode, code, case, result, list(state.events), time.perf_counter() - began
        )
    gateway.start_round(Mode.NORMAL)
    sections = [
        Section.for_condition(condition("DC-01"), _dc01(gateway, rounds)),
        Section.for_condition(condition("DC-02"), _dc02(gateway, target, rounds)),
        Section.for_condition(condition("DC-03"), _dc03(gateway, target, rounds, clock)),
        Section.for_condition(condition("DC-04"), _dc04(rounds)),
        Section.for_condition(condition("DC-05"), _dc05(rounds)),
        Section.for_condition(condition("DC-06"), _dc06(rounds, gateway)),
        Section.for_condition(condition("DC-07"), _dc07(rounds)),
        Section.for_condition(condition("DC-08"), _dc08(target, rounds)),
        Section.for_condition(condition("DC-09"), _dc09(target, rounds, clock)),
    ]
    return Report(
        "consumer",
        f"Consumer conformance of {target.participant}",
        target.participant,
        started,
        clock.now(),
        tuple(sections),
        participant=target.participant,
        notes=tuple(notes),
    )


def _all_requests(
    rounds: dict[str, _Round],
) -> list[tuple[str, Event, EnvelopeHeader, messages.EvidenceRequest]]:
    return [(r.name, *item) for r in rounds.values() for item in r.requests()]


# -- DC-01 -----------------------------------------------------------------------------------


def _rdn_services(events: list[Event]) -> set[tuple[str, str]]:
    import json

    found: set[tuple[str, str]] = set()
    for event in events:
        if event.kind != "rdn" or event.status != 200:
            continue
        try:
            data = json.loads(event.response)
        except ValueError:
            continue
        services = data.get("services") if isinstance(data, dict) else data
        for entry in services or []:
            if isinstance(entry, dict):
                found.add((str(entry.get("participantId")), str(entry.get("serviceId"))))
    return found


def _dc01(gateway: Gateway, rounds: dict[str, _Round]) -> list[Check]:
    from consumers.provider_conformance._answers import official_validator

    validate = official_validator()
    checks = []
    normal = rounds["normal"]
    sent = normal.requests()
    checks.append(
        _check(
            "the normal round sent evidence requests",
            bool(sent),
            expected="at least one 0101 to the hub",
            actual=f"{len(sent)} request(s)"
            + (f"; driver: {normal.result.error}" if normal.result.error else ""),
            hint="The service must fetch when the citizen asks for it.",
        )
    )
    problems: list[str] = []
    first_bad: Event | None = None
    for round_name, event, header, request in _all_requests(rounds):
        index = rounds[round_name].events.index(event)
        services = _rdn_services(rounds[round_name].events[:index])
        issues = []
        if (header.recipient, header.service_id) not in services:
            issues.append(
                f"service {header.service_id} of {header.recipient} was not named by the RDN "
                "before the request"
            )
        if request.provider.identifier != header.recipient:
            issues.append("the 0101's provider is not the envelope's recipient")
        if validate is not None:
            from lxml import etree

            from noots.envelope import ENV_NS
            from noots.xml import parse

            body = parse(event.request).find(f"{{{ENV_NS}}}Body")
            errors = validate(bytes(etree.tostring(body[0]))) if body is not None else ["no body"]
            if errors:
                issues.append("not valid XNachweis: " + "; ".join(errors[:2]))
        if issues:
            problems.append(f"{round_name}: " + "; ".join(issues))
            first_bad = first_bad or event
    unparsable = [e for r in rounds.values() for e in r.hub if _unverified(e.request) is None]
    if unparsable:
        problems.append(f"{len(unparsable)} request(s) are not an envelope with a valid 0101")
        first_bad = first_bad or unparsable[0]
    checks.append(
        _check(
            "every 0101 is valid XNachweis and goes to the RDN's provider and service id",
            not problems if sent else None,
            expected="valid 0101s addressed to what the RDN answered",
            actual="; ".join(problems[:4]) or "all requests valid and addressed as the RDN said",
            event=first_bad,
            hint=condition("DC-01").hint,
        )
    )
    return checks


# -- DC-02 -----------------------------------------------------------------------------------


def _dc02(gateway: Gateway, target: ConsumerTarget, rounds: dict[str, _Round]) -> list[Check]:
    problems: list[str] = []
    first_bad: Event | None = None
    count = 0
    for round_ in rounds.values():
        for event in round_.events:
            if event.kind not in ("hub", "vs"):
                continue
            count += 1
            claimed = _claimed_header(event.request)
            try:
                opened = open_envelope(event.request, gateway.verifier, required_role=Role.CONSUMER)
                signer = opened.signer.participant_id
                if signer != target.participant:
                    problems.append(f"{round_.name}: {event.kind} request signed by {signer}")
                    first_bad = first_bad or event
                elif event.kind == "hub":
                    parts = _unverified(event.request)
                    if parts is not None and parts[1].requester.identifier != signer:
                        problems.append(f"{round_.name}: the 0101 names another requester")
                        first_bad = first_bad or event
            except NootsError as exc:
                sender = claimed.sender if claimed else "?"
                problems.append(f"{round_.name}: {event.kind} request from {sender}: {exc.message}")
                first_bad = first_bad or event
    return [
        _check(
            "every VS and hub request is signed with the consumer's own key",
            not problems if count else None,
            expected=f"XMLDSig of {target.participant} (role consumer), Sender = 0101 requester",
            actual="; ".join(problems[:4]) or f"{count} requests signed correctly",
            event=first_bad,
            hint=condition("DC-02").hint,
        )
    ]


# -- DC-03 -----------------------------------------------------------------------------------


def _dc03(
    gateway: Gateway, target: ConsumerTarget, rounds: dict[str, _Round], clock: Clock
) -> list[Check]:
    problems: list[str] = []
    first_bad: Event | None = None
    sent = _all_requests(rounds)
    for round_name, event, _header, request in sent:
        from noots.envelope import ENV_NS
        from noots.xml import parse

        body = parse(event.request).find(f"{{{ENV_NS}}}Body")
        if not request.issued_token:
            problems.append(f"{round_name}: a 0101 without a VS token")
            first_bad = first_bad or event
            continue
        try:
            token = verify_token(request.issued_token, gateway.verifier, clock=clock)
        except NootsError as exc:
            problems.append(f"{round_name}: the token does not verify ({exc.message})")
            first_bad = first_bad or event
            continue
        if body is None or token.request_hash != request_hash(body[0]):
            problems.append(f"{round_name}: the token is for another request (request hash)")
            first_bad = first_bad or event
        elif token.consumer != target.participant or token.provider != request.provider.identifier:
            problems.append(f"{round_name}: the token names other partners")
            first_bad = first_bad or event
    checks = [
        _check(
            "every 0101 carries the VS token issued for exactly this request",
            not problems if sent else None,
            expected="IssuedToken sealed by the VS, its request hash = the 0101's",
            actual="; ".join(problems[:4]) or f"{len(sent)} requests with fitting tokens",
            event=first_bad,
            hint=condition("DC-03").hint,
        )
    ]
    refused = rounds["vs_refuses"]
    asked_vs = sum(1 for e in refused.events if e.kind == "vs")
    checks.append(
        _check(
            "nothing is sent when the VS refuses",
            (not refused.hub) if asked_vs else None,
            expected="no request to the hub after the VS refused",
            actual=f"{len(refused.hub)} request(s) to the hub after {asked_vs} refused "
            "token request(s)",
            event=refused.hub[0] if refused.hub else None,
            hint="Stop when the VS answers with an error; never send without a token.",
        )
    )
    return checks


# -- DC-04 -----------------------------------------------------------------------------------


def _dc04(rounds: dict[str, _Round]) -> list[Check]:
    bad: list[str] = []
    first_bad: Event | None = None
    seen = 0
    for round_name, event, _header, request in _all_requests(rounds):
        subject = request.subject
        if isinstance(subject, messages.NaturalPerson) and subject.idnr is not None:
            seen += 1
            if not idnr_rules.is_valid(subject.idnr, allow_test_numbers=True):
                bad.append(f"{round_name}: {subject.idnr}")
                first_bad = first_bad or event
    checks = [
        _check(
            "every IDNr sent is valid",
            not bad if seen else None,
            expected="IDNrs that pass every rule (check digit, repetitions)",
            actual="invalid IDNrs sent: " + ", ".join(bad) if bad else f"{seen} valid IDNr(s) sent",
            event=first_bad,
            hint=condition("DC-04").hint,
        )
    ]
    if "invalid_idnr" in rounds:
        round_ = rounds["invalid_idnr"]
        leaked = [
            e
            for e in round_.events
            if e.kind in ("hub", "vs", "ida") and _INVALID_IDNR.encode() in e.request
        ]
        checks.append(
            _check(
                "an invalid IDNr given to the service is never sent",
                not leaked,
                expected=f"no request carrying {_INVALID_IDNR}",
                actual=f"{len(leaked)} request(s) carried it" if leaked else "nothing sent with it",
                event=leaked[0] if leaked else None,
                hint=condition("DC-04").hint,
            )
        )
    else:
        checks.append(
            _check(
                "an invalid IDNr given to the service is never sent",
                None,
                expected="",
                actual="the driver cannot hand the service an IDNr (use --trigger-url)",
            )
        )
    return checks


# -- DC-05 -----------------------------------------------------------------------------------


def _dc05(rounds: dict[str, _Round]) -> list[Check]:
    checks = []
    for name, what in (
        ("tampered", "an answer changed after signing"),
        ("unsigned", "an answer without signature"),
        ("unbound", "an answer bound to another request"),
        ("wrong_signer", "an answer signed by another register"),
    ):
        round_ = rounds[name]
        result = round_.result
        manipulated = [e for e in round_.hub if e.note]
        if result.received is None or not manipulated:
            why = (
                "the driver cannot tell what the service used"
                if result.received is None
                else "the service sent no request in this round"
            )
            checks.append(_check(f"refuses {what}", None, expected="", actual=why))
            continue
        used = sorted(result.received | (result.used or frozenset()))
        checks.append(
            _check(
                f"refuses {what}",
                not used and result.error is None,
                expected="no evidence accepted or shown, the service keeps working",
                actual=(
                    f"used: {', '.join(used)}"
                    if used
                    else (result.error or "refused, nothing used")
                ),
                event=manipulated[0],
                hint=condition("DC-05").hint,
                seconds=round_.seconds,
            )
        )
    return checks


# -- DC-06 -----------------------------------------------------------------------------------


def _dc06(rounds: dict[str, _Round], gateway: Gateway) -> list[Check]:
    checks = []
    for code in EdmCode:
        round_ = rounds[f"error {code.value}"]
        result = round_.result
        if not round_.hub:
            checks.append(
                _check(f"handles {code.value}", None, expected="", actual="no request sent")
            )
            continue
        known = result.received is not None
        ok = result.error is None and (not known or not result.received)
        checks.append(
            _check(
                f"handles {code.value} ({code.title})",
                ok,
                expected="the refusal is handled: no crash, no evidence used",
                actual=result.error
                or (
                    f"used: {', '.join(sorted(result.received or ()))}"
                    if known and result.received
                    else "handled"
                ),
                event=round_.hub[0],
                hint=condition("DC-06").hint,
                seconds=round_.seconds,
            )
        )
    round_ = rounds["asynchronous"]
    sent = round_.requests()
    problems: list[str] = []
    if not sent:
        problems.append("no request sent")
    else:
        first_event, first_header, first_request = sent[0]
        later = [item for item in sent[1:] if item[2].request_id == first_request.request_id]
        if not later:
            problems.append("the service never came back for the announced evidence")
        else:
            event, header, request = later[0]
            if request.message_uuid != first_request.message_uuid:
                problems.append("the collection carries a new nachrichtenUUID")
            if header.message_id == first_header.message_id:
                problems.append("the collection reuses the envelope MessageId")
            early = gateway.async_delay.total_seconds() - (event.monotonic - first_event.monotonic)
            if early > 0.5:
                problems.append(f"came back {early:.1f} s before ResponseAvailableDateTime")
        if round_.result.received is not None and not round_.result.received:
            problems.append("the evidence was not accepted after collection")
    checks.append(
        _check(
            "collects an asynchronous answer when it is due",
            not problems,
            expected="the same 0101 (request id, nachrichtenUUID) in a fresh envelope after "
            "ResponseAvailableDateTime, then the evidence",
            actual="; ".join(problems) or "collected when due, evidence accepted",
            event=sent[0][0] if sent else None,
            hint=condition("DC-06").hint,
            seconds=round_.seconds,
        )
    )
    return checks


# -- DC-07 -----------------------------------------------------------------------------------


def _dc07(rounds: dict[str, _Round]) -> list[Check]:
    result = rounds["normal"].result
    if result.fetched_before_consent is None:
        return [
            _check(
                "consent before fetching, preview before use",
                None,
                expected="",
                actual="the driver cannot see consent and preview (use --demo-url for a "
                "service with the noots web flow)",
                hint="DC-07 needs a driver that goes through the citizen's pages.",
            )
        ]
    case = rounds["normal"].case
    declined = case.reject & (result.received or frozenset())
    rejected_used = sorted(declined & (result.used or frozenset()))
    return [
        _check(
            "nothing is fetched before the citizen consents",
            not result.fetched_before_consent,
            expected="no VS or hub request before the consent form is sent",
            actual="fetched before consent"
            if result.fetched_before_consent
            else "fetched only after consent",
            hint=condition("DC-07").hint,
        ),
        _check(
            "every fetched evidence is previewed for acceptance",
            bool(result.previewed),
            expected="a preview with accept/reject for each evidence before the application ends",
            actual="previewed" if result.previewed else "no preview with a decision",
            hint=condition("DC-07").hint,
        ),
        _check(
            "a declined evidence is not used",
            not rejected_used if declined else None,
            expected="declined evidence absent from the completed application",
            actual=f"used although declined: {', '.join(rejected_used)}"
            if rejected_used
            else "not used",
            hint=condition("DC-07").hint,
        ),
    ]


# -- DC-08 -----------------------------------------------------------------------------------


def _attempts(
    round_: _Round,
) -> dict[str, list[tuple[Event, EnvelopeHeader, messages.EvidenceRequest]]]:
    grouped: dict[str, list[tuple[Event, EnvelopeHeader, messages.EvidenceRequest]]] = {}
    for item in round_.requests():
        grouped.setdefault(str(item[2].request_id), []).append(item)
    return grouped


def _dc08(target: ConsumerTarget, rounds: dict[str, _Round]) -> list[Check]:
    checks = []
    transient = rounds["transient"]
    sent = transient.requests()
    problems: list[str] = []
    if not sent:
        problems.append("no request sent")
    else:
        first_request = sent[0][2]
        retries = [
            item
            for item in sent[1:]
            if item[2].provider.identifier == first_request.provider.identifier
        ]
        same = [item for item in retries if item[2].request_id == first_request.request_id]
        if not retries:
            problems.append("the transient failure was not retried")
        elif not same:
            problems.append("the retry carries a new request id")
        else:
            if any(item[2].message_uuid != first_request.message_uuid for item in same):
                problems.append("the retry carries a new nachrichtenUUID")
            envelope_ids = {item[1].message_id for item in [sent[0], *same]}
            if len(envelope_ids) != 1 + len(same):
                problems.append("an envelope MessageId was reused")
        if transient.result.received is not None and not transient.result.received:
            problems.append("the evidence was not accepted after the retry")
    checks.append(
        _check(
            "retries a transient failure with the same 0101",
            not problems,
            expected="a retry in a fresh envelope with the same request id and nachrichtenUUID",
            actual="; ".join(problems) or "retried with the same 0101, then delivered",
            event=sent[0][0] if sent else None,
            hint=condition("DC-08").hint,
            seconds=transient.seconds,
        )
    )
    failing = rounds["always_failing"]
    counts = [len(items) for items in _attempts(failing).values()]
    checks.append(
        _check(
            "gives up after a bounded number of attempts",
            bool(counts) and max(counts) <= target.retry_bound if counts else None,
            expected=f"at most {target.retry_bound} attempts per request",
            actual=f"attempts per request: {counts}" if counts else "no request sent",
            event=failing.hub[-1] if failing.hub else None,
            hint=condition("DC-08").hint,
            seconds=failing.seconds,
        )
    )
    final = rounds[f"error {EdmCode.NOT_FOUND.value}"]
    final_counts = [len(items) for items in _attempts(final).values()]
    checks.append(
        _check(
            "does not repeat a final refusal (0004)",
            max(final_counts) == 1 if final_counts else None,
            expected="one attempt per request",
            actual=f"attempts per request: {final_counts}" if final_counts else "no request sent",
            event=final.hub[-1] if final.hub else None,
            hint="Retry only what can pass: timeouts and 502/503/504, not a refusal.",
        )
    )
    return checks


# -- DC-09 -----------------------------------------------------------------------------------


def _dc09(target: ConsumerTarget, rounds: dict[str, _Round], clock: Clock) -> list[Check]:
    if target.protocol_log is None:
        return [
            _check(
                "the service logs its transfers",
                None,
                expected="",
                actual="the suite cannot see the service's protocol log",
                hint="Pass --protocol-log (SQLite file or postgresql:// URL).",
            )
        ]
    log = open_protocol_log(target.protocol_log, party="noots-conformance", clock=clock)
    try:
        entries = log.entries()
        try:
            log.verify()
            intact = True
        except NootsError:
            intact = False
    finally:
        log.close()
    logged: dict[str, set[str]] = {}
    for entry in entries:
        logged.setdefault(entry.message_id.lower().removeprefix("urn:uuid:"), set()).add(
            entry.outcome
        )
    checks = [
        _check(
            "the log's hash chain is intact",
            intact,
            expected="the log verifies",
            actual="intact" if intact else "the chain is broken",
            hint="Never change or delete protocol entries.",
        )
    ]
    for name, outcome in (
        ("normal", "delivered"),
        (f"error {EdmCode.NOT_FOUND.value}", "refused:EDM:ERR:0004"),
    ):
        ids = sorted({str(item[2].request_id) for item in rounds[name].requests()})
        missing = [i for i in ids if outcome not in logged.get(i, set())]
        checks.append(
            _check(
                f"{name} round logged as {outcome}",
                not missing if ids else None,
                expected=f"an entry with outcome {outcome} for each request",
                actual=f"not logged: {', '.join(missing)}" if missing else f"{len(ids)} logged",
                hint=condition("DC-09").hint,
            )
        )
    return checks
