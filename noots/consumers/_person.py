"""The basic data (Grunddaten) the client sends to the IDA to learn a person's IDNr."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from noots import messages
from noots.errors import InvalidInput

__all__ = ["PersonQuery", "company", "parse_date", "parse_person"]


@dataclass(frozen=True)
class PersonQuery:
    """A natural person as the online service knows them (§6(3) IDNrG basic data)."""

    given_name: str
    family_name: str
    date_of_birth: date
    place_of_birth: str | None = None

    def __post_init__(self) -> None:
        if not self.given_name.strip() or not self.family_name.strip():
            raise InvalidInput("a person needs a given name and a family name")

    def describe(self) -> str:
        """The form :func:`parse_person` reads back (comma form: safe for any name)."""
        parts = [self.family_name, self.given_name, self.date_of_birth.isoformat()]
        if self.place_of_birth:
            parts.append(self.place_of_birth)
        return ", ".join(parts)


_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_GERMAN = re.compile(r"^\d{1,2}\.\d{1,2}\.\d{4}$")


def _date(text: str) -> date | None:
    text = text.strip()
    try:
        if _ISO.match(text):
            return date.fromisoformat(text)
        if _GERMAN.match(text):
            return datetime.strptime(text, "%d.%m.%Y").date()
    except ValueError:
        raise InvalidInput(f"not a calendar date: {text!r}") from None
    return None


def parse_date(text: str) -> date:
    """A date as ``YYYY-MM-DD`` or ``DD.MM.YYYY``; :class:`InvalidInput` otherwise."""
    value = _date(text)
    if value is None:
        raise InvalidInput(f"not a date (YYYY-MM-DD or DD.MM.YYYY): {text!r}")
    return value


def parse_person(text: str) -> PersonQuery:
    """Read a person from one line of text.

    Two forms:

    - ``"Erika Mustermann 1964-08-12 Berlin"``: given names, then the family name (one word),
      then the date of birth (``YYYY-MM-DD`` or ``DD.MM.YYYY``), then optionally the place of
      birth;
    - ``"Mustermann, Erika Anna, 12.08.1964, Berlin"``: family name first, commas between the
      fields; needed when the family name has a space (``"von Bülow, Vicco, 1923-11-12"``).
    """
    text = " ".join(text.split())
    if "," in text:
        fields = [f.strip() for f in text.split(",")]
        if len(fields) not in (3, 4) or not all(fields):
            raise InvalidInput("expected 'Family, Given names, date of birth[, place of birth]'")
        born = _date(fields[2])
        if born is None:
            raise InvalidInput(f"the third field must be the date of birth, not {fields[2]!r}")
        place = fields[3] if len(fields) == 4 else None
        return PersonQuery(fields[1], fields[0], born, place)
    words = text.split(" ")
    for i, word in enumerate(words):
        born = _date(word)
        if born is None:
            continue
        names = words[:i]
        if len(names) < 2:
            raise InvalidInput("expected given name(s) and a family name before the date of birth")
        place = " ".join(words[i + 1 :]) or None
        return PersonQuery(" ".join(names[:-1]), names[-1], born, place)
    raise InvalidInput("no date of birth (YYYY-MM-DD or DD.MM.YYYY) in the person description")


_REGISTER = re.compile(r"\b(HRA|HRB)\s*(\d+\s*[A-Z]?)$", re.IGNORECASE)


def company(name: str, register_number: str) -> messages.LegalPerson:
    """A company by name and Handelsregister number (``"HRB 254871"``, optionally with the court
    in front: ``"Amtsgericht München HRB 254871"``)."""
    text = " ".join(register_number.split())
    match = _REGISTER.search(text)
    if not name.strip() or match is None:
        raise InvalidInput("a company needs its name and a register number like 'HRB 12345'")
    scheme = match.group(1).upper()
    court = text[: match.start()].strip()
    value = f"{court} {scheme} {match.group(2)}" if court else f"{scheme} {match.group(2)}"
    return messages.LegalPerson(
        " ".join(name.split()), identifiers=(messages.LegalIdentifier(value, scheme),)
    )
