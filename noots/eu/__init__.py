"""The EU side of the Once-Only Technical System, as protocol code (no HTTP).

- :mod:`noots.eu.edm`: the Exchange Data Model 2.0 on OASIS ebXML RegRep 4 — the evidence
  ``QueryRequest``, the ``QueryResponse`` with the evidence as repository item (or
  ``ResponseAvailableDateTime``), and the error response with one ``rs:Exception``
  (``EDM:ERR:0001…0008``, the preview case included).
- :mod:`noots.eu.ebms`: the eDelivery envelope: an ebMS3 user message with the OOTS header
  values, the EDM payload and the evidence attachments, signed with :mod:`noots.signing`
  (a simulation: not wire-compatible with an AS4 access point, see docs/EU.md).
- :mod:`noots.eu.registry`: the RegRep REST queries of the common services (Evidence Broker
  and Data Service Directory): query ids, parameters, response documents.
- :mod:`noots.eu.mapping`: EDM ↔ XNachweis (use cases 3 and 4 of the Intermediäre Plattform).
"""
