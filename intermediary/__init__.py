"""The NOOTS platform: transport hub, RDN, Vermittlungsstelle, IAM/PKI and Datenschutzcockpit."""
