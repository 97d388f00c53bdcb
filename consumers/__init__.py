"""Data consumers: the client library, the demo online services and the dashboard."""
