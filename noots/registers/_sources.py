"""What differs between the registers: how to find the subject and which document to issue.

An :class:`EvidenceSource` has two halves. :meth:`~EvidenceSource.candidates` is the one read
of register data per request (I/O): it returns every entry that might be the subject, with
everything the document will need already loaded. :meth:`~EvidenceSource.document` is pure: it
turns the one matched entry into the register's evidence document.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Protocol, cast

from noots.registers import documents as d
from noots.registers._pipeline import (
    Candidate,
    LegalCandidate,
    LegalQuery,
    NaturalCandidate,
    NaturalQuery,
    SubjectQuery,
)
from noots.synthetic.population import BirthRecord, Company, Person, PopulationStore, Vehicle
from noots.topology import RegisterSpec

__all__ = [
    "EvidenceSource",
    "FahrzeugregisterSource",
    "HandelsregisterSource",
    "MelderegisterSource",
    "PersonenstandsregisterSource",
]


class EvidenceSource(Protocol):
    def candidates(self, query: SubjectQuery) -> list[Candidate]:
        """Every register entry that might be the subject (I/O)."""
        ...

    def document(self, candidate: Candidate, *, issued_at: datetime) -> d.EvidenceDocument:
        """The evidence document for the matched entry (pure)."""
        ...


def _people(store: PopulationStore, query: NaturalQuery) -> list[Person]:
    """The persons the population holds for the query: by IDNr, else by basic data."""
    if query.idnr is not None:
        person = store.person_by_idnr(query.idnr)
        return [person] if person is not None else []
    if query.postcode:
        return store.find_by_address(query.family_name, query.date_of_birth, query.postcode)
    return store.find_by_name(query.family_name, query.given_name, query.date_of_birth)


def _candidate(person: Person, record: object, *, blocked: bool | None = None) -> NaturalCandidate:
    return NaturalCandidate(
        idnr=person.idnr,
        family_name=person.family_name,
        given_names=person.given_names,
        date_of_birth=person.date_of_birth,
        birth_name=person.birth_name,
        place_of_birth=person.place_of_birth,
        postcode=person.postcode,
        blocked=person.information_block if blocked is None else blocked,
        record=record,
    )


def _people_with(
    store: PopulationStore, query: SubjectQuery, entry: Callable[[str], object | None]
) -> list[Candidate]:
    """Candidates for a natural person whose entry in this register is ``entry(idnr)``;
    a person without one (None or empty) is not in the register."""
    if not isinstance(query, NaturalQuery):
        return []
    found: list[Candidate] = []
    for person in _people(store, query):
        record = entry(person.idnr)
        if record:
            found.append(_candidate(person, (person, record)))
    return found


def _address(street: str, house_number: str, postcode: str, place: str) -> d.Address:
    return d.Address(street, house_number, postcode, place)


@dataclass(frozen=True)
class MelderegisterSource:
    """The Melderegister of one municipality: its living residents."""

    store: PopulationStore
    register: RegisterSpec

    def candidates(self, query: SubjectQuery) -> list[Candidate]:
        if not isinstance(query, NaturalQuery):
            return []
        return [
            _candidate(p, p)
            for p in _people(self.store, query)
            if p.ags == self.register.region and p.date_of_death is None
        ]

    def document(self, candidate: Candidate, *, issued_at: datetime) -> d.EvidenceDocument:
        person = cast(Person, candidate.record)
        return d.Meldebescheinigung(
            issued_at=issued_at,
            authority_name=self.register.name,
            municipality=person.ags,
            idnr=person.idnr,
            family_name=person.family_name,
            birth_name=person.birth_name,
            given_names=person.given_names,
            sex=cast(d.Sex, person.sex),
            date_of_birth=person.date_of_birth,
            place_of_birth=person.place_of_birth,
            nationalities=(person.nationality,),
            dwelling_status="alleinige Wohnung",
            address=_address(person.street, person.house_number, person.postcode, person.city),
            moved_in=person.moved_in,
        )


@dataclass(frozen=True)
class PersonenstandsregisterSource:
    """The Geburtenregister: everyone born in Germany, living or not."""

    store: PopulationStore

    def candidates(self, query: SubjectQuery) -> list[Candidate]:
        return _people_with(self.store, query, self.store.birth_record)

    def document(self, candidate: Candidate, *, issued_at: datetime) -> d.EvidenceDocument:
        _person, birth = cast(tuple[Person, BirthRecord], candidate.record)
        return d.Geburtsurkunde(
            issued_at=issued_at,
            registry_office=birth.registry_office,
            entry=birth.entry,
            idnr=birth.idnr,
            family_name=birth.family_name,
            given_names=birth.given_names,
            sex=cast(d.Sex, birth.sex),
            date_of_birth=birth.date_of_birth,
            place_of_birth=birth.place_of_birth,
            parents=(
                d.Parent(
                    birth.family_name, birth.mother_given_names, birth_name=birth.mother_birth_name
                ),
                d.Parent(birth.family_name, birth.father_given_names),
            ),
        )


@dataclass(frozen=True)
class FahrzeugregisterSource:
    """The Zentrales Fahrzeugregister: a person is in it as the keeper of a vehicle."""

    store: PopulationStore

    def candidates(self, query: SubjectQuery) -> list[Candidate]:
        return _people_with(self.store, query, lambda idnr: tuple(self.store.vehicles_of(idnr)))

    def document(self, candidate: Candidate, *, issued_at: datetime) -> d.EvidenceDocument:
        person, vehicles = cast(tuple[Person, tuple[Vehicle, ...]], candidate.record)
        return d.Fahrzeughalterauskunft(
            issued_at=issued_at,
            idnr=person.idnr,
            family_name=person.family_name,
            given_names=person.given_names,
            date_of_birth=person.date_of_birth,
            address=_address(person.street, person.house_number, person.postcode, person.city),
            vehicles=tuple(
                d.Vehicle(
                    plate=v.plate,
                    vin=v.vin,
                    make=v.make,
                    model=v.model,
                    vehicle_class=v.vehicle_class,
                    fuel=v.fuel,
                    first_registered=v.first_registered,
                    registered_to_keeper=v.registered_to_keeper,
                )
                for v in vehicles
            ),
        )


@dataclass(frozen=True)
class HandelsregisterSource:
    """The Handelsregister of the register courts."""

    store: PopulationStore
    #: The courts the population has companies at (read once: the file does not change); a
    #: request without a court is looked up at each.
    courts: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "courts", tuple(self.store.register_courts()))

    def candidates(self, query: SubjectQuery) -> list[Candidate]:
        if not isinstance(query, LegalQuery):
            return []
        courts = (query.court,) if query.court is not None else self.courts
        found: list[Candidate] = []
        for court in courts:
            company = self.store.company(court, query.number, query.register)
            if company is None:
                continue
            officers = tuple(
                (officer.role, self.store.person_by_idnr(officer.idnr))
                for officer in company.officers
            )
            found.append(
                LegalCandidate(
                    register=company.register,
                    number=company.number,
                    court=company.court,
                    legal_name=company.name,
                    record=(company, officers),
                )
            )
        return found

    def document(self, candidate: Candidate, *, issued_at: datetime) -> d.EvidenceDocument:
        company, officers = cast(
            tuple[Company, tuple[tuple[str, Person | None], ...]], candidate.record
        )
        return d.Handelsregisterauszug(
            issued_at=issued_at,
            court=company.court,
            register=cast(d.RegisterKind, company.register),
            number=company.number,
            firm=company.name,
            legal_form=company.legal_form,
            seat=company.seat,
            address=_address(company.street, company.house_number, company.postcode, company.city),
            first_entry=company.first_entry,
            business_object=company.business_object or None,
            capital=(
                None if company.capital_cents is None else Decimal(company.capital_cents) / 100
            ),
            representatives=tuple(
                d.Representative(
                    role=role,
                    family_name=person.family_name,
                    given_names=person.given_names,
                    date_of_birth=person.date_of_birth,
                    place_of_residence=person.city,
                )
                for role, person in officers
                # An officer whose person record is gone is not shown rather than half-shown.
                if person is not None
            ),
        )
