"""The flame graph pages: py-spy's CPU flame graph and the differential flame graph of a diff.

Each page is one HTML file that opens from disk with no network: the renderer (d3-flame-graph
5.0.0 and the d3 modules it needs, vendored under ``vendor/`` with their licences, about 129 KiB)
and the page's own script and style (``assets/``) are inlined, the call tree is a JSON
``<script type="application/json">`` block, and the page is sealed with the same
Content-Security-Policy as scalene's and memray's (``_offline``).

Why d3-flame-graph rather than our own SVG code: it is the renderer memray's pages use too, it
brings zoom on click, search, labels that fit their frames and a colour hook for the
differential page, and its size is a fraction of a memray page (4.9 MB). A page of the routing
target is about 150 KB.

Frame names come from the profiled code, so they are input from outside: the JSON block escapes
``<``, ``>`` and ``&`` (nothing can close the block), and the script shows every string as text
(``textContent``, d3's ``.text()``), never as HTML.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from perfkit_profile._offline import seal

__all__ = ["VENDOR_SCRIPTS", "cpu_page", "diff_page", "write_page"]

# Dependencies first: each UMD build adds its functions to the global ``d3`` and may use the
# ones loaded before it (d3-scale needs d3-array, -interpolate, -format, -time, -time-format).
VENDOR_SCRIPTS = (
    "d3-array.min.js",
    "d3-color.min.js",
    "d3-dispatch.min.js",
    "d3-ease.min.js",
    "d3-format.min.js",
    "d3-interpolate.min.js",
    "d3-selection.min.js",
    "d3-timer.min.js",
    "d3-transition.min.js",
    "d3-time.min.js",
    "d3-time-format.min.js",
    "d3-scale.min.js",
    "d3-hierarchy.min.js",
    "d3-flamegraph.umd.min.js",
)

_BODY = """<header><h1 id="title"></h1><div id="meta"></div></header>
<div id="controls"><input id="search" type="search" placeholder="search frames (text)" \
aria-label="search frames"><button id="reset" type="button">reset zoom</button></div>
{legend}<div id="details"></div>
<div id="chart"></div>
<section id="top"></section>
"""
_LEGEND = (
    '<div id="legend">self time per operation, B against A: '
    '<span style="background:rgb(90,90,255)"></span>less '
    '<span style="background:rgb(225,225,225)"></span>same '
    '<span style="background:rgb(255,90,90)"></span>more; frame width: B\'s samples</div>\n'
)


def _asset(*parts: str) -> str:
    return resources.files("perfkit_profile").joinpath(*parts).read_text(encoding="utf-8")


def _json_block(data: Mapping[str, Any]) -> str:
    """JSON that no frame name can break out of: ``<``, ``>``, ``&`` as ``\\u`` escapes."""
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _page(title: str, data: Mapping[str, Any], *, legend: bool) -> str:
    scripts = "".join(f"<script>{_asset('vendor', name)}</script>\n" for name in VENDOR_SCRIPTS)
    body = _BODY.format(legend=_LEGEND if legend else "")
    return seal(
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>\n'
        f"<style>{_asset('assets', 'flamegraph.css')}</style></head>\n"
        f"<body>\n{body}"
        f'<script type="application/json" id="flame-data">{_json_block(data)}</script>\n'
        f"{scripts}<script>{_asset('assets', 'flamegraph.js')}</script>\n"
        "</body></html>\n"
    )


def cpu_page(
    title: str,
    meta: Sequence[str],
    tree: Mapping[str, Any],
    top_self: Sequence[Mapping[str, Any]],
) -> str:
    """A CPU flame graph: ``tree`` is d3-flame-graph's input (``n``, ``v``, ``c``), ``top_self``
    the rows of the table under it (``function``, ``where``, ``self_percent``,
    ``total_percent``)."""
    data = {
        "kind": "cpu",
        "title": title,
        "meta": list(meta),
        "tree": tree,
        "top_self": list(top_self),
    }
    return _page(title, data, legend=False)


def diff_page(
    title: str,
    meta: Sequence[str],
    tree: Mapping[str, Any],
    growing: Sequence[Mapping[str, Any]],
    shrinking: Sequence[Mapping[str, Any]],
    *,
    per_operation: bool,
) -> str:
    """A differential flame graph: B's tree with A's figures (``_stack_diff``)."""
    data = {
        "kind": "diff",
        "title": title,
        "meta": list(meta),
        "tree": tree,
        "growing": list(growing),
        "shrinking": list(shrinking),
        "unit": "per operation" if per_operation else "(share of each side's samples)",
    }
    return _page(title, data, legend=True)


def write_page(path: Path, page: str) -> Path:
    path.write_text(page, encoding="utf-8")
    return path
