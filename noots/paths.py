"""Where the project's own files are found at run time."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["PROJECT_ROOT", "XSD_DIR", "LandscapePaths", "shared_dir"]

PROJECT_ROOT = Path(__file__).resolve().parent.parent
XSD_DIR = Path(os.environ.get("NOOTS_XSD_DIR", PROJECT_ROOT / "xsd"))


def shared_dir() -> Path | None:
    """The ``../shared`` folder beside the checkout (official XNachweis schemas), if present."""
    candidate = Path(os.environ.get("NOOTS_SHARED_DIR", PROJECT_ROOT.parent / "shared"))
    return candidate if (candidate / "xnachweis").is_dir() else None


@dataclass(frozen=True)
class LandscapePaths:
    """Where a landscape keeps its state below one data directory."""

    data_dir: Path

    @property
    def pki_dir(self) -> Path:
        return self.data_dir / "pki"

    @property
    def population_db(self) -> Path:
        return self.data_dir / "population.db"

    @property
    def logs_dir(self) -> Path:
        return self.data_dir / "logs"

    def protocol_log(self, participant_id: str) -> Path:
        return self.logs_dir / f"{participant_id}.db"

    @property
    def state_dir(self) -> Path:
        return self.data_dir / "state"

    def state_file(self, participant_id: str) -> Path:
        """A receiving participant's restart-safe state (:mod:`noots.state`)."""
        return self.state_dir / f"{participant_id}.db"
