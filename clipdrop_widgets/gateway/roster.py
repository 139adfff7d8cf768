"""Seats as teachers run them: who sits where, read from a roster, and what a label may hold.

A label or a name is shown in the teacher's terminal, the admin page, the dashboard and the CSV
export, so it must be plain text: printable characters only, bounded in length, and none of the
control or bidirectional-override characters that can make a terminal or a page show something
else than what is stored (``seat-01`` displayed as ``10-taes``). `check_text` refuses them.

`read_roster` reads ``ROSTER.csv`` for ``gateway seats import``: a header row naming a ``name``
or ``email`` column (any case), optionally ``label`` and ``credits``; one seat per row.
"""

from __future__ import annotations

import csv
import io
import os
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from ..contract.errors import ConfigurationError

__all__ = ["RosterRow", "check_text", "read_roster", "LABEL_LIMIT", "CONTACT_LIMIT"]

#: Characters a seat label may have.
LABEL_LIMIT = 40
#: Characters a name or e-mail may have.
CONTACT_LIMIT = 120
#: Unicode categories refused: controls, formats (bidi overrides, zero-width), separators of
#: lines and paragraphs, unassigned and private-use code points, lone surrogates.
_REFUSED = {"Cc", "Cf", "Zl", "Zp", "Cn", "Co", "Cs"}


def check_text(text: str, *, what: str = "label", limit: int = LABEL_LIMIT,
               spaces: bool = False) -> str:
    """``text`` when it is fit to show (stripped); a `ConfigurationError` naming the rule if not.

    ``spaces``: whether inner spaces are allowed (names: yes; labels: no).
    """
    text = text.strip()
    if not text:
        raise ConfigurationError(f"a {what} cannot be empty")
    if len(text) > limit:
        raise ConfigurationError(f"a {what} has at most {limit} characters, got {len(text)}")
    for char in text:
        if unicodedata.category(char) in _REFUSED:
            raise ConfigurationError(
                f"a {what} must be printable text: {what} {text!r} holds U+{ord(char):04X} "
                f"({unicodedata.name(char, 'a control or format character')})")
        if char.isspace() and (not spaces or char != " "):
            raise ConfigurationError(f"a {what} must be one word without spaces, got {text!r}"
                                     if not spaces else
                                     f"a {what} may hold plain spaces only, got {text!r}")
    return text


@dataclass(frozen=True)
class RosterRow:
    """One seat of a roster: who (a name or an e-mail), its label if given, its credits if
    given (``None``: the command's ``--credits``)."""

    contact: str
    label: str | None = None
    credits: float | None = None


def _column(header: list[str], *names: str) -> int | None:
    lowered = [h.strip().lower() for h in header]
    for name in names:
        if name in lowered:
            return lowered.index(name)
    return None


def read_roster(path: str | os.PathLike[str]) -> list[RosterRow]:
    """The seats of the roster at ``path`` (CSV, UTF-8, a header row), in file order."""
    text = Path(path).read_text(encoding="utf-8-sig")
    rows = [r for r in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in r)]
    if not rows:
        raise ConfigurationError(f"{path} is empty: a roster needs a header row (name or email)")
    header, body = rows[0], rows[1:]
    who = _column(header, "name", "email", "e-mail")
    if who is None:
        raise ConfigurationError(f"{path} needs a 'name' or 'email' column; its header is "
                                 f"{', '.join(h[:40] for h in header)[:200]}")
    label, credits = _column(header, "label"), _column(header, "credits")
    seats = []
    for number, row in enumerate(body, start=2):
        def cell(index: int | None, row: list[str] = row) -> str:
            return row[index].strip() if index is not None and index < len(row) else ""

        try:
            contact = check_text(cell(who), what="name", limit=CONTACT_LIMIT, spaces=True)
            named = check_text(cell(label)) if cell(label) else None
            amount = float(cell(credits)) if cell(credits) else None
        except (ConfigurationError, ValueError) as err:
            raise ConfigurationError(f"{path}, line {number}: {err}") from None
        if amount is not None and not 0 <= amount < float("inf"):
            raise ConfigurationError(f"{path}, line {number}: credits must be 0 or more")
        seats.append(RosterRow(contact, named, amount))
    return seats
