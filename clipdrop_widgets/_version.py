__version__ = "0.1.0"
"""The package's version (see the version policy in the docs)."""
