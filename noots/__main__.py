"""``python -m noots``: the ``noots`` command (how ``noots up`` starts its components)."""

from noots.cli import main

main()
