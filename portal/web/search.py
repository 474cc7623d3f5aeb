"""Text search that does not care how German is spelt.

"kundig" finds "kündig", "Muller" and "Mueller" find "Müller", "strasse"
finds "Straße", whatever the case. Both sides are folded the same way: lower
case, ä/ö/ü to a/o/u, ß to ss, then ae/oe/ue to a/o/u. The column side is
folded in SQL with ``lower`` and ``replace`` only, which SQLite and
PostgreSQL both have; SQLite lowers ASCII letters only, so the capital
umlauts are replaced explicitly. Folding "ue" also makes "Quelle" read
"qulle", on both sides alike: a search may find a little more, never less.
"""

from __future__ import annotations

import unicodedata

from sqlalchemy import func
from sqlalchemy.sql.elements import ColumnElement

#: In this order, in Python and in SQL.
_FOLDS = (("ä", "a"), ("Ä", "a"), ("ö", "o"), ("Ö", "o"), ("ü", "u"), ("Ü", "u"), ("ß", "ss"), ("ae", "a"), ("oe", "o"), ("ue", "u"))


def fold(text: str) -> str:
    """The spelling-free form of a text, as :func:`folded` computes it in SQL."""
    value = unicodedata.normalize("NFC", text or "").lower()
    for old, new in _FOLDS:
        value = value.replace(old, new)
    return value


def folded(column) -> ColumnElement:
    expression = func.lower(column)
    for old, new in _FOLDS:
        expression = func.replace(expression, old, new)
    return expression


def contains(column, text: str) -> ColumnElement:
    """``column`` contains ``text``, ignoring case and umlaut spellings."""
    needle = fold(text).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return folded(column).like(f"%{needle}%", escape="\\")
