"""Data providers (registers) on one shared pipeline, the IDNr lookup (IDA), the synthetic
population and fault injection."""
