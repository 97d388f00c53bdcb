"""The two EU pilots of ``noots demo``, played end to end against a running landscape and drawn
hop by hop like the national one (:mod:`noots.landscape.pilot`), docs/EU.md:

- ``geburtsurkunde-eu`` (use case 3): the Mairie de Lyon's requester (``eu-gw-fr``) asks the
  Intermediäre Plattform for Erika Mustermann's Geburtsurkunde with preview; the IP asks the
  Personenstandsregister through its SAK; the person looks at the evidence on the IP's preview
  page and approves (simulated German eID); the requester asks again and gets it.
- ``hochschulabschluss-eu`` (use case 4): the ZAB orders her Austrian degree through its SAK
  (``DE.EvidenceOrder.0401`` → 0402); the citizen follows ``URLtoIP``, identifies at the IP
  (simulated eIDAS), approves in the Universität Wien's preview space and comes back; the ZAB
  collects (``DE.GetEvidence.0411`` → 0412).

The people are simulated exactly as the dashboard's pilots do it
(:mod:`noots.consumers._eu_citizen`); every HTTP exchange of the one who asks (and of the simulated
person) is recorded and each becomes a hop with the checks made on its bytes; the register's
protocol (§ 9 IDNrG) is read from the data directory when it is at hand.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx

from noots import messages
from noots.errors import NootsError, UpstreamError
from noots.landscape.pilot import Check, Exchange, Hop, _Recorder
from noots.participant import Participant
from noots.settings import NootsSettings
from noots.topology import Topology
from noots.xml import parse as parse_xml

__all__ = [
    "EU_BIRTH_PILOT",
    "EU_DEGREE_PILOT",
    "EuPilot",
    "EuPilotReport",
    "play_eu_pilot",
]

EuPilot = Literal["geburtsurkunde-eu", "hochschulabschluss-eu"]
EU_BIRTH_PILOT: EuPilot = "geburtsurkunde-eu"
EU_DEGREE_PILOT: EuPilot = "hochschulabschluss-eu"
#: The ZAB's kind in the topology (the demo service of use case 4).
DEGREE_KIND = "zeugnisbewertung"
DEGREE_EVIDENCE = "Hochschulabschluss-EU"
BIRTH_EVIDENCE = "Geburtsurkunde"
#: The French authority as the registers log it (EAS 0009 and its SIRET).
LYON = "0009:21690123100011"


@dataclass
class EuPilotReport:
    """One EU pilot's run: who asked, for whom, the hops, what the evidence shows."""

    pilot: EuPilot
    title: str
    party: str
    party_name: str
    citizen: str = ""
    hops: list[Hop] = field(default_factory=list)
    rows: list[tuple[str, str]] = field(default_factory=list)
    error: NootsError | None = None

    @property
    def completed(self) -> bool:
        return (
            self.error is None
            and bool(self.hops)
            and all(hop.passed for hop in self.hops)
            and bool(self.rows)
        )


def _json(body: bytes) -> dict[str, Any]:
    import json

    try:
        data = json.loads(body)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _where(location: str) -> str:
    url = httpx.URL(location)
    return f"{url.host}:{url.port}{url.path}" if location else "—"


class _Play:
    def __init__(
        self,
        topology: Topology,
        report: EuPilotReport,
        *,
        http: httpx.AsyncClient,
        recorder: _Recorder,
        settings: NootsSettings | None,
        tls: bool,
        clock: Any,
    ) -> None:
        self.topology = topology
        self.report = report
        self.http = http
        self.recorder = recorder
        self.settings = settings
        self.tls = tls
        self.clock = clock

    def hop(
        self,
        exchange: Exchange,
        title: str,
        sender: str,
        receiver: str,
        summary: str,
        *checks: Check,
    ) -> None:
        self.report.hops.append(Hop(title, sender, receiver, exchange, summary, checks))

    def logged(self, party: str, other: str) -> list[str] | None:
        """The outcomes ``party`` logged of its transfers with ``other`` (as receiver or as
        provider; None: its log is not at hand)."""
        if self.settings is None:
            return None
        from noots.protocol import open_protocol_log

        target = self.settings.protocol_log_target(party, self.topology)
        if isinstance(target, Path) and not target.is_file():
            return None
        try:
            log = open_protocol_log(target, party=party, clock=self.clock)
        except (NootsError, OSError):
            return None
        try:
            return [
                e.outcome
                for e in log.entries()
                if e.party == party and other in (e.consumer, e.provider)
            ]
        finally:
            log.close()

    # -- use case 3 --------------------------------------------------------------------------

    async def birth(self, person: Any) -> None:
        from noots.consumers._eu_citizen import ask_from_member_state

        eu, ip = self.topology.eu, self.topology.intermediary_platform
        assert eu is not None
        assert ip is not None
        requester = eu.requester.participant_id
        base = self.topology.base_url(requester, tls=self.tls)
        registers = [
            r.participant_id for r in self.topology.registers if BIRTH_EVIDENCE in r.evidence_types
        ]
        register = registers[0] if registers else "?"
        before = self.logged(register, LYON)
        start = len(self.recorder.exchanges)
        try:
            answer = await ask_from_member_state(
                self.http,
                base,
                family_name=person.family_name,
                given_name=person.given_names.split()[0],
                date_of_birth=person.date_of_birth,
            )
        finally:
            exchanges = self.recorder.since(start)
        after = self.logged(register, LYON)
        first, final = answer.first, answer.final
        location = str(first.get("previewLocation") or "")
        ip_url = self.topology.base_url(ip.participant_id, tls=self.tls)
        new = None if before is None or after is None else after[len(before) :]
        checks = [
            Check("HTTP 200", exchanges[0].status == 200, f"HTTP {exchanges[0].status}"),
            Check(
                "the IP asks for the preview (EDM:ERR:0002, PreviewRequired)",
                first.get("outcome") == "preview" and first.get("code") == "EDM:ERR:0002",
                str(first.get("code") or first.get("outcome")),
            ),
            Check(
                "PreviewLocation on the German side (the IP)",
                location.startswith(ip_url),
                _where(location),
            ),
        ]
        if new is not None:
            checks.append(
                Check(
                    "register answered the 0301 and logged it (receiver: the French authority)",
                    new == ["delivered"],
                    f"{register}: {', '.join(new) or 'no entry'}",
                )
            )
        self.hop(
            exchanges[0],
            "Mairie de Lyon → IP: EDM-Anfrage (Geburtsurkunde, Vorschau erbeten)",
            f"Mairie de Lyon ({requester})",
            f"{requester} ══ebMS══▶ {ip.access_point} (IP) → "
            f"{self.topology.sak_id(ip.participant_id)} → {self.topology.sak_id(register)} → "
            f"{register}",
            "signed EDM QueryRequest over the simulated eDelivery; the IP found the register "
            "through its SAK (RDN) and sent DE.EvidenceRequest.0301, no IDNr; it holds the "
            "evidence until the person decides",
            *checks,
        )
        if answer.preview_page is not None and len(exchanges) >= 4:
            page = exchanges[1]
            text = page.response_body.decode("utf-8", "replace")
            self.hop(
                page,
                "Bürgerin sieht die Vorschau an der IP",
                "Bürgerin",
                f"{ip.participant_id} (Vorschau)",
                "the evidence as the register issued it, on the German side",
                Check("HTTP 200", page.status == 200, f"HTTP {page.status}"),
                Check("the evidence is shown", "Geburtsurkunde" in text, "Geburtsurkunde"),
                Check("no IDNr goes abroad", "IDNr" not in text, "the 0302 carries none"),
            )
            decided = exchanges[2]
            self.hop(
                decided,
                "Bürgerin stimmt zu (Online-Ausweis, simuliert)",
                "Bürgerin",
                f"{ip.participant_id} (Vorschau)",
                "decision recorded at the IP: the evidence may go to the Mairie de Lyon",
                Check("decision taken", (decided.status or 500) < 400, f"HTTP {decided.status}"),
            )
            again = exchanges[3]
            evidences = final.get("evidences") or []
            repeated = [] if before is None or after is None else after[len(before) :]
            self.hop(
                again,
                "Mairie de Lyon → IP: dieselbe Anfrage mit PreviewLocation",
                f"Mairie de Lyon ({requester})",
                f"{requester} ══ebMS══▶ {ip.access_point} (IP)",
                "QueryResponse with the evidence as repository item (signed by the IP's "
                "access point, checked by eu-gw-fr)",
                Check("HTTP 200", again.status == 200, f"HTTP {again.status}"),
                Check(
                    "evidence delivered",
                    final.get("outcome") == "evidence" and bool(evidences),
                    str(final.get("code") or final.get("outcome")),
                ),
                Check(
                    "the register was asked once",
                    before is None or len(repeated) == 1,
                    f"{len(repeated)} transfer(s) logged" if before is not None else "not read",
                ),
            )
            for item in evidences:
                self.report.rows += [
                    ("Nachweis", str(item.get("title", ""))),
                    ("Format", str(item.get("format", ""))),
                    ("Größe", f"{item.get('bytes', 0)} Bytes"),
                    ("Empfänger", "Mairie de Lyon, État civil (Frankreich)"),
                ]
        if answer.outcome != "evidence":
            raise UpstreamError(
                f"the Mairie de Lyon got no evidence: {final.get('code') or final.get('outcome')}",
                component=ip.participant_id,
            )

    # -- use case 4 --------------------------------------------------------------------------

    async def degree(self, participant: Participant, person: Any) -> None:
        from noots.consumers import AsyncClient, Endpoints, EuEvidence, PersonQuery
        from noots.consumers._eu_citizen import walk_citizen
        from noots.consumers.demo import SERVICES

        spec = next(
            c for c in self.topology.consumers if c.participant_id == participant.participant_id
        )
        order = next(
            need.eu
            for need in SERVICES[spec.kind].needs
            if need.eu is not None and need.evidence_type == DEGREE_EVIDENCE
        )
        purpose = next(
            (
                a.purpose
                for a in self.topology.authorisations
                if a.consumer == spec.participant_id and a.evidence_type == DEGREE_EVIDENCE
            ),
            "Zeugnisbewertung",
        )
        ip = self.topology.intermediary_platform
        eu = self.topology.eu
        assert ip is not None
        assert eu is not None
        sak = self.topology.sak_id(spec.participant_id)
        back_url = self.topology.base_url(spec.participant_id, tls=self.tls) + "/zurueck"
        log = None
        if self.settings is not None:
            from noots.protocol import open_protocol_log

            log = open_protocol_log(
                self.settings.protocol_log_target(spec.participant_id, self.topology),
                party=spec.participant_id,
                clock=participant.clock,
            )
        try:
            client = AsyncClient(
                participant,
                Endpoints.from_topology(self.topology, tls=self.tls),
                self.topology,
                http=self.http,
                protocol_log=log,
            )
            query = PersonQuery(
                person.given_names.split()[0], person.family_name, person.date_of_birth
            )
            start = len(self.recorder.exchanges)
            try:
                placed = await client.order_evidence(
                    DEGREE_EVIDENCE,
                    purpose=purpose,
                    person=query,
                    country=order.country,
                    requirement=order.requirement,
                    requirement_name=order.requirement_name,
                    back_url=back_url,
                    procedure=order.procedure,
                )
            finally:
                self.order_hops(self.recorder.since(start), sak, ip.participant_id)
            start = len(self.recorder.exchanges)
            try:
                walk = await walk_citizen(self.http, placed.url_to_ip)
            finally:
                self.citizen_hops(self.recorder.since(start), ip.participant_id, eu)
            start = len(self.recorder.exchanges)
            try:
                found = await client.get_evidence(placed)
            finally:
                collected = self.recorder.since(start)
        finally:
            if log is not None:
                log.close()
        submissions = [e for e in collected if e.path.endswith("/consumer/v1/requests")]
        exchange = submissions[-1] if submissions else collected[-1]
        logged = self.logged(spec.participant_id, ip.participant_id)
        checks = [
            Check("HTTP 200", exchange.status == 200, f"HTTP {exchange.status}"),
            Check(
                "0412 with the evidence for our conversation",
                isinstance(found, EuEvidence) and found.conversation_id == placed.conversation_id,
                placed.conversation_id,
            ),
            Check(
                "the citizen came back to the online service",
                walk.returned_to == back_url,
                _where(walk.returned_to),
            ),
        ]
        if isinstance(found, EuEvidence):
            checks.append(
                Check("issued abroad", "Wien" in found.issuer, f"{found.issuer}, {found.platform}")
            )
        if logged is not None:
            checks.append(
                Check(
                    "online service logged order and collection",
                    logged[-2:] == ["delivered", "delivered"],
                    f"{spec.participant_id}: {', '.join(logged[-2:]) or 'no entry'}",
                )
            )
        self.hop(
            exchange,
            "ZAB → SAK → SAK → IP: DE.GetEvidence.0411 (abholen)",
            spec.participant_id,
            f"{sak} → {self.topology.sak_id(ip.participant_id)} → {ip.participant_id}",
            "DE.GetEvidenceResponse.0412 with the degree, checked against the order",
            *checks,
        )
        if isinstance(found, EuEvidence):
            self.report.rows = list(found.rows())
        else:
            raise UpstreamError(
                "the degree was announced, not delivered", component=ip.participant_id
            )

    def order_hops(self, exchanges: list[Exchange], sak: str, ip: str) -> None:
        for exchange in exchanges:
            if exchange.path.endswith("/consumer/v1/routes"):
                answer = _json(exchange.response_body)
                provider = (
                    answer.get("provider") if isinstance(answer.get("provider"), dict) else {}
                )
                named = str((provider or {}).get("participantId") or "?")
                self.hop(
                    exchange,
                    f"SAK → RDN: wer liefert {DEGREE_EVIDENCE}?",
                    self.report.party,
                    f"{sak} → RDN",
                    f"{named}: the Intermediäre Plattform is the provider of EU evidence types",
                    Check("HTTP 200", exchange.status == 200, f"HTTP {exchange.status}"),
                    Check("the IP is named", named == ip, named),
                )
            elif exchange.path.endswith("/consumer/v1/requests"):
                try:
                    answer_message = messages.parse(parse_xml(exchange.response_body), messages.ANY)
                except NootsError as exc:
                    answer_message = None
                    reason = exc.message
                else:
                    reason = type(answer_message).__name__
                placed = isinstance(answer_message, messages.EvidenceOrderResponse)
                conversation = answer_message.conversation_id if placed else "—"  # type: ignore[union-attr]
                url = answer_message.url_to_ip if placed else ""  # type: ignore[union-attr]
                self.hop(
                    exchange,
                    "ZAB → SAK → SAK → IP: DE.EvidenceOrder.0401 (bestellen)",
                    self.report.party,
                    f"{sak} → {self.topology.sak_id(ip)} → {ip}",
                    "the IP asked the Evidence Broker and the Data Service Directory: the "
                    "Universität Wien provides the degree",
                    Check("HTTP 200", exchange.status == 200, f"HTTP {exchange.status}"),
                    Check("DE.EvidenceOrderResponse.0402", placed, reason),
                    Check("ConversationID", placed, conversation),
                    Check("URLtoIP at the IP", placed and "/ip/v1/citizen/" in url, _where(url)),
                )

    def citizen_hops(self, exchanges: list[Exchange], ip: str, eu: Any) -> None:
        vienna = eu.provider.participant_id
        titles = (
            ("Bürgerin folgt URLtoIP: Seite der IP", "Bürgerin", ip, 200),
            (
                "Bürgerin meldet sich an (eIDAS, simuliert); die IP fragt in Wien an",
                "Bürgerin",
                f"{ip} ══ebMS══▶ {vienna}",
                303,
            ),
            ("Bürgerin stimmt in Wiens Vorschau zu", "Bürgerin", f"{vienna} (Vorschau)", 303),
            (
                "zurück über die IP: sie fragt in Wien erneut (PreviewLocation)",
                "Bürgerin",
                f"{ip} ══ebMS══▶ {vienna}",
                303,
            ),
        )
        summaries = (
            "the ZAB's order, explained to the citizen",
            "EDM QueryRequest to the Universität Wien → PreviewRequired: on to its preview space",
            "the degree shown in Austria, the citizen agrees; back to the IP (returnurl)",
            "QueryResponse with the degree; on to the ZAB (BackToEvidenceRequesterURL)",
        )
        for exchange, (title, sender, receiver, status), summary in zip(
            exchanges, titles, summaries, strict=False
        ):
            where = exchange.header("location")
            checks = [Check(f"HTTP {status}", exchange.status == status, f"HTTP {exchange.status}")]
            if where:
                checks.append(Check("leads on", True, _where(where)))
            self.hop(exchange, title, sender, receiver, summary, *checks)


TITLES: dict[str, str] = {
    EU_BIRTH_PILOT: "Geburtsurkunde für eine französische Behörde (EU)",
    EU_DEGREE_PILOT: "Ausländischer Hochschulabschluss (EU)",
}


async def play_eu_pilot(
    pilot: EuPilot,
    participant: Participant,
    topology: Topology,
    *,
    tls: bool = False,
    data_dir: Path | None = None,
    settings: NootsSettings | None = None,
    verify: Any = True,
    timeout: float = 60.0,
    transport: httpx.AsyncBaseTransport | None = None,
    on_hop: Callable[[Hop], None] | None = None,
) -> EuPilotReport:
    """Play ``pilot``: as the ZAB (``participant``, use case 4) or, for use case 3, with
    ``participant`` the party that drives the French requester (the simulator, like the
    dashboard). Never raises a :class:`NootsError`: a failure ends the pilot and is in
    :attr:`EuPilotReport.error`, with the hops up to it."""
    from noots.synthetic.identities import BEHAVIOUR_IDENTITIES, Behaviour

    if settings is None and data_dir is not None:
        settings = NootsSettings(data_dir=data_dir)
    person = next(i for i in BEHAVIOUR_IDENTITIES if i.behaviour is Behaviour.NORMAL)
    eu = topology.eu
    if pilot == EU_BIRTH_PILOT:
        party = eu.requester.participant_id if eu is not None else "eu-gw-fr"
        name = "Mairie de Lyon (Frankreich, simuliert)"
    else:
        party = participant.participant_id
        name = topology.participant(party).name
    report = EuPilotReport(pilot, TITLES[pilot], party, name)
    report.citizen = f"{person.given_names} {person.family_name}"
    recorder = _Recorder()
    async with httpx.AsyncClient(
        verify=verify,
        timeout=timeout,
        event_hooks=recorder.hooks(),
        trust_env=False,
        transport=transport,
    ) as http:
        play = _Play(
            topology,
            report,
            http=http,
            recorder=recorder,
            settings=settings,
            tls=tls,
            clock=participant.clock,
        )
        try:
            if topology.eu is None or topology.intermediary_platform is None:
                from noots.errors import ConfigurationError

                raise ConfigurationError(
                    "this landscape simulates no EU side (no `intermediary_platform` and `eu`)"
                )
            if pilot == EU_BIRTH_PILOT:
                await play.birth(person)
            else:
                await play.degree(participant, person)
        except NootsError as exc:
            report.error = exc
    return report
