"""Fault injection: make a register or its SAK slow, flaky or dishonest on purpose.

A :class:`FaultPlan` says what goes wrong and how often. It is set from configuration
(``NOOTS_FAULTS`` as JSON) and at run time through ``/admin/v1/faults`` (test mode only, bearer
admin token), and reset by ``DELETE`` to the configured plan, so a scenario can switch a fault
on for one step. ``count`` limits a plan to the next N requests.

Per request, a :class:`FaultInjector` draws one :class:`FaultDecision` from a seeded random
generator (deterministic per seed): a latency (fixed plus log-normal) and at most one of the
faults below, chosen by their rates.

=====================  ==========================================================================
fault                  what the caller sees
=====================  ==========================================================================
``error``              a 0103 with ``EDM:ERR:0008`` (HTTP 500)
``timeout``            no answer until the caller gives up (then the connection is dropped)
``drop``               the connection closes in the middle of the answer
``malformed``          HTTP 200 with a body that is not well-formed XML
``bad_signature``      the answer's signature value does not verify
``missing_signature``  the answer envelope carries no signature
``expired_certificate`` the answer is signed with a certificate that has expired
``wrong_binding``      the answer's ``InResponseTo`` names another request
=====================  ==========================================================================

A register answers the bare 0102/0103 (its SAK signs), so the last four belong to the
register's SAK (:data:`SIGNATURE_FAULTS`); a register refuses a plan with them.
"""

from __future__ import annotations

import math
import random
import tempfile
import threading
from datetime import timedelta
from enum import StrEnum
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from pydantic import BaseModel, ConfigDict, Field, model_validator

from noots.clock import Clock, ManualClock
from noots.pki import CertificateAuthority, IssuedCredential, Role
from noots.xml import parse as parse_xml
from noots.xml import serialize

__all__ = [
    "SIGNATURE_FAULTS",
    "Fault",
    "FaultDecision",
    "FaultInjector",
    "FaultPlan",
    "LogNormalLatency",
    "corrupt_signature",
    "expired_credential",
    "strip_signature",
    "truncate",
]

_DS = "http://www.w3.org/2000/09/xmldsig#"


class Fault(StrEnum):
    ERROR = "error"
    TIMEOUT = "timeout"
    DROP = "drop"
    MALFORMED = "malformed"
    BAD_SIGNATURE = "bad_signature"
    MISSING_SIGNATURE = "missing_signature"
    EXPIRED_CERTIFICATE = "expired_certificate"
    WRONG_BINDING = "wrong_binding"


#: Faults of a signed answer envelope: a SAK's, not a register's (it answers unsigned).
SIGNATURE_FAULTS = frozenset(
    {
        Fault.BAD_SIGNATURE,
        Fault.MISSING_SIGNATURE,
        Fault.EXPIRED_CERTIFICATE,
        Fault.WRONG_BINDING,
    }
)


class LogNormalLatency(BaseModel):
    """A log-normal delay: ``median_ms`` is its median, ``sigma`` the spread of its logarithm."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    median_ms: float = Field(gt=0, le=600_000)
    sigma: float = Field(default=0.5, ge=0, le=5)


class FaultPlan(BaseModel):
    """What goes wrong, and how often (rates are probabilities per request, summing to ≤ 1)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    latency_ms: float = Field(default=0, ge=0, le=600_000, description="Fixed added latency.")
    latency_lognormal: LogNormalLatency | None = Field(
        default=None, description="Random added latency on top of the fixed one."
    )
    rates: dict[Fault, float] = Field(
        default_factory=dict, description="Fault → probability per request (0…1)."
    )
    hang_seconds: float = Field(
        default=300, gt=0, le=3600, description="How long a 'timeout' waits before dropping."
    )
    seed: int | None = Field(default=None, description="Seed of the random draws.")
    count: int | None = Field(
        default=None, ge=1, description="Apply to the next N requests only, then reset."
    )

    @model_validator(mode="after")
    def _rates(self) -> FaultPlan:
        for fault, rate in self.rates.items():
            if not (0 <= rate <= 1) or math.isnan(rate):
                raise ValueError(f"rate of {fault.value} must be between 0 and 1")
        if sum(self.rates.values()) > 1 + 1e-9:
            raise ValueError("the fault rates add up to more than 1")
        return self

    @classmethod
    def always(cls, fault: Fault, **options: object) -> FaultPlan:
        """A plan that applies ``fault`` to every request."""
        return cls.model_validate({"rates": {fault: 1.0}, **options})

    @property
    def idle(self) -> bool:
        """True when the plan changes nothing."""
        return (
            self.latency_ms == 0
            and self.latency_lognormal is None
            and not any(rate > 0 for rate in self.rates.values())
        )


class FaultDecision(BaseModel):
    """What happens to one request."""

    model_config = ConfigDict(frozen=True)

    delay_seconds: float = 0.0
    fault: Fault | None = None
    hang_seconds: float = 0.0


class FaultInjector:
    """The current plan and its random generator; thread-safe.

    :meth:`decide` is the only place randomness is drawn, so a seeded plan yields the same
    sequence of decisions every time.
    """

    def __init__(self, baseline: FaultPlan | None = None) -> None:
        self._baseline = baseline or FaultPlan()
        self._lock = threading.Lock()
        self._plan = self._baseline
        self._remaining = self._baseline.count
        self._random = random.Random(self._baseline.seed)  # noqa: S311 - simulation, not crypto

    @property
    def plan(self) -> FaultPlan:
        with self._lock:
            return self._plan

    @property
    def baseline(self) -> FaultPlan:
        return self._baseline

    def set(self, plan: FaultPlan) -> None:
        with self._lock:
            self._plan = plan
            self._remaining = plan.count
            self._random = random.Random(plan.seed)  # noqa: S311

    def reset(self) -> None:
        """Back to the configured plan."""
        self.set(self._baseline)

    def decide(self) -> FaultDecision:
        with self._lock:
            plan = self._plan
            if plan.idle:
                return FaultDecision()
            delay = plan.latency_ms / 1000
            if plan.latency_lognormal is not None:
                spread = plan.latency_lognormal
                delay += (
                    self._random.lognormvariate(math.log(spread.median_ms), spread.sigma) / 1000
                )
            fault: Fault | None = None
            draw = self._random.random()
            cumulative = 0.0
            for candidate in Fault:
                cumulative += plan.rates.get(candidate, 0.0)
                if draw < cumulative:
                    fault = candidate
                    break
            if self._remaining is not None:
                self._remaining -= 1
                if self._remaining <= 0:
                    self._plan = self._baseline
                    self._remaining = self._baseline.count
                    self._random = random.Random(self._baseline.seed)  # noqa: S311
            return FaultDecision(
                delay_seconds=min(delay, 600.0),
                fault=fault,
                hang_seconds=plan.hang_seconds if fault is Fault.TIMEOUT else 0.0,
            )


# -- mangling a sealed answer ----------------------------------------------------------------


def corrupt_signature(sealed: bytes) -> bytes:
    """The envelope with one bit of its ``SignatureValue`` changed: it parses, but the
    signature no longer verifies."""
    root = parse_xml(sealed)
    value = root.find(f"{{{_DS}}}Signature/{{{_DS}}}SignatureValue")
    if value is None or not value.text:
        raise ValueError("no signature value to corrupt")
    text = "".join(value.text.split())
    # Change a character in the middle; A and B differ in one bit of the decoded value.
    middle = len(text) // 2
    swapped = "B" if text[middle] == "A" else "A"
    value.text = text[:middle] + swapped + text[middle + 1 :]
    return serialize(root)


def strip_signature(sealed: bytes) -> bytes:
    """The envelope without its ``ds:Signature``."""
    root = parse_xml(sealed)
    for signature in root.findall(f"{{{_DS}}}Signature"):
        root.remove(signature)
    return serialize(root)


def truncate(sealed: bytes) -> bytes:
    """The first half of the answer: not well-formed XML."""
    return sealed[: max(1, len(sealed) // 2)]


def expired_credential(
    pki_dir: Path, participant_id: str, role: Role, *, clock: Clock
) -> IssuedCredential:
    """A credential for ``participant_id`` issued by the landscape's CA that expired a day ago.

    Only possible where the CA's key is at hand (a simulated landscape in test mode). A scratch
    CA in a temporary directory, with the same root key and name, issues it: the participant's
    real files and the CA's index stay untouched, no copy of the root key survives the call,
    and a verifier that trusts the real root sees a genuine, merely expired certificate.
    Raises ``FileNotFoundError`` when there is no CA key in ``pki_dir``.
    """
    key_pem = (pki_dir / "ca" / "root-key.pem").read_bytes()
    root_key = serialization.load_pem_private_key(key_pem, password=None)
    if not isinstance(root_key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise ValueError("unsupported CA key type")
    now = clock.now()
    with tempfile.TemporaryDirectory(prefix="noots-expired-") as scratch_dir:
        scratch = CertificateAuthority.create(
            scratch_dir, clock=ManualClock(now - timedelta(days=3)), root_key=root_key
        )
        return scratch.issue(
            participant_id, role, validity=timedelta(days=1), not_before=now - timedelta(days=2)
        )
