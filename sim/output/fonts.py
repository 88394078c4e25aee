"""CJK fonts: where one is installed, and a subset of it embedded in an HTML page.

A report opened on a machine without a CJK font shows every Chinese character as a box.
`embedded_font_css` cuts the installed CJK font down to the characters a page uses
(fontTools, as a WOFF file: zlib, which every browser reads) and returns the CSS
``@font-face`` rule carrying it as a ``data:`` address, limited by ``unicode-range`` to
those characters, so the page draws its Chinese text with it wherever it is opened and
takes its Latin text from the reader's own fonts. The page then needs no font and no
network on the reader's side; the machine that writes it needs one CJK font (README).
"""

from __future__ import annotations

import base64
import io
import os
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

FAMILY = "approvalsim-cjk"
"""The family name of the embedded font in the page's CSS."""

# Fonts found where fontconfig is missing (Windows, macOS), in order of preference.
KNOWN_FILES = (
    "C:/Windows/Fonts/msyh.ttc",
    "C:/Windows/Fonts/simhei.ttf",
    "/System/Library/Fonts/PingFang.ttc",
    "/System/Library/Fonts/STHeiti Light.ttc",
    "/Library/Fonts/Arial Unicode.ttf",
)
# Preferred families when fontconfig lists several (sans-serif, simplified Chinese first).
PREFERRED = ("wqy-microhei", "notosanscjk", "sourcehansans", "wqy-zenhei", "droidsansfallback")


def cjk_font_files() -> list[str]:
    """Font files covering Chinese according to fontconfig (empty without ``fc-list``)."""
    if shutil.which("fc-list") is None:
        return []
    try:
        listing = subprocess.run(
            ["fc-list", ":lang=zh", "file"], capture_output=True, text=True, timeout=10
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return sorted({line.split(":")[0].strip() for line in listing.splitlines() if line.strip()})


@lru_cache(maxsize=1)
def cjk_font_file() -> str | None:
    """The file of the CJK font to embed: ``APPROVALSIM_CJK_FONT``, else an installed one."""
    named = os.environ.get("APPROVALSIM_CJK_FONT")
    if named and os.path.isfile(named):
        return named
    found = cjk_font_files()

    def rank(path: str) -> tuple[int, str]:
        key = Path(path).name.lower().replace("-", "").replace("_", "")
        for index, family in enumerate(PREFERRED):
            if family.replace("-", "") in key:
                return index, path
        return len(PREFERRED), path

    for path in sorted(found, key=rank):
        return path
    return next((path for path in KNOWN_FILES if os.path.isfile(path)), None)


def needs_font(text: str) -> str:
    """The distinct characters of ``text`` that an embedded font should carry (non-ASCII)."""
    return "".join(sorted({char for char in text if ord(char) > 0x7E and not char.isspace()}))


def embedded_font_css(text: str, path: str | None = None) -> tuple[str, str]:
    """The ``@font-face`` rule of a font subset for ``text``, and the characters it lacks.

    Args:
        text: Everything the page shows (its HTML, data and scripts).
        path: The font file (default: `cjk_font_file`).

    Returns:
        ``(css, missing)``: the rule (empty when there is no font, or nothing to embed)
        and the characters of ``text`` that the font does not have (drawn by the reader's
        fonts; empty when all are covered). Without a font every non-ASCII character is
        missing.
    """
    wanted = needs_font(text)
    path = path or cjk_font_file()
    if not wanted:
        return "", ""
    if path is None:
        return "", wanted
    woff, covered = _subset(path, wanted)
    missing = "".join(char for char in wanted if char not in covered)
    if not covered:
        return "", missing
    data = base64.b64encode(woff).decode("ascii")
    css = (
        f'@font-face {{ font-family: "{FAMILY}"; font-style: normal; font-weight: 100 900; '
        f'src: url(data:font/woff;base64,{data}) format("woff"); '
        f"unicode-range: {_ranges(covered)}; }}"
    )
    return css, missing


@lru_cache(maxsize=8)
def _subset(path: str, wanted: str) -> tuple[bytes, str]:
    """The WOFF subset of the font at ``path`` for ``wanted``, and the characters it has."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    options = subset.Options()
    options.flavor = "woff"
    options.hinting = False  # screens and printers draw CJK well without hints; half the size
    options.desubroutinize = True
    options.name_IDs = [0, 1, 2, 3, 4, 5, 6, 13, 14]  # copyright, names, licence
    options.layout_features = ["vert", "vrt2", "kern", "liga"]
    options.drop_tables += ["FFTM"]  # a FontForge timestamp
    buffer = io.BytesIO()
    # Read lazily (only the glyphs kept: ten times faster), and closed when done.
    with TTFont(path, fontNumber=0, lazy=True) as font:
        cmap = font.getBestCmap() or {}
        covered = "".join(char for char in wanted if ord(char) in cmap)
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=[ord(char) for char in covered])
        subsetter.subset(font)
        font.flavor = "woff"
        font.save(buffer)
    return buffer.getvalue(), covered


def _ranges(chars: str) -> str:
    """A CSS ``unicode-range`` for the characters: runs of code points as ranges."""
    points = sorted({ord(char) for char in chars})
    parts = []
    start = previous = points[0]
    for point in points[1:] + [None]:
        if point is not None and point == previous + 1:
            previous = point
            continue
        parts.append(f"U+{start:X}" if start == previous else f"U+{start:X}-{previous:X}")
        if point is not None:
            start = previous = point
    return ", ".join(parts)
