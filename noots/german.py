"""German for people: times in Europe/Berlin, and "von der Stadt …" with the right article.

Times on pages and in terminal output read as a person in Germany expects them,
``06.12.2026, 06:12 Uhr`` in Europe/Berlin (summer time included), formatted by Babel; the
wire, the logs and the JSON stay ISO 8601 in UTC.

Authority names in the topology are nominatives ("Stadt Korntal-Münchingen, Melderegister");
"from" needs the dative with the article of the authority's kind: *von der* Stadt, *vom*
Kraftfahrt-Bundesamt, *von den* Registergerichten. :func:`von` finds the kind from the name's
head noun (the first word that names an authority), so every name of a topology gets its
article without a list of names.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal
from zoneinfo import ZoneInfo

__all__ = ["BERLIN", "berlin_time", "dative", "von"]

BERLIN = ZoneInfo("Europe/Berlin")

Gender = Literal["f", "m", "n", "pl"]

#: Endings of the head nouns of German authority names and their grammatical gender. The
#: longest matching ending wins ("Landesamt" ends in "amt", not "land"…, checked longest first).
_HEADS: tuple[tuple[str, Gender], ...] = tuple(
    sorted(
        (
            ("gerichte", "pl"),
            ("ämter", "pl"),
            ("behörden", "pl"),
            ("stadt", "f"),
            ("gemeinde", "f"),
            ("stelle", "f"),
            ("behörde", "f"),
            ("verwaltung", "f"),
            ("bank", "f"),
            ("kasse", "f"),
            ("agentur", "f"),
            ("anstalt", "f"),
            ("kammer", "f"),
            ("amt", "n"),
            ("register", "n"),
            ("ministerium", "n"),
            ("land", "n"),
            ("zentrum", "n"),
            ("gericht", "n"),
            ("kreis", "m"),
            ("bezirk", "m"),
            ("landkreis", "m"),
            ("verband", "m"),
            ("senat", "m"),
            ("dienst", "m"),
        ),
        key=lambda item: -len(item[0]),
    )
)
_ARTICLE: dict[Gender, str] = {"f": "der", "m": "dem", "n": "dem", "pl": "den"}
# Between a head noun and the next word: names (Korntal-Münchingen), genitives (der Länder).
_STOP = {"der", "des", "für", "von", "in", "im", "am", "an", "(simulation)"}


def _gender(word: str) -> Gender | None:
    lowered = word.lower().strip(",()")
    for ending, gender in _HEADS:
        if lowered.endswith(ending):
            return gender
    return None


def dative(name: str) -> str:
    """``name`` with its dative article: "der Stadt Korntal-Münchingen, Melderegister",
    "dem Kraftfahrt-Bundesamt, …", "den Registergerichten der Länder, …".

    Adjectives before the head noun take the weak ending ("der Freien und Hansestadt
    Hamburg"); a plural head noun takes its dative -n. A name whose head is not recognised
    is returned unchanged (better no article than a wrong one).
    """
    words = name.split(" ")
    for index, word in enumerate(words):
        if word.lower() in _STOP:
            break
        gender = _gender(word)
        if gender is None:
            continue
        inflected = [_weak(w) for w in words[:index]]
        head = word
        if gender == "pl" and not head.rstrip(",").endswith("n"):
            stripped = head.rstrip(",")
            head = stripped + "n" + head[len(stripped) :]
        return " ".join([_ARTICLE[gender], *inflected, head, *words[index + 1 :]])
    return name


def von(name: str) -> str:
    """ "von der Stadt …", "vom Kraftfahrt-Bundesamt …", "von den Registergerichten …"."""
    phrase = dative(name)
    if phrase == name:
        return f"von {name}"
    if phrase.startswith("dem "):
        return "vom " + phrase.removeprefix("dem ")
    return f"von {phrase}"


def _weak(word: str) -> str:
    """An attributive adjective after a definite article in the dative: -en ("Freie" →
    "Freien", "zuständiges" → "zuständigen"); other words ("und") stay."""
    if word == "und":
        return word
    for ending in ("es", "er", "e"):
        if word.endswith(ending) and len(word) > len(ending) + 2:
            return word[: -len(ending)] + "en"
    return word


def berlin_time(instant: datetime, *, seconds: bool = False) -> str:
    """``06.12.2026, 06:12 Uhr`` in Europe/Berlin; a naive ``instant`` counts as UTC."""
    from babel.dates import format_datetime

    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    pattern = "dd.MM.yyyy, HH:mm:ss 'Uhr'" if seconds else "dd.MM.yyyy, HH:mm 'Uhr'"
    return format_datetime(instant, pattern, tzinfo=BERLIN, locale="de_DE")
