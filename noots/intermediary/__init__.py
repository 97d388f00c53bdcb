"""The NOOTS infrastructure: a SAK for every participant (:mod:`noots.intermediary.sak`), and the
central components RDN, Vermittlungsstelle, IAM/PKI and Datenschutzcockpit."""
