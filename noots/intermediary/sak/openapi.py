"""``python -m noots.intermediary.sak.openapi``: rewrite docs/openapi/ from the SAK's routers."""

from __future__ import annotations

from noots.intermediary.sak._openapi import write_documents

if __name__ == "__main__":
    for path in write_documents():
        print(f"wrote {path}")
