"""The **simulated** eID service: a test login that issues identity tokens for test citizens.

This is not an identification. In the real system a citizen proves who they are with the
online function of their ID card (level of assurance "hoch"); here anybody may log in as any
test citizen of the synthetic population by naming the IDNr or a behaviour identity, and
choose the level of assurance to try what the Datenschutzcockpit does with a lower one.

``POST /eid/v1/login`` with JSON ``{"idnr": "02476291358", "level": "hoch"}`` or
``{"identity": "not_found"}`` (a behaviour of :mod:`noots.synthetic.identities`) answers
``{"token": "<base64url>", "idnr": …, "givenName": …, "familyName": …, "level": …,
"expiresAt": …}``. The token is an ``eid:Identity`` document signed by the participant
``noots-eid`` (role ``eid``), see :mod:`noots.eid`; present it as ``Authorization: Bearer``.

The citizen's names and date of birth come from the population (``<data_dir>/population.db``)
or, for a behaviour identity, from its fixed record. An unknown IDNr is refused (404): the
simulated eID knows only the simulated people. In strict mode test IDNrs (leading 0) are
refused like everywhere else, and the synthetic population has no other: mount the ``eid``
component in test mode only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Any, get_args

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from noots.clock import format_utc
from noots.eid import IdentityToken, Level, issue_identity
from noots.errors import InvalidInput, NootsError, PersonNotFound
from noots.idnr import validate
from noots.intermediary._edge import problem
from noots.intermediary.settings import PlatformSettings
from noots.participant import Participant
from noots.synthetic.identities import BEHAVIOUR_IDENTITIES, Behaviour, identity
from noots.synthetic.population import PopulationStore, default_path

__all__ = ["DSC_AUDIENCE", "Citizen", "EidService", "router"]

#: The audience of identity tokens meant for the Datenschutzcockpit.
DSC_AUDIENCE = "noots-dsc"


@dataclass(frozen=True)
class Citizen:
    idnr: str
    given_name: str
    family_name: str
    date_of_birth: date


class EidService:
    """Issues identity tokens signed by the eID participant."""

    def __init__(
        self,
        participant: Participant,
        population: PopulationStore | None,
        *,
        lifetime: timedelta = timedelta(minutes=15),
        allow_test_numbers: bool = True,
    ) -> None:
        self.participant = participant
        self.population = population
        self.lifetime = lifetime
        self.allow_test_numbers = allow_test_numbers

    @classmethod
    def for_settings(cls, settings: PlatformSettings, participant: Participant) -> EidService:
        path = default_path(settings.data_dir)
        return cls(
            participant,
            PopulationStore(path) if path.is_file() else None,
            lifetime=timedelta(seconds=settings.eid_identity_lifetime_seconds),
            allow_test_numbers=not settings.strict,
        )

    def citizen(self, *, idnr: str | None = None, behaviour: str | None = None) -> Citizen:
        """The test citizen named by IDNr or behaviour; :class:`PersonNotFound` if none."""
        if behaviour is not None:
            try:
                wanted = Behaviour(behaviour)
            except ValueError:
                known = ", ".join(b.value for b in Behaviour)
                raise InvalidInput(f"unknown behaviour {behaviour!r}; known: {known}") from None
            for candidate in BEHAVIOUR_IDENTITIES:
                if candidate.behaviour is wanted:
                    idnr = candidate.idnr
                    break
        if idnr is None:
            raise InvalidInput("log in with an idnr or a behaviour identity")
        idnr = validate(idnr, allow_test_numbers=self.allow_test_numbers)
        person = self.population.person_by_idnr(idnr) if self.population else None
        if person is not None:
            return Citizen(idnr, person.given_names, person.family_name, person.date_of_birth)
        fixed = identity(idnr)
        if fixed is not None:
            return Citizen(idnr, fixed.given_names, fixed.family_name, fixed.date_of_birth)
        raise PersonNotFound("the simulated eID knows no test citizen with this IDNr")

    def login(
        self,
        citizen: Citizen,
        *,
        level: Level = "hoch",
        audience: str | None = DSC_AUDIENCE,
    ) -> tuple[IdentityToken, str]:
        now = self.participant.clock.now()
        token = IdentityToken(
            idnr=citizen.idnr,
            given_name=citizen.given_name,
            family_name=citizen.family_name,
            date_of_birth=citizen.date_of_birth,
            level=level,
            issued_at=now,
            expires_at=now + self.lifetime,
            audience=audience,
        )
        return token, issue_identity(token, self.participant.signer)


def get_eid(request: Request) -> EidService:
    service: EidService = request.app.state.eid
    return service


EidDep = Annotated[EidService, Depends(get_eid)]


class LoginRequest(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    idnr: str | None = Field(default=None, max_length=32)
    identity: str | None = Field(default=None, max_length=64, description="A behaviour name.")
    level: Level = "hoch"
    audience: str | None = Field(default=DSC_AUDIENCE, max_length=64)


router = APIRouter(prefix="/eid/v1", tags=["eID (simulation)"])


@router.post("/login")
async def login(body: LoginRequest, eid: EidDep) -> JSONResponse:
    """Simulated login: an identity token for a test citizen (no real identification)."""

    def issue() -> tuple[IdentityToken, str]:
        citizen = eid.citizen(idnr=body.idnr, behaviour=body.identity)
        return eid.login(citizen, level=body.level, audience=body.audience)

    try:
        identity_token, token = await run_in_threadpool(issue)
    except NootsError as exc:
        return problem(exc, component=eid.participant.participant_id)
    except ValueError as exc:  # e.g. an audience that is not a participant id
        return problem(InvalidInput(str(exc)), component=eid.participant.participant_id)
    answer: dict[str, Any] = {
        "token": token,
        "idnr": identity_token.idnr,
        "givenName": identity_token.given_name,
        "familyName": identity_token.family_name,
        "dateOfBirth": identity_token.date_of_birth.isoformat(),
        "level": identity_token.level,
        "audience": identity_token.audience,
        "expiresAt": format_utc(identity_token.expires_at),
        "simulation": True,
    }
    return JSONResponse(answer)


LEVEL_CHOICES: tuple[str, ...] = get_args(Level)
