"""Processes has no jobs of its own: its use cases (P7, the process view) run in the
request. The file exists so every app has the same file set (docs/architecture.md)."""
