"""Where the project's own files are found at run time."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["PROJECT_ROOT", "XSD_DIR", "shared_dir"]

PROJECT_ROOT = Path(__file__).resolve().parent.parent
XSD_DIR = Path(os.environ.get("NOOTS_XSD_DIR", PROJECT_ROOT / "xsd"))


def shared_dir() -> Path | None:
    """The ``../shared`` folder beside the checkout (official XNachweis schemas), if present."""
    candidate = Path(os.environ.get("NOOTS_SHARED_DIR", PROJECT_ROOT.parent / "shared"))
    return candidate if (candidate / "xnachweis").is_dir() else None
