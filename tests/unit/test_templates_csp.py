"""The Content-Security-Policy (`style-src 'self'`) refuses inline styles: no template may use one.

A `style` attribute or a `<style>` block is dropped by the browser with a console error, so
whatever it meant to do (keep a form on the line of its list item, say) silently does not
happen. Styles belong in the one stylesheet, `frontend/static/css/merito.css`, as classes.
"""

from __future__ import annotations

import re

from backend.web import TEMPLATES_DIR

INLINE_STYLE = re.compile(r"<style\b|\sstyle\s*=", re.IGNORECASE)


def test_no_template_carries_an_inline_style():
    offenders = [
        f"{path.relative_to(TEMPLATES_DIR)}:{number}: {line.strip()}"
        for path in sorted(TEMPLATES_DIR.rglob("*.html"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if INLINE_STYLE.search(line)
    ]
    assert offenders == [], "inline styles (move them to merito.css):\n" + "\n".join(offenders)


def test_the_check_recognises_inline_styles():
    assert INLINE_STYLE.search('<form method="post" style="display:inline">')
    assert INLINE_STYLE.search("<STYLE>p { color: red }</STYLE>")
    assert not INLINE_STYLE.search('<p class="stylesheet-note">styled</p>')
