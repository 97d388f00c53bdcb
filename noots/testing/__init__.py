"""Test helpers shipped with the library, so every part of the project (and users' own test
suites) can reuse them: a ready test PKI (:mod:`noots.testing.pki`), and more."""
