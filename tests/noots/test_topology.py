"""Tests of noots.topology: the default landscape, look-ups, validation and error locations."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from noots.errors import (
    ConfigurationError,
    RouteNotFound,
    TopologyError,
    UnresolvedReference,
    UnsupportedEvidenceType,
)
from noots.paths import PROJECT_ROOT
from noots.topology import (
    DEFAULT_TOPOLOGY_PATH,
    Topology,
    load_topology,
    parse_topology,
    render_json_schema,
    topology_json_schema,
)

SCHEMA_FILE = PROJECT_ROOT / "docs" / "schemas" / "landscape.schema.json"
PARTICIPANT_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9.:_-]{0,63}$"
DEFAULT = load_topology()


@pytest.fixture(scope="module")
def topology() -> Topology:
    return load_topology()


@pytest.fixture
def raw() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(DEFAULT_TOPOLOGY_PATH.read_text(encoding="utf-8"))
    return data


def _problems(data: dict[str, Any]) -> list[tuple[str, str, int | None]]:
    with pytest.raises(TopologyError) as info:
        parse_topology(yaml.safe_dump(data, allow_unicode=True), source="t.yaml")
    return info.value.problems


def test_default_landscape_loads(topology: Topology) -> None:
    """The committed landscape.yaml is valid and holds the parts every component expects."""
    assert len(topology.administrative_areas) >= 6
    assert topology.platform.port == 8400
    assert topology.ida.port == 8401
    assert len(topology.municipalities()) >= 4
    kinds = {r.kind for r in topology.registers}
    assert kinds == {"melderegister", "personenstandsregister", "kba", "handelsregister"}
    assert {c.kind for c in topology.consumers} == {
        "bewohnerparkausweis",
        "elterngeld",
        "gewerbeanmeldung",
        "zeugnisbewertung",
    }
    assert topology.register("991-01234ZFZR-41").kind == "kba"
    assert topology.consumer("08118079-BPA-87").region == "08118079"


def test_default_participant_ids_follow_the_protocol_pattern(topology: Topology) -> None:
    """Every participant id, platform ones included, matches the pattern in docs/PROTOCOL.md."""
    import re

    ids = [p.participant_id for p in topology.participants()]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(PARTICIPANT_PATTERN, pid) for pid in ids)
    assert {"noots-platform", "noots-vs", "noots-ida", "noots-eid", "noots-simulator"} <= set(ids)
    assert not any("hub" in pid for pid in ids)  # the central hub of the first design is gone


def test_default_classifications_and_municipalities(topology: Topology) -> None:
    """Classification URIs use the XNachweis prefix; every Melderegister names its municipality."""
    prefix = "https://sr.oots.tech.ec.europa.eu/evidencetypeclassifications/ec/"
    assert all(e.classification.startswith(prefix) for e in topology.evidence_types)
    for register in topology.municipalities():
        assert register.region is not None
        assert register.municipality is not None
    cities = {r.municipality.name for r in topology.municipalities() if r.municipality}
    assert {"Korntal-Münchingen", "München", "Berlin"} <= cities


def test_find_providers_regional(topology: Topology) -> None:
    """A regional evidence type is routed by AGS; without a region every provider is listed."""
    munich = topology.find_providers("Meldebescheinigung", "09162000")
    assert [r.participant_id for r in munich] == ["09162000-MELD-57"]
    assert topology.find_providers("Meldebescheinigung", "01001000") == []
    assert len(topology.find_providers("Meldebescheinigung")) == len(topology.municipalities())


def test_find_providers_nationwide_ignores_region(topology: Topology) -> None:
    """A nationwide evidence type is answered by its register whatever region is asked."""
    kba = topology.find_providers("Fahrzeughalterauskunft", "09162000")
    assert [r.participant_id for r in kba] == ["991-01234ZFZR-41"]


def test_unknown_evidence_type(topology: Topology) -> None:
    """An unknown evidence type is an UnsupportedEvidenceType, not an empty answer."""
    with pytest.raises(UnsupportedEvidenceType):
        topology.find_providers("Waffenschein")
    with pytest.raises(UnsupportedEvidenceType):
        topology.evidence_type("Waffenschein")


def test_service_id_round_trip(topology: Topology) -> None:
    """Every offered service id resolves back to its register and evidence type."""
    for register in topology.registers:
        for name in register.evidence_types:
            sid = topology.service_id(register.participant_id, name)
            assert sid == f"urn:noots:service:{register.participant_id}:{name}"
            found, spec = topology.resolve_service(sid)
            assert found == register
            assert spec.name == name


@pytest.mark.parametrize(
    "sid",
    [
        "urn:noots:service:991-01234ZFZR-41:Geburtsurkunde",
        "urn:noots:service:nobody:Fahrzeughalterauskunft",
        "urn:noots:service:991-01234ZFZR-41",
        "urn:other:991-01234ZFZR-41:Fahrzeughalterauskunft",
        "",
    ],
)
def test_resolve_service_refuses_unknown(topology: Topology, sid: str) -> None:
    """A service id no register offers is a RouteNotFound."""
    with pytest.raises(RouteNotFound):
        topology.resolve_service(sid)


@given(st.text(max_size=80))
@settings(max_examples=150)
def test_resolve_service_never_crashes(sid: str) -> None:
    """Any text either resolves to an offered service or raises RouteNotFound."""
    try:
        register, spec = DEFAULT.resolve_service(sid)
    except RouteNotFound:
        return
    assert spec.name in register.evidence_types


def test_participant_and_area(topology: Topology) -> None:
    """participant() finds every kind; area_of() names the area; the platform has none."""
    assert topology.participant("noots-vs").role == "vs"
    assert topology.participant("noots-ida").port == 8401
    assert topology.participant("08118079-BPA-87").role == "consumer"
    assert topology.area_of("08118079-BPA-87").id == "verkehr"
    assert topology.area_of("09162000-MELD-57").name == "Meldewesen"
    with pytest.raises(UnresolvedReference):
        topology.participant("nobody")
    with pytest.raises(UnresolvedReference):
        topology.area_of("noots-platform")


def test_base_url(topology: Topology) -> None:
    """base_url serves participant ids and component names, with https when asked."""
    assert topology.base_url("991-01234ZFZR-41") == "http://127.0.0.1:8416"
    assert topology.base_url("noots-platform") == topology.base_url("platform")
    assert topology.base_url("ida", tls=True) == "https://127.0.0.1:8401"
    assert topology.base_url("dashboard").endswith(":8402")


def test_authorisation_matrix(topology: Topology) -> None:
    """The matrix lets the pilot flows through and nothing else."""
    bpa = topology.authorisations_for("08118079-BPA-87", "Meldebescheinigung", "08118079-MELD-12")
    assert [a.purpose for a in bpa] == ["Bewohnerparkausweis"]
    # The parking permit may only ask its own municipality.
    assert (
        topology.authorisations_for("08118079-BPA-87", "Meldebescheinigung", "09162000-MELD-57")
        == []
    )
    assert (
        topology.authorisations_for("08118079-BPA-87", "Geburtsurkunde", "992-00001PSTR-10") == []
    )
    elterngeld = topology.authorisations_for(
        "08-ELTERNGELD-79", "Geburtsurkunde", "992-00001PSTR-10"
    )
    assert elterngeld
    assert elterngeld[0].legal_basis
    hr = topology.authorisations_for(
        "09162000-GEWA-65", "Handelsregisterauszug", "993-00001HREG-32"
    )
    assert hr
    assert not hr[0].uses_idnr


def test_duplicate_participant_id_is_located(raw: dict[str, Any]) -> None:
    """A participant id used twice is reported at the second use, with its line."""
    raw["consumers"][1]["participant_id"] = raw["registers"][0]["participant_id"]
    location, message, line = _problems(raw)[0]
    assert location == "consumers[1].participant_id"
    assert "already used at registers[0].participant_id" in message
    assert line is not None


def test_duplicate_port(raw: dict[str, Any]) -> None:
    """Two components on the same host and port are refused."""
    raw["registers"][2]["port"] = raw["ida"]["port"]
    problems = _problems(raw)
    assert [p[0] for p in problems] == ["registers[2].port"]
    assert "already used at ida.port" in problems[0][1]


def test_broken_references(raw: dict[str, Any]) -> None:
    """Unknown areas, evidence types, consumers and providers are each reported."""
    raw["registers"][0]["area"] = "nirgendwo"
    raw["registers"][1]["evidence_types"] = ["Meldebescheinigung", "Waffenschein"]
    raw["authorisations"][0]["consumer"] = "nobody"
    raw["authorisations"][1]["providers"] = ["992-00001PSTR-10"]
    locations = {p[0]: p[1] for p in _problems(raw)}
    assert set(locations) == {
        "registers[0].area",
        "registers[1].evidence_types[1]",
        "authorisations[0].consumer",
        "authorisations[1].providers[0]",
    }
    assert "does not provide" in locations["authorisations[1].providers[0]"]


def test_regional_type_needs_region(raw: dict[str, Any]) -> None:
    """A register offering a regional type must name its region; a Melderegister its AGS."""
    raw["registers"][6]["evidence_types"].append("Meldebescheinigung")  # the KBA
    del raw["registers"][0]["region"]
    locations = [p[0] for p in _problems(raw)]
    assert "registers[6].evidence_types[1]" in locations
    assert "registers[0].region" in locations


@pytest.mark.parametrize("ags", ["8118079", "081180790", "17000000", "00000000", "0811807a"])
def test_bad_ags_is_located(raw: dict[str, Any], ags: str) -> None:
    """An AGS that is not 8 digits with a Land 01-16 is refused at its line."""
    raw["registers"][1]["region"] = ags
    text = yaml.safe_dump(raw, allow_unicode=True, sort_keys=False)
    with pytest.raises(TopologyError) as info:
        parse_topology(text, source="t.yaml")
    (location, _message, line), *_ = info.value.problems
    assert location == "registers[1].region"
    assert line is not None
    assert "region:" in text.splitlines()[line - 1]


def test_line_numbers_point_at_the_field(tmp_path: Path) -> None:
    """The reported line is the line of the offending value in the file."""
    text = DEFAULT_TOPOLOGY_PATH.read_text(encoding="utf-8").replace("port: 8416", "port: 99999")
    path = tmp_path / "landscape.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(TopologyError) as info:
        load_topology(path)
    assert info.value.file == str(path)
    ((location, _message, line),) = info.value.problems
    assert location == "registers[6].port"
    assert line is not None
    assert "99999" in text.splitlines()[line - 1]
    assert f"{path}:{line}: registers[6].port" in str(info.value)


def test_missing_field_points_at_the_parent(raw: dict[str, Any]) -> None:
    """A missing required field is reported with the line of the mapping that lacks it."""
    del raw["evidence_types"][2]["title"]
    ((location, message, line),) = _problems(raw)
    assert location == "evidence_types[2].title"
    assert "required" in message.lower()
    assert line is not None


def test_unknown_key_refused(raw: dict[str, Any]) -> None:
    """A misspelt key is refused instead of silently ignored."""
    raw["platform"]["prot"] = 1
    assert [p[0] for p in _problems(raw)] == ["platform.prot"]


@pytest.mark.parametrize(
    "text",
    ["registers: [\n  - a: b\n   c: d\n", "- just\n- a list\n", "", "key: [unclosed\n"],
)
def test_not_yaml_or_not_a_mapping(text: str) -> None:
    """Broken YAML or a non-mapping document is a TopologyError, a ConfigurationError."""
    with pytest.raises(ConfigurationError) as info:
        parse_topology(text, source="x.yaml")
    assert isinstance(info.value, TopologyError)
    assert info.value.file == "x.yaml"


def test_missing_file(tmp_path: Path) -> None:
    """A missing file is reported as a TopologyError naming the file."""
    with pytest.raises(TopologyError, match=r"nothing\.yaml"):
        load_topology(tmp_path / "nothing.yaml")


def test_committed_schema_is_current() -> None:
    """docs/schemas/landscape.schema.json equals the schema generated from the model."""
    assert SCHEMA_FILE.read_text(encoding="utf-8") == render_json_schema(), (
        "regenerate: noots topology schema -o docs/schemas/landscape.schema.json"
    )


def test_schema_accepts_default_and_refuses_bad(raw: dict[str, Any]) -> None:
    """The JSON Schema accepts the default landscape and refuses a bad port."""
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(json.loads(json.dumps(raw, default=str)), schema)
    raw["ida"]["port"] = 0
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(json.loads(json.dumps(raw, default=str)), schema)
    assert topology_json_schema()["$schema"].endswith("2020-12/schema")


# -- SAKs and the Vermittlungsstelle rule ----------------------------------------------------


def test_every_register_and_online_service_has_its_own_sak(topology: Topology) -> None:
    """Each register, online service and the IP is served by exactly one SAK of role sak."""
    saks = [p for p in topology.participants() if p.role == "sak"]
    served = sorted(p.serves or "" for p in saks)
    members = sorted(
        m.participant_id
        for m in (*topology.registers, *topology.consumers, topology.intermediary_platform)
        if m is not None
    )
    assert served == members
    assert all(p.participant_id == f"{p.serves}.sak" for p in saks)


def test_a_sak_is_found_from_its_participant_and_back(topology: Topology) -> None:
    """sak_of and served_by are each other's inverse."""
    sak = topology.sak_of("991-01234ZFZR-41")
    assert sak.participant_id == "991-01234ZFZR-41.sak"
    assert topology.served_by(sak.participant_id).participant_id == "991-01234ZFZR-41"
    assert topology.base_url(sak.participant_id).endswith(f":{sak.port}")


def test_served_by_refuses_an_id_that_is_no_sak(topology: Topology) -> None:
    """A participant id that is not a SAK's names nobody."""
    with pytest.raises(UnresolvedReference):
        topology.served_by("991-01234ZFZR-41")
    with pytest.raises(UnresolvedReference):
        topology.served_by("unknown.sak")


def test_the_vs_is_required_for_the_idnr_across_areas(topology: Topology) -> None:
    """Bewohnerparkausweis (verkehr) → Melderegister (meldewesen) with IDNr needs a token."""
    rule = topology.vs_rule("08118079-BPA-87", "08118079-MELD-12", uses_idnr=True)
    assert rule.required
    assert "§ 7 Abs. 2 IDNrG" in rule.reason


def test_the_vs_is_not_required_within_one_area(topology: Topology) -> None:
    """Bewohnerparkausweis and KBA are both in verkehr: no token, without a decision."""
    assert not topology.vs_rule("08118079-BPA-87", "991-01234ZFZR-41", uses_idnr=True).required


def test_the_vs_is_not_required_without_the_idnr(topology: Topology) -> None:
    """A transfer without the IDNr needs no token, even across areas."""
    assert not topology.vs_rule("09162000-GEWA-65", "993-00001HREG-32", uses_idnr=False).required


def test_a_decision_puts_the_vs_between_two_bodies_of_one_area(raw: dict[str, Any]) -> None:
    """With a § 12 Abs. 2 decision for verkehr, BPA → KBA with IDNr needs a token."""
    raw["vs_decisions"] = [{"area": "verkehr", "decision": "Beschluss 1/2026 (simuliert)"}]
    decided = parse_topology(yaml.safe_dump(raw, allow_unicode=True))
    rule = decided.vs_rule("08118079-BPA-87", "991-01234ZFZR-41", uses_idnr=True)
    assert rule.required
    assert "§ 12 Abs. 2 IDNrG" in rule.reason
    assert not decided.vs_rule("08118079-BPA-87", "991-01234ZFZR-41", uses_idnr=False).required


def test_a_decision_for_an_unknown_area_is_refused(raw: dict[str, Any]) -> None:
    """vs_decisions must name an administrative area of the landscape."""
    raw["vs_decisions"] = [{"area": "nirgendwo", "decision": "x"}]
    problems = _problems(raw)
    assert any(loc == "vs_decisions[0].area" for loc, _, _ in problems)


def test_a_consumer_sak_has_no_provider_mode(raw: dict[str, Any]) -> None:
    """passive is a data provider's mode; an online service's SAK cannot have it."""
    raw["consumers"][0]["sak"]["mode"] = "passive"
    problems = _problems(raw)
    assert any(loc == "consumers[0].sak.mode" for loc, _, _ in problems)


def test_a_sak_port_used_twice_is_refused(raw: dict[str, Any]) -> None:
    """A SAK cannot listen where another component does."""
    raw["registers"][1]["sak"]["port"] = raw["registers"][0]["port"]
    problems = _problems(raw)
    assert any(loc == "registers[1].sak.port" and "already used" in m for loc, m, _ in problems)


def test_a_participant_without_a_sak_is_refused(raw: dict[str, Any]) -> None:
    """Every register and online service needs its sak section."""
    del raw["registers"][0]["sak"]
    problems = _problems(raw)
    assert any(loc.startswith("registers[0].sak") for loc, _, _ in problems)


def test_the_ip_is_a_participant_with_its_own_sak(topology: Topology) -> None:
    """The IP (role platform), its access point and its SAK are participants; the IP is the
    one provider of the EU degree and resolvable by its service id."""
    ip = topology.participant("noots-ip")
    assert ip.role == "platform"
    assert topology.participant("eu-gw-de").port == ip.port
    assert topology.sak_of("noots-ip").serves == "noots-ip"
    (provider,) = topology.service_providers("Hochschulabschluss-EU")
    assert provider.participant_id == "noots-ip"
    sid = topology.service_id("noots-ip", "Hochschulabschluss-EU")
    assert topology.resolve_service(sid)[0].participant_id == "noots-ip"
    assert topology.is_platform("noots-ip")
    assert not topology.is_platform("08118079-BPA-87")


def test_the_0401_needs_no_vs_token(topology: Topology) -> None:
    """Orders carry no IDNr: no VS token toward the IP; with the IDNr it would cross areas."""
    assert not topology.vs_rule("991-00001ZAB-89", "noots-ip", uses_idnr=False).required
    assert topology.vs_rule("991-00001ZAB-89", "noots-ip", uses_idnr=True).required


def test_the_ip_needs_the_eu_side(raw: dict[str, Any]) -> None:
    """The IP and the simulated EU side come together."""
    del raw["eu"]
    assert any("come together" in message for _loc, message, _line in _problems(raw))


def test_an_ip_evidence_type_a_register_provides_is_refused(raw: dict[str, Any]) -> None:
    """The RDN names one provider: the IP cannot provide what a German register provides."""
    raw["intermediary_platform"]["evidence_types"].append("Geburtsurkunde")
    problems = _problems(raw)
    assert any(loc.startswith("intermediary_platform.evidence_types") for loc, _m, _l in problems)


def test_eu_ports_must_be_free(raw: dict[str, Any]) -> None:
    """An EU component on a port already used is refused with its location."""
    raw["eu"]["provider"]["port"] = raw["ida"]["port"]
    problems = _problems(raw)
    assert any(loc.startswith("eu.provider.port") for loc, _m, _l in problems)


def test_eu_common_services_have_a_base_url(topology: Topology) -> None:
    """The common services are addressed by component name."""
    assert topology.base_url("eu-common-services") == "http://127.0.0.1:8431"


def test_a_topology_naming_the_hub_is_refused_saying_what_to_do(raw: dict[str, Any]) -> None:
    """platform.hub_id of a topology written for the first design: refused, naming the key and
    that the hub is gone (not just "extra inputs are not permitted")."""
    raw["platform"]["hub_id"] = "noots-hub"
    [(where, message, _line)] = _problems(raw)
    assert where.startswith("platform")
    assert "hub_id" in message
    assert "gone" in message
