"""JobPing's runtime core, shared by the worker and the scanner."""

#: JobPing's version, defined here only: the image has no pyproject.toml, and the scanner names
#: the version in its User-Agent.
__version__ = "0.1.0"
