"""JobPing's runtime core, shared by the worker and the scanner."""
