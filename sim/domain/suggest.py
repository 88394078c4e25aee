"""The one "did you mean" of every message: the closest known name, or the known names."""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Iterable

_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))


def did_you_mean(word: object, known: Iterable[str], listing: str | None = "known") -> str:
    """A hint for a name that is not known, to append to a message.

    Args:
        word: The name as written.
        known: The names that would have been accepted, in the order to list them.
        listing: The word introducing the list of known names when none is close
            (``known``, ``allowed``), or None to add nothing then.

    Returns:
        ``; did you mean 'x'?``, or ``; known: a, b`` (with ``listing``), or ``""``.
    """
    names = [str(name) for name in known]
    text = str(word)
    # A name that differs only by what does not show (a full-width space typed with a
    # Chinese input method, a zero-width space): say so, or "did you mean 'title'?" for
    # what reads `title` is a riddle.
    plain = unicodedata.normalize("NFKC", text).translate(_INVISIBLE).strip()
    if plain != text and plain in names:
        odd = sorted({c for c in text if not (c.isascii() and c.isprintable())})
        shown = ", ".join(f"U+{ord(c):04X} {unicodedata.name(c, 'unnamed')}" for c in odd)
        return f"; did you mean '{plain}'? (it has {shown or 'spaces'} in it; retype it)"
    close = [name for name in difflib.get_close_matches(text, names, n=2) if name != text]
    if close:
        return f"; did you mean '{close[0]}'?"
    if listing is None or not names:
        return ""
    return f"; {listing}: {', '.join(names)}"
