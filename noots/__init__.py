"""noots: a simulator of Germany's National Once-Only Technical System.

The core library has no HTTP in it: identification numbers, the simulated PKI, hardened XML,
XMLDSig, XNachweis 1.2.0 messages, the transport envelope, the Vermittlungsstelle token and
the protocol log. The services in ``registers``, ``intermediary`` and ``consumers`` build on it.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
