"""A register written from docs/SAK.md alone: push mode, one evidence (the official example).

    python register.py PORT PKI_DIR PARTICIPANT_ID

Serves ``POST /provider/v1/requests`` (its SAK hands it each 0101) and ``GET /health``. It
accepts only its own SAK (the IAM access token of ``<participant>.sak`` for itself), answers a
0101 about the example's person with the example 0102 (fresh ids, this request's id) and
anybody else with the example 0103 (EDM:ERR:0004). No noots import.
"""

from __future__ import annotations

import copy
import sys
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from _common import PARSER, check_access_token
from lxml import etree

EXAMPLES = Path(__file__).resolve().parents[4] / "shared" / "xnachweis" / "examples"
DE = "urn:xoev-de:bva:standard:xnachweis:schema:xnachweis-de-noots"
BK = "urn:xoev-de:bva:standard:xnachweis:schema:xnachweis-baukasten"
NS = {"xn-de": DE, "xn-bk": BK}


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _answer(request: etree._Element, template: str) -> bytes:
    answer = etree.parse(str(EXAMPLES / template), PARSER).getroot()
    answer = copy.deepcopy(answer)
    for comment in list(answer.iter(etree.Comment)):
        comment.getparent().remove(comment)
    answer.set("requestid", request.get("id"))
    answer.find(".//xn-bk:nachrichtenUUID", NS).text = str(uuid.uuid4())
    answer.find(".//xn-bk:erstellungszeitpunkt", NS).text = _now()
    for tag in ("EvidenceResponseIdentifier", "ErrorResponseIdentifier"):
        found = answer.find(f"xn-de:{tag}", NS)
        if found is not None:
            found.text = str(uuid.uuid4())
    for found in answer.iterfind(".//xn-bk:id", NS):
        found.text = f"urn:uuid:{uuid.uuid4()}"
    return etree.tostring(answer, xml_declaration=True, encoding="UTF-8")


class Register(BaseHTTPRequestHandler):
    pki_dir: Path
    me: str

    def do_GET(self) -> None:
        self._reply(200, b'{"status": "healthy"}', "application/json")

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.path != "/provider/v1/requests":
            self._reply(404, b"", "text/plain")
            return
        authorization = self.headers.get("Authorization", "")
        try:
            check_access_token(
                authorization.removeprefix("Bearer "),
                self.pki_dir,
                audience=self.me,
                subject=f"{self.me}.sak",
            )
        except Exception:
            self._reply(401, b"only my own SAK", "text/plain")
            return
        request = etree.fromstring(body, PARSER)
        requester = request.findtext("xn-de:EvidenceRequester/xn-bk:Identifier", namespaces=NS)
        if requester != self.headers.get("Noots-Consumer"):
            self._reply(401, b"requester is not the consumer", "text/plain")
            return
        idnr = request.findtext(".//xn-bk:IDNr", namespaces=NS)
        if idnr == "02476291358":
            self._reply(200, _answer(request, "DE.EvidenceResponse.0102.xml"), "application/xml")
        else:
            self._reply(
                404, _answer(request, "DE.EvidenceErrorResponse.0103.xml"), "application/xml"
            )

    def _reply(self, status: int, body: bytes, media_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", media_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def main() -> None:
    port, pki_dir, me = int(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    Register.pki_dir, Register.me = pki_dir, me
    server = ThreadingHTTPServer(("127.0.0.1", port), Register)
    print(f"listening on {port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
