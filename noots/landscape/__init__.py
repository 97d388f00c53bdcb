"""The landscape layer's modules that build and play the components themselves: serving one
component as a process (:mod:`noots.landscape.server`) and the pilots played against a running
landscape (:mod:`noots.landscape.pilot`, :mod:`noots.landscape.pilot_eu`). Unlike the protocol core,
these import the components (``noots.registers``, ``noots.intermediary``,
``noots.consumers``; tests/test_layers.py)."""
