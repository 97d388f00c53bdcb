"""One evidence exchange as the benchmarks drive it, and its cryptographic floor.

**One exchange** (what every end-to-end figure counts) is the Bewohnerparkausweis online
service fetching a Fahrzeughalterauskunft from the KBA register through the SAKs
(:class:`SakConsumer` says hop by hop what happens and what it costs: 2 signatures and 2
verifications; with a VS token across areas 2 signatures and 4 verifications). The floor is
measured with ``cryptography`` alone: each operation on as many bytes as the real document it
covers, with the landscape's own keys.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import _support
import httpx
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from lxml import etree

from noots import messages
from noots.clock import Clock, SystemClock
from noots.conformance.requests import RequestFactory
from noots.participant import load_credential
from noots.synthetic.identities import Behaviour, behaviour_of
from noots.synthetic.population import PopulationStore
from noots.topology import Topology, load_topology
from noots.xml import parse as parse_xml

PURPOSE = "Bewohnerparkausweis"
XML = {"Content-Type": "application/xml"}


@dataclass(frozen=True)
class Prepared:
    """A 0101 with its VS token, built before the timed part (as the client does before it
    sends): the element the DC seals, and what the answer must match."""

    request: messages.EvidenceRequest
    element: etree._Element
    idnr: str


def keepers(
    population: Path, count: int, *, seed: int = 7, ags: str | None = None
) -> list[tuple[str, messages.NaturalPerson]]:
    """Up to ``count`` people who keep a vehicle and behave normally (no delays, no blocks);
    with ``ags`` only residents of that municipality (for its Melderegister)."""
    found: list[tuple[str, messages.NaturalPerson]] = []
    with PopulationStore(population) as store:
        for idnr in store.sample_idnrs(count * (40 if ags else 8), seed=seed):
            if behaviour_of(idnr) is not Behaviour.NORMAL:
                continue
            person = store.person_by_idnr(idnr)
            if person is None or person.information_block or person.date_of_death is not None:
                continue
            if ags is not None and person.ags != ags:
                continue
            if not store.vehicles_of(idnr):
                continue
            subject = messages.NaturalPerson(
                person.family_name, person.given_names.split()[0], person.date_of_birth, idnr
            )
            found.append((idnr, subject))
            if len(found) >= count:
                break
    if not found:
        raise RuntimeError(f"no vehicle keepers in {population}")
    return found


def http_client(concurrency: int) -> httpx.AsyncClient:
    """One client for the whole run: keep-alive connections in a few small pools
    (:mod:`noots.http`), a connection per concurrent exchange."""
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=max(concurrency, 8))
    try:
        from noots.http import async_client
    except ImportError:  # a checkout from before noots.http (for before/after comparisons)
        return httpx.AsyncClient(limits=limits, timeout=60.0, trust_env=False)
    return async_client(shards=max(1, min(16, concurrency // 4)), limits=limits, timeout=60.0)


# -- the cryptographic floor ------------------------------------------------------------------


@dataclass(frozen=True)
class Floor:
    """Median CPU seconds of the raw operations one exchange needs."""

    operations: tuple[tuple[str, int, float], ...]  # (what, how many, seconds each)

    @property
    def seconds(self) -> float:
        return sum(count * each for _what, count, each in self.operations)

    @property
    def signatures(self) -> int:
        return sum(count for what, count, _ in self.operations if what.startswith("sign"))

    @property
    def verifications(self) -> int:
        return sum(count for what, count, _ in self.operations if what.startswith("verify"))


def _raw_pair(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, data: bytes):  # type: ignore[no-untyped-def]
    if isinstance(key, rsa.RSAPrivateKey):
        public = key.public_key()
        signature = key.sign(data, padding.PKCS1v15(), hashes.SHA256())

        def sign() -> object:
            return key.sign(data, padding.PKCS1v15(), hashes.SHA256())

        def verify() -> None:
            public.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())

        return sign, verify
    ec_public = key.public_key()
    ec_signature = key.sign(data, ec.ECDSA(hashes.SHA256()))

    def sign_ec() -> object:
        return key.sign(data, ec.ECDSA(hashes.SHA256()))

    def verify_ec() -> None:
        ec_public.verify(ec_signature, data, ec.ECDSA(hashes.SHA256()))

    return sign_ec, verify_ec


def _median_cpu(action, rounds: int) -> float:  # type: ignore[no-untyped-def]
    import time

    for _ in range(max(3, rounds // 10)):
        action()
    samples = []
    for _ in range(rounds):
        start = time.thread_time()
        action()
        samples.append(time.thread_time() - start)
    return _support.median(samples)


# -- through the SAKs ---------------------------------------------------------------------------


class SakConsumer:
    """The online service's side of one exchange through the SAKs: POST the prepared 0101 to
    its SAK's consumer API (with its IAM access token), and check the bare answer as the client
    library does (request id, requester, evidence type and person, evidence document).

    **One exchange through the SAKs** (Fahrzeughalterauskunft, Bewohnerparkausweis → KBA, one
    administrative area: no VS token needed, § 7 Abs. 2 IDNrG):

    1. DC → its SAK: the bare 0101 with an access token (verified once, then cached);
    2. DC's SAK: check, seal the envelope — 1 signature (SAK key);
    3. DP's SAK: open it — 1 verification; replay cache; push the 0101 to the register;
    4. DP: look up, build the evidence, log; the bare 0102 back to its SAK;
    5. DP's SAK: seal the answer — 1 signature; DC's SAK: open it — 1 verification;
    6. DC: the bare 0102.

    The floor is **2 signatures + 2 verifications**; ``token=True`` (a Meldebescheinigung
    across areas, the token obtained beforehand) adds the DC's SAK's and the register's checks
    of the VS token: **2 signatures + 4 verifications**.
    """

    def __init__(self, data_dir: Path, topology_path: Path, *, clock: Clock | None = None) -> None:
        self.data_dir = data_dir
        self.topology: Topology = load_topology(topology_path)
        self.clock = clock or SystemClock()
        self.factory = RequestFactory.from_pki_dir(
            data_dir / "pki", self.topology, clock=self.clock
        )
        self.credential = load_credential(data_dir / "pki", _support.BPA)
        self.sak_url = self.topology.base_url(self.topology.sak_id(_support.BPA))
        self.authorization: dict[str, str] = {}

    def prepare(
        self,
        subjects: Sequence[tuple[str, messages.NaturalPerson]],
        count: int,
        *,
        provider: str = _support.KBA,
        evidence_type: str = _support.EVIDENCE_TYPE,
        token: bool = False,
    ) -> list[Prepared]:
        prepared = []
        for index in range(count):
            idnr, subject = subjects[index % len(subjects)]
            request = self.factory.request(
                consumer=_support.BPA,
                provider=provider,
                evidence_type=evidence_type,
                subject=subject,
            )
            if token:
                _token, issued = self.factory.token(
                    request, purpose=PURPOSE, legal_basis="§ 45 StVO (Bewohnerparken)"
                )
                request = request.with_token(issued)
            prepared.append(Prepared(request, messages.build(request), idnr))
        return prepared

    async def authorise(self, http: httpx.AsyncClient) -> None:
        """Fetch the online service's access token for its SAK once (it is cached, as the
        client library caches it)."""
        from noots.access import AccessTokenSource

        source = AccessTokenSource(
            self.credential,
            iam_url=self.topology.base_url("platform"),
            iam_id=self.topology.platform.iam_id,
            clock=self.clock,
            http=http,
        )
        self.authorization = await source.authorization(self.topology.sak_id(_support.BPA))

    def headers(self, item: Prepared) -> dict[str, str]:
        provider = item.request.provider.identifier
        kind = self.topology.evidence_type_by_classification(
            item.request.evidence_type.classification
        ).name
        return {
            **XML,
            **self.authorization,
            "Noots-Purpose": PURPOSE,
            "Noots-Service-Id": self.topology.service_id(provider, kind),
        }

    def check(self, item: Prepared, status: int, raw_response: bytes) -> None:
        if status != 200:
            found = re.search(rb"[^<>]*\[failed at [^<]*\]|EDM:ERR:\d{4}[^<]*", raw_response)
            reason = found.group(0).decode("utf-8", "replace") if found else raw_response[:300]
            raise RuntimeError(f"HTTP {status}: {reason}")
        answer = messages.parse(parse_xml(raw_response))
        if not isinstance(answer, messages.EvidenceResponse) or answer.evidence is None:
            raise RuntimeError(f"no evidence: {type(answer).__name__}")
        if answer.request_id != item.request.request_id:
            raise RuntimeError("answer to another request")
        if answer.requester.identifier != _support.BPA:
            raise RuntimeError("answer to another requester")
        subject = answer.evidence.subject
        if not isinstance(subject, messages.NaturalPerson) or subject.idnr != item.idnr:
            raise RuntimeError("evidence about another person")
        parse_xml(answer.evidence.document)

    async def exchange(self, http: httpx.AsyncClient, item: Prepared) -> None:
        response = await http.post(
            self.sak_url + "/consumer/v1/requests",
            content=messages.to_bytes(item.request),
            headers=self.headers(item),
        )
        self.check(item, response.status_code, response.content)


def measure_sak_floor(
    data_dir: Path,
    *,
    request_bytes: int,
    response_bytes: int,
    token_bytes: int,
    token: bool = False,
    rounds: int = 200,
) -> Floor:
    """The floor of one exchange through the SAKs (see :class:`SakConsumer`), with the SAKs'
    and the VS's keys, on documents of the real sizes."""
    pki = data_dir / "pki"
    dc_sak = load_credential(pki, f"{_support.BPA}.sak").private_key
    dp_sak = load_credential(pki, f"{_support.KBA}.sak").private_key
    blob = b"x"
    sign_request, verify_request = _raw_pair(dc_sak, blob * request_bytes)
    sign_answer, verify_answer = _raw_pair(dp_sak, blob * response_bytes)
    operations = [
        ("sign request envelope (DC's SAK)", 1, _median_cpu(sign_request, rounds)),
        ("verify request envelope (DP's SAK)", 1, _median_cpu(verify_request, rounds)),
        ("sign answer envelope (DP's SAK)", 1, _median_cpu(sign_answer, rounds)),
        ("verify answer envelope (DC's SAK)", 1, _median_cpu(verify_answer, rounds)),
    ]
    if token:
        vs = load_credential(pki, "noots-vs").private_key
        _sign_vs, verify_vs = _raw_pair(vs, blob * token_bytes)
        operations.append(("verify VS token (DC's SAK, DP)", 2, _median_cpu(verify_vs, rounds)))
    return Floor(tuple(operations))
