"""Where the project's own files are found at run time.

What noots needs to run (its schemas, the default topology) is package data, found through
:mod:`importlib.resources`, so an installed wheel runs anywhere. ``PROJECT_ROOT`` (the
checkout) is only for the developer tools that regenerate files kept in the repository.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

__all__ = [
    "DEFAULT_TOPOLOGY_PATH",
    "PROJECT_ROOT",
    "XSD_DIR",
    "LandscapePaths",
    "package_path",
    "shared_dir",
]

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def package_path(*parts: str) -> Path:
    """A file or folder of the installed ``noots`` package as a path on disk.

    Servers, schema compilers and ``docker compose`` need real paths; a package imported from
    a zip file has none, and that is refused at import rather than failing later.
    """
    traversable = resources.files("noots").joinpath(*parts)
    if not isinstance(traversable, Path):
        raise RuntimeError(f"noots must be installed as files on disk, not {traversable!r}")
    return traversable


#: The project's own XML schemas; NOOTS_XSD_DIR points elsewhere (a schema under development).
XSD_DIR = Path(os.environ.get("NOOTS_XSD_DIR") or package_path("xsd"))
#: The topology shipped with noots (``landscape.yaml`` at the checkout's root links to it).
DEFAULT_TOPOLOGY_PATH = package_path("landscape", "landscape.yaml")


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
