"""Names made safe for the teacher's terminal and for one-field-per-column output.

A seat's label can come from the hub (a hub user's name), and some authenticators let people
pick their own name. Printed raw, an escape character can recolour or rewrite the terminal,
a right-to-left override can reverse the rest of a row, and a tab forges a column of
``seats list``. `printable` writes every such character as a visible ``\\x..``/``\\u....``
escape and bounds the length; ordinary letters of any script are kept as they are.
"""

from __future__ import annotations

import unicodedata

__all__ = ["printable", "LABEL_LIMIT"]

#: Characters of a name printed before it is cut with "...".
LABEL_LIMIT = 80


def printable(text: str, *, limit: int = LABEL_LIMIT) -> str:
    """``text`` with control, format (bidi overrides, zero-width) and separator characters
    other than the plain space escaped, cut to ``limit`` characters (default 80) plus "..."."""
    out = []
    for char in text[:limit]:
        category = unicodedata.category(char)
        if char != " " and (category[0] == "C" or category in ("Zl", "Zp", "Zs")):
            code = ord(char)
            out.append(f"\\x{code:02x}" if code < 0x100 else
                       f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
        else:
            out.append(char)
    return "".join(out) + ("..." if len(text) > limit else "")
