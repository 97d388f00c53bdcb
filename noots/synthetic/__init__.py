"""The synthetic population and the test identities of a landscape.

Shared by the IDA, the simulated eID, the registers and the test tools, and owned by none of
them: :mod:`noots.synthetic.population` seeds and reads the population (people, birth
records, vehicles, companies; only test IDNrs), :mod:`noots.synthetic.identities` fixes the
persons whose behaviour is known in advance (not found, information block, ambiguous, slow,
asynchronous, …). Every person is synthetic.
"""
