"""The ClipDrop contract, written once: the endpoint table, input validation and the errors.

This package imports nothing else of ``clipdrop_widgets``; everything else imports it. The API
client validates with it before spending a credit, and the local engine and the workshop gateway
serve it.
"""

from .endpoints import ENDPOINTS, Endpoint, FileField, TextField, endpoint, endpoint_for_path
from .errors import *  # noqa: F403 - the error classes are this package's public names
from .errors import __all__ as _errors_all

__all__ = [
    "ENDPOINTS",
    "Endpoint",
    "FileField",
    "TextField",
    "endpoint",
    "endpoint_for_path",
    *_errors_all,
]
