"""The report in a real browser: headless Chromium on a machine whose CJK fonts are hidden.

The page must draw every Chinese character with the font it embeds (no missing-glyph box),
draw its charts without a script error, and print to PDF. Chromium is Debian's
``chromium`` package (``.ci/run`` installs it); fontconfig is pointed at a configuration
that lists DejaVu only, so that the browser sees no CJK font at all. Each character of the
page is drawn on a canvas in the page's own font and compared with a character no font
has (U+10FFFD): the same pixels mean a missing glyph. A page with the embedded font
removed is checked the same way and must show boxes, so the check can fail.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from sim.output.fonts import cjk_font_file
from sim.output.report import write_report

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--hide-scrollbars",
)

# CI sets APPROVALSIM_EXPECT_BROWSER: there a missing browser or font fails the test.
EXPECTED = bool(os.environ.get("APPROVALSIM_EXPECT_BROWSER"))
needs_browser = pytest.mark.skipif(
    not EXPECTED and (CHROMIUM is None or not DEJAVU.is_dir()),
    reason="needs Debian's chromium and fonts-dejavu (apt-get install chromium; .ci/run does)",
)
needs_font = pytest.mark.skipif(
    not EXPECTED and cjk_font_file() is None,
    reason="no CJK font to embed where the report is written (apt-get install "
    "fonts-wqy-microhei; .ci/run does)",
)

# Errors are caught from the start; the check runs once the fonts are ready.
ERRORS = "<script>window.__errors=[];addEventListener('error',e=>__errors.push(String(e.message)));</script>"
CHECK = r"""<script>
(async function () {
  document.querySelectorAll("details").forEach(function (d) { d.open = true; });
  if (window.approvalsimCharts) window.approvalsimCharts.drawAll();
  await document.fonts.ready;
  var family = getComputedStyle(document.body).fontFamily;
  var text = document.body.innerText;
  document.querySelectorAll("svg text").forEach(function (t) { text += t.textContent; });
  var chars = Array.from(new Set(Array.from(text).filter(function (c) {
    return c.codePointAt(0) > 0x7e && c.trim();
  })));
  await document.fonts.load("40px " + family, chars.join(""));
  var canvas = document.createElement("canvas");
  canvas.width = 64; canvas.height = 64;
  var ctx = canvas.getContext("2d", {willReadFrequently: true});
  function pixels(c) {
    ctx.clearRect(0, 0, 64, 64);
    ctx.font = "40px " + family;
    ctx.fillText(c, 6, 46);
    return Array.prototype.join.call(ctx.getImageData(0, 0, 64, 64).data, "");
  }
  var missing = pixels("\u{10FFFD}");
  var out = document.createElement("pre");
  out.id = "glyph-check";
  out.textContent = JSON.stringify({
    chars: chars.length,
    cjk: chars.filter(function (c) { return /[\u3400-\u9fff]/.test(c); }).length,
    boxes: chars.filter(function (c) { return pixels(c) === missing; }),
    errors: window.__errors,
    svgs: document.querySelectorAll(".chart svg").length,
    charts: document.querySelectorAll(".chart").length
  });
  document.body.appendChild(out);
})();
</script>"""


def _no_cjk_fonts(folder: Path) -> dict[str, str]:
    """An environment whose fontconfig knows DejaVu only."""
    config = folder / "fonts.conf"
    config.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n'
        f"  <dir>{DEJAVU}</dir>\n  <cachedir>{folder / 'fontcache'}</cachedir>\n"
        "</fontconfig>\n",
        encoding="utf-8",
    )
    listed = subprocess.run(
        ["fc-list", ":lang=zh"],
        env={"FONTCONFIG_FILE": str(config), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert listed.stdout.strip() == "", "the configuration still shows a CJK font"
    return {"FONTCONFIG_FILE": str(config), "HOME": str(folder), "PATH": "/usr/bin:/bin"}


def _chromium(
    arguments: list[str], folder: Path, env: dict[str, str]
) -> subprocess.CompletedProcess:
    profile = folder / f"profile-{len(list(folder.glob('profile-*')))}"
    return subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *arguments],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=folder,
        env=env,
    )


def _glyph_check(page: Path, folder: Path, env: dict[str, str]) -> dict:
    html = page.read_text(encoding="utf-8")
    checked = folder / f"checked-{page.name}"
    html = html.replace("<head>", "<head>" + ERRORS, 1).replace("</body>", CHECK + "</body>", 1)
    checked.write_text(html, encoding="utf-8")
    done = _chromium(["--virtual-time-budget=20000", "--dump-dom", checked.as_uri()], folder, env)
    found = re.search(r'<pre id="glyph-check">(.*?)</pre>', done.stdout, re.S)
    assert found, f"the check did not run: {done.stderr[-2000:]}"
    return json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))


@pytest.fixture(scope="module")
def page(small_run, tmp_path_factory) -> Path:
    if EXPECTED:
        assert CHROMIUM is not None and DEJAVU.is_dir(), "CI expects chromium and fonts-dejavu"
        assert cjk_font_file() is not None, "CI expects a CJK font (fonts-wqy-microhei)"
    result, contributions = small_run
    folder = tmp_path_factory.mktemp("browser")
    write_report(result, folder, lang="zh", contributions=contributions)
    return folder / "report.html"


@needs_browser
@needs_font
def test_chinese_text_renders_without_any_cjk_font_installed(page, tmp_path):
    env = _no_cjk_fonts(tmp_path)
    found = _glyph_check(page, tmp_path, env)
    assert found["cjk"] > 20, found
    assert found["boxes"] == [], f"characters drawn as missing-glyph boxes: {found['boxes']}"
    assert found["errors"] == []
    assert found["svgs"] == found["charts"] > 0  # every chart drawn
    # The check can fail: without the embedded font the same page shows boxes.
    bare = tmp_path / "bare.html"
    bare.write_text(
        re.sub(r"@font-face \{[^}]*\}", "", page.read_text(encoding="utf-8"), count=1),
        encoding="utf-8",
    )
    without = _glyph_check(bare, tmp_path, env)
    assert len(without["boxes"]) >= without["cjk"] > 20


@needs_browser
def test_the_report_prints_to_pdf(page, tmp_path):
    pdf = tmp_path / "report.pdf"
    done = _chromium(
        ["--no-pdf-header-footer", f"--print-to-pdf={pdf}", page.as_uri()],
        tmp_path,
        {"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert pdf.is_file(), done.stderr[-2000:]
    data = pdf.read_bytes()
    pages = len(re.findall(rb"/Type\s*/Page[^s]", data))
    # Printing opens every section: a summary page, then one or more a procedure.
    assert data.startswith(b"%PDF") and pages >= 2
