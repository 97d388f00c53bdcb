"""``python -m noots.conformance``: rewrite the condition tables of docs/CONFORMANCE.md."""

from __future__ import annotations

from noots.conformance.catalogue import main

raise SystemExit(main())
