"""``noots fetch`` against a real landscape on loopback sockets (CliRunner)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from noots.cli import app
from noots.testing.landscape import Landscape

pytestmark = pytest.mark.e2e

ERIKA = ["--idnr", "02476291358", "--person", "Erika Mustermann 1964-08-12"]


def run(landscape: Landscape, *args: str) -> tuple[int, str, str]:
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "fetch",
            "--data-dir",
            str(landscape.data_dir),
            "--topology",
            str(landscape.topology_path),
            *args,
        ],
    )
    return result.exit_code, result.stdout, result.stderr


def test_prints_the_evidence_as_a_table(landscape: Landscape) -> None:
    """The default consumer fetches a Meldebescheinigung and prints it as a table, exit 0."""
    code, out, _ = run(landscape, "--evidence", "Meldebescheinigung", *ERIKA)
    assert code == 0
    assert "Meldebescheinigung — Stadt Korntal-Münchingen, Melderegister" in out
    assert "Heidestraße" in out
    assert "via the SAK · checked" in out


def test_json_output_carries_document_and_ids(landscape: Landscape) -> None:
    """--json prints the document and the request ids as JSON."""
    code, out, _ = run(landscape, "--evidence", "Fahrzeughalterauskunft", *ERIKA, "--json")
    assert code == 0
    data = json.loads(out)
    assert data["provider"] == "991-01234ZFZR-41"
    assert data["request_id"].startswith("urn:uuid:")
    vehicle = data["document"]["Fahrzeughalterauskunft"]["Fahrzeug"]
    assert vehicle["Kennzeichen"] == "LB-EM 1964"


def test_person_alone_is_looked_up_in_the_ida(landscape: Landscape) -> None:
    """--person without --idnr: the IDA finds the IDNr, the evidence names it."""
    code, out, _ = run(
        landscape, "--evidence", "Meldebescheinigung", "--person", "Erika Mustermann 12.08.1964"
    )
    assert code == 0, out
    assert "02476291358" in out


def test_idnr_with_date_of_birth_gets_basic_data_from_the_ida(landscape: Landscape) -> None:
    """--idnr with --born: the IDA supplies the basic data the 0101 carries."""
    code, out, _ = run(
        landscape,
        "--evidence",
        "Fahrzeughalterauskunft",
        "--idnr",
        "02476291358",
        "--born",
        "1964-08-12",
    )
    assert code == 0, out
    assert "LB-EM 1964" in out


def test_idnr_alone_asks_for_the_date_of_birth(landscape: Landscape) -> None:
    """--idnr alone cannot build a 0101: a tool failure that names --born, exit 1."""
    code, _, err = run(landscape, "--evidence", "Meldebescheinigung", "--idnr", "02476291358")
    assert code == 1
    assert "date of birth" in err


def test_company_evidence_by_register_number(landscape: Landscape) -> None:
    """A legal-person evidence is fetched with --company and --register-number."""
    code, out, _ = run(
        landscape,
        "--evidence",
        "Handelsregisterauszug",
        "--as",
        "09162000-GEWA-65",
        "--company",
        "Mustermann Digital GmbH",
        "--register-number",
        "HRB 254871",
    )
    assert code == 0, out
    assert "Mustermann Digital GmbH" in out


def test_unauthorised_purpose_is_explained(landscape: Landscape) -> None:
    """A purpose outside the matrix: EDM:ERR:0002 from the VS (through the SAK), cause and fix,
    exit 2."""
    code, _, err = run(
        landscape, "--evidence", "Meldebescheinigung", *ERIKA, "--purpose", "Neugier"
    )
    assert code == 2
    assert "EDM:ERR:0002" in err
    assert "(noots-vs)" in err
    assert "authorisation matrix has no row" in err
    assert "'Neugier'" in err


def test_unknown_person_is_explained(landscape: Landscape) -> None:
    """A person no register knows: EDM:ERR:0004 with the hint to check the data, exit 2."""
    code, _, err = run(
        landscape,
        "--evidence",
        "Meldebescheinigung",
        "--idnr",
        "01234567837",
        "--person",
        "Nils Niemand 1990-01-01",
    )
    assert code == 2
    assert "EDM:ERR:0004" in err
    assert "no unique person" in err


def test_wrong_participant_is_a_tool_failure(landscape: Landscape) -> None:
    """--as with a participant that is no consumer: a one-line error, exit 1."""
    code, _, err = run(landscape, "--evidence", "Meldebescheinigung", *ERIKA, "--as", "noots-vs")
    assert code == 1
    assert "wrong --as?" in err


def test_failure_as_json(landscape: Landscape) -> None:
    """With --json a refusal is printed as JSON with code, cause and fix."""
    code, out, _ = run(
        landscape,
        "--evidence",
        "Geburtsurkunde",
        *ERIKA,
        "--purpose",
        "Bewohnerparkausweis",
        "--json",
    )
    assert code == 2
    data = json.loads(out)
    assert data["code"] == "EDM:ERR:0002"
    assert data["ok"] is False
    assert data["fix"]


def test_landscape_not_running_is_a_tool_failure(tmp_path: Path, landscape: Landscape) -> None:
    """A data dir whose landscape is down (the online service's SAK does not answer): 'start
    it with noots up', exit 1."""
    import shutil

    copy = tmp_path / "down"
    shutil.copytree(landscape.data_dir, copy)
    topology = copy / "landscape.yaml"
    text = topology.read_text(encoding="utf-8")
    port = str(landscape.topology.consumer("08118079-BPA-87").sak.port)
    topology.write_text(text.replace(f"port: {port}", "port: 9"), encoding="utf-8")
    result = CliRunner().invoke(
        app,
        [
            "fetch",
            "--data-dir",
            str(copy),
            "--topology",
            str(topology),
            "--evidence",
            "Meldebescheinigung",
            *ERIKA,
        ],
    )
    assert result.exit_code == 1
    assert "noots up" in result.stderr
    assert "08118079-BPA-87.sak" in result.stderr


def test_running_landscape_is_found_through_its_run_file(
    tmp_path: Path, landscape: Landscape
) -> None:
    """Without --topology, the run file of `noots up` in the data dir says where the landscape
    listens (here: shifted ports the default topology does not have)."""
    import os
    from datetime import UTC, datetime

    from noots.supervisor import RUN_FILE, RunInfo

    data_dir = tmp_path / "data"
    (data_dir / "run").mkdir(parents=True)
    (data_dir / "pki").symlink_to(landscape.data_dir / "pki")
    info = RunInfo(
        supervisor_pid=os.getpid(),  # alive: the landscape counts as running
        data_dir=str(data_dir),
        topology=str(landscape.topology_path),
        tls=False,
        started_at=datetime.now(UTC).isoformat(),
        components=(),
    )
    (data_dir / "run" / RUN_FILE).write_text(info.to_json(), encoding="utf-8")
    result = CliRunner().invoke(
        app,
        ["fetch", "--data-dir", str(data_dir), "--evidence", "Fahrzeughalterauskunft", *ERIKA],
    )
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "LB-EM 1964" in result.stdout
    assert (data_dir / "logs" / "08118079-BPA-87.db").is_file()


def test_person_by_test_identity_name_needs_no_date(landscape: Landscape) -> None:
    """--person with a test person's name alone: her IDNr and basic data come from the test
    identities, the evidence is fetched."""
    code, out, err = run(
        landscape, "--evidence", "Fahrzeughalterauskunft", "--person", "Erika Mustermann"
    )
    assert code == 0, err
    assert "LB-EM 1964" in out


def test_no_wait_prints_the_request_of_evidence_announced_for_later(landscape: Landscape) -> None:
    """--no-wait for the asynchronous test person: exit 0 at once with the request id and the
    announced time, as JSON too."""
    code, out, err = run(
        landscape, "--evidence", "Meldebescheinigung", "--person", "asynchronous", "--no-wait"
    )
    assert code == 0, err
    assert out.startswith("pending: Meldebescheinigung from 08118079-MELD-12 is announced for")
    assert "Uhr" in out
    assert "request urn:uuid:" in out
    code, out, err = run(
        landscape,
        "--evidence",
        "Meldebescheinigung",
        "--person",
        "Clara Später",
        "--no-wait",
        "--json",
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["pending"] is True
    assert data["request_id"].startswith("urn:uuid:")
    assert data["available_at"]


def test_a_data_dir_without_credentials_is_an_error_without_an_edm_code(tmp_path: Path) -> None:
    """An empty data dir (no PKI): exit 1, 'error' and the message once, no EDM code (nobody
    refused anything), and the fix names --data-dir."""
    result = CliRunner().invoke(
        app,
        ["fetch", "--data-dir", str(tmp_path), "--evidence", "Meldebescheinigung", *ERIKA],
    )
    assert result.exit_code == 1
    assert "EDM:ERR" not in result.stderr
    assert result.stderr.startswith("error no credential for 08118079-BPA-87")
    assert result.stderr.count("no credential") == 1
    assert "--data-dir" in result.stderr
