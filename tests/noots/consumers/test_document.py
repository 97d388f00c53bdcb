"""Tests for noots.consumers._document: evidence documents as readable rows and JSON."""

from __future__ import annotations

from noots.consumers._document import document_rows, document_to_dict, label_of
from noots.xml import parse

DOC = b"""<mb:Meldebescheinigung xmlns:mb="urn:noots:evidence:meldebescheinigung:1" version="1">
<mb:Person><mb:Familienname>Mustermann</mb:Familienname>
<mb:Staatsangehoerigkeit>deutsch</mb:Staatsangehoerigkeit>
<mb:Staatsangehoerigkeit>italienisch</mb:Staatsangehoerigkeit></mb:Person>
<mb:Wohnung><mb:Anschrift><mb:Strasse>Hauptstr.</mb:Strasse></mb:Anschrift>
<mb:Einzugsdatum>2020-01-01</mb:Einzugsdatum></mb:Wohnung></mb:Meldebescheinigung>"""


def test_rows_follow_document_order_with_readable_labels() -> None:
    """Leaves become rows in order; repeated names are numbered and umlauts restored."""
    rows = document_rows(parse(DOC))
    assert [(r.label, r.value) for r in rows] == [
        ("Person › Familienname", "Mustermann"),
        ("Person › Staatsangehörigkeit 1", "deutsch"),
        ("Person › Staatsangehörigkeit 2", "italienisch"),
        ("Wohnung › Anschrift › Straße", "Hauptstr."),
        ("Wohnung › Einzugsdatum", "2020-01-01"),
    ]
    assert rows[0].path == ("Person", "Familienname")


def test_dict_turns_repeats_into_lists() -> None:
    """The JSON form keeps nesting and collects repeated elements in a list."""
    data = document_to_dict(parse(DOC))
    person = data["Meldebescheinigung"]["Person"]
    assert person["Staatsangehoerigkeit"] == ["deutsch", "italienisch"]
    assert data["Meldebescheinigung"]["Wohnung"]["Anschrift"] == {"Strasse": "Hauptstr."}


def test_camel_case_labels_are_split() -> None:
    """ZugelassenSeit reads as 'Zugelassen seit'."""
    assert label_of("ZugelassenSeit") == "Zugelassen seit"
    assert label_of("Vornamen") == "Vornamen"
