"""Offline HTML: seal a self-contained report so the browser cannot reach the network.

scalene's ``view --standalone`` and memray's ``flamegraph --no-web`` already inline every script
and style they need (memray's wheel ships bootstrap, jquery, d3, d3-flame-graph and plotly for
that flag), so nothing is vendored here. Two things remain:

- scalene's page probes a local model server (``fetch("http://localhost:11434/...")``) for its AI
  panel; a report opened from disk should not talk to anything.
- a future tool version could go back to CDN tags, and the page would then be blank offline.

:func:`seal` puts a Content-Security-Policy ``<meta>`` first in ``<head>``: inline scripts and
styles, ``data:``/``blob:`` images and fonts only; no fetch, no remote script, style, frame or
form target. The browser then blocks any network access before a request is made.
:func:`external_references` lists remote ``src``/``href`` loads left in a page, so a capture can
report a page that would not render offline.
"""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["CSP", "external_references", "seal", "seal_file"]

CSP = (
    "default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; "
    "img-src data: blob:; font-src data:; connect-src 'none'; worker-src blob:; "
    "frame-src 'none'; base-uri 'none'; form-action 'none'"
)
_MARKER = "perfkit-offline"
_META = f'<meta http-equiv="Content-Security-Policy" content="{CSP}" data-{_MARKER}="1">'
_HEAD = re.compile(r"<head(\s[^>]*)?>", re.IGNORECASE)
_HTML = re.compile(r"<html(\s[^>]*)?>", re.IGNORECASE)
# A tag that makes the browser load a remote resource: <script src>, <link href> (stylesheets,
# preloads), <img src>, <iframe src>. Links in <a href> are navigation, not loads.
_REMOTE_LOAD = re.compile(
    r"<(script|link|img|iframe)\b[^>]*?\b(src|href)\s*=\s*[\"']?((?:https?:)?//[^\"'\s>]+)",
    re.IGNORECASE,
)


def seal(html: str) -> str:
    """``html`` with the offline Content-Security-Policy first in its head (idempotent)."""
    if f"data-{_MARKER}" in html:
        return html
    for pattern in (_HEAD, _HTML):
        match = pattern.search(html)
        if match:
            if pattern is _HTML:
                return f"{html[: match.end()]}<head>{_META}</head>{html[match.end() :]}"
            return f"{html[: match.end()]}{_META}{html[match.end() :]}"
    return _META + html


def seal_file(path: Path) -> list[str]:
    """Seal ``path`` in place; returns the remote loads it still declares (blocked now)."""
    html = path.read_text(encoding="utf-8", errors="surrogateescape")
    path.write_text(seal(html), encoding="utf-8", errors="surrogateescape")
    return external_references(html)


def external_references(html: str) -> list[str]:
    """Remote URLs that ``html`` loads as scripts, styles, images or frames."""
    return sorted({match.group(3) for match in _REMOTE_LOAD.finditer(html)})
