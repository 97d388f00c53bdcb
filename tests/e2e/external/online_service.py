"""An online service written from docs/SAK.md alone: one evidence through its SAK.

    python online_service.py PLATFORM_URL SAK_URL PKI_DIR PARTICIPANT_ID

Gets its IAM access token for its SAK, asks the route of a Fahrzeughalterauskunft, builds the
0101 from the official example (fresh ids, its own route), asks for the authorisation, sends
the 0101 and prints what came back as JSON. No noots import.
"""

from __future__ import annotations

import hashlib
import json
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
from _common import PARSER, access_token
from lxml import etree

EXAMPLES = Path(__file__).resolve().parents[4] / "shared" / "xnachweis" / "examples"
DE = "urn:xoev-de:bva:standard:xnachweis:schema:xnachweis-de-noots"
BK = "urn:xoev-de:bva:standard:xnachweis:schema:xnachweis-baukasten"
NS = {"xn-de": DE, "xn-bk": BK}


def request_0101(route: dict[str, object]) -> etree._Element:
    request = etree.parse(str(EXAMPLES / "DE.EvidenceRequest.0101.xml"), PARSER).getroot()
    for comment in list(request.iter(etree.Comment)):
        comment.getparent().remove(comment)
    request.set("id", f"urn:uuid:{uuid.uuid4()}")
    request.find(".//xn-bk:nachrichtenUUID", NS).text = str(uuid.uuid4())
    request.find(".//xn-bk:erstellungszeitpunkt", NS).text = datetime.now(UTC).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    provider = route["provider"]
    assert isinstance(provider, dict)
    request.find("xn-de:EvidenceProvider/xn-bk:Identifier", NS).text = provider["participantId"]
    request.find("xn-de:IssuedToken", NS).text = ""
    return request


def request_hash(request: etree._Element) -> str:
    """SHA-256 of the exclusive C14N of the 0101 with an empty IssuedToken (PROTOCOL.md)."""
    return hashlib.sha256(
        etree.tostring(request, method="c14n", exclusive=True, with_comments=False)
    ).hexdigest()


def main() -> None:
    platform, sak, pki_dir, me = sys.argv[1], sys.argv[2], Path(sys.argv[3]), sys.argv[4]
    token = access_token(platform, pki_dir, me, f"{me}.sak")
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=sak, headers=auth, timeout=60) as client:
        found = client.get("/consumer/v1/routes", params={"evidenceType": "Fahrzeughalterauskunft"})
        found.raise_for_status()
        route = found.json()
        request = request_0101(route)
        granted = client.post(
            "/consumer/v1/authorisations",
            json={
                "serviceId": route["serviceId"],
                "purpose": "Bewohnerparkausweis",
                "legalBasis": "§ 45 Abs. 1b StVO",
                "usesIdnr": True,
                "requestHash": request_hash(request),
            },
        )
        granted.raise_for_status()
        authorisation = granted.json()
        if authorisation["required"]:
            request.find("xn-de:IssuedToken", NS).text = authorisation["token"]
        answer = client.post(
            "/consumer/v1/requests",
            content=etree.tostring(request, xml_declaration=True, encoding="UTF-8"),
            headers={
                "Content-Type": "application/xml",
                "Noots-Purpose": "Bewohnerparkausweis",
                "Noots-Service-Id": route["serviceId"],
            },
        )
    root = etree.fromstring(answer.content, PARSER)
    document = root.findtext(".//xn-bk:RepositoryItem/xn-bk:RepositoryItem", namespaces=NS)
    print(
        json.dumps(
            {
                "status": answer.status_code,
                "outcome": answer.headers.get("Noots-Outcome"),
                "message": etree.QName(root).localname,
                "echoes": root.get("requestid") == request.get("id"),
                "vs_required": authorisation["required"],
                "document": bool(document),
            }
        )
    )


if __name__ == "__main__":
    main()
