"""index.html: the dashboard as one self-contained page that works from file:// with no network.

Layout: a header with the filter box, what is missing, the overview (tiles, latest run against
targets, regressions and improvements, ratios to references), the generated analysis (Markdown
rendered by the ``markdown`` package), one section per suite with a card per benchmark (trend
chart, memory chart for byte metrics, one percentile chart per latency scenario) and the profile
captures with links to their files.

Everything is inlined: the vendored uPlot (``vendor/``, MIT, licence kept next to it), perfkit's
own stylesheet and script (``assets/``), and the chart data as JSON in a
``<script type="application/json">`` element. A Content-Security-Policy allows inline code only
and no fetches at all, so the page cannot reach the network even by mistake.

Escaping: text and attributes from outside (benchmark names, commits, branches, paths, profile
function names) go through ``html.escape``; the chart JSON is ``json.dumps`` with ``<``, ``>``,
``&`` and U+2028/U+2029 replaced by ``\\u`` escapes so no string can close the script element;
the script builds its DOM with ``textContent`` only.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

# markdown ships no type hints (types-Markdown is separate).
import markdown  # type: ignore[import-untyped, unused-ignore]

from perfkit_report._render._dashboard import (
    BenchmarkView,
    Dashboard,
    LatencyGroup,
    ProfileView,
    ratio_goals,
    relative_link,
    run_label,
)
from perfkit_report._render._markdown_report import trend_text
from perfkit_report._render._series import format_day
from perfkit_report._units import format_percent, format_rate, format_value

__all__ = ["UPLOT_VERSION", "render_html_report", "script_json"]

UPLOT_VERSION = "1.6.32"
# Significant digits kept in the chart data: three are shown (run-to-run noise here is 8-15 %),
# a fourth keeps the line honest between them; more only adds bytes (about 4 per value).
_DIGITS = 4
_CSP = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "img-src data:; base-uri 'none'; form-action 'none'"
)
_JSON_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


def script_json(value: Any) -> str:
    """JSON safe to embed in a ``<script>`` element (no ``</script>``, no ``<!--``, no line
    separators that end a JavaScript string)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for raw, escaped in _JSON_ESCAPES.items():
        text = text.replace(raw, escaped)
    return text


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _asset(package: str, name: str) -> str:
    return (resources.files("perfkit_report") / package / name).read_text(encoding="utf-8")


def _num(value: float | None) -> float | None:
    if value is None:
        return None
    return float(f"{value:.{_DIGITS}g}")


class _Page:
    """The page being written: the dashboard, the chart specs collected so far (each gets an
    id), and the card ids (``b<position>``: unique where slugs of names might collide)."""

    def __init__(self, dashboard: Dashboard, out_dir: Path) -> None:
        self.dashboard = dashboard
        self.out_dir = out_dir
        self.specs: list[dict[str, Any]] = []
        self.run_ids: set[int] = set()
        self._card_ids = {view.id: f"b{index}" for index, view in enumerate(dashboard.benchmarks)}

    def card_id(self, view: BenchmarkView) -> str:
        """The anchor of a benchmark's card."""
        return self._card_ids[view.id]

    def _add(self, spec: dict[str, Any]) -> str:
        spec["id"] = f"c{len(self.specs)}"
        self.specs.append(spec)
        return spec["id"]  # type: ignore[no-any-return]

    def _marks(
        self, views: Sequence[BenchmarkView], *, prefix: bool = False
    ) -> list[dict[str, Any]]:
        """Change points and baselines; on a shared chart (``prefix``) each change is labelled
        with its percentile and a baseline is drawn once."""
        marks: list[dict[str, Any]] = []
        baselines: dict[tuple[float, str], dict[str, Any]] = {}
        for view in views:
            name = view.id.rpartition(".")[2] + " " if prefix else ""
            for change in view.changes:
                marks.append(
                    {
                        "x": change.x,
                        "kind": change.kind,
                        "label": name + format_percent(change.percent),
                    }
                )
            for baseline in view.baselines:
                key = (baseline.x, baseline.name)
                baselines.setdefault(
                    key, {"x": baseline.x, "kind": "baseline", "label": baseline.name}
                )
        return [*baselines.values(), *marks]

    def trend(self, view: BenchmarkView) -> tuple[str, int, int]:
        points = view.series.points
        # With a trend the band is the run-to-run noise around each level; without one (too
        # few runs) it is each run's own p5-p95.
        low, high = ("noise low", "noise high") if view.trend_basis != "none" else ("p5", "p95")
        runs = [[p.first_run, p.last_run, p.runs] for p in points]
        for point in points:
            self.run_ids.update((point.first_run, point.last_run))
        marks = self._marks([view])
        chart = self._add(
            {
                "kind": "memory" if view.unit == "byte" else "trend",
                "unit": view.basis.unit,
                "x": [round(p.x, 3) for p in points],
                "series": [
                    {"label": view.basis.label, "values": [_num(p.median) for p in points]},
                    {"label": low, "values": [_num(p.low) for p in points]},
                    {"label": high, "values": [_num(p.high) for p in points]},
                ],
                "runs": runs,
                "marks": marks,
            }
        )
        return chart, len(points), len(marks)

    def latency(self, group: LatencyGroup) -> tuple[str, int, int]:
        xs = sorted({round(p.x, 3) for view in group.members for p in view.series.points})
        position = {x: index for index, x in enumerate(xs)}
        runs: list[list[int]] = [[0, 0, 0] for _ in xs]
        series = []
        for view in group.members:
            values: list[float | None] = [None] * len(xs)
            for point in view.series.points:
                index = position[round(point.x, 3)]
                values[index] = _num(point.median)
                runs[index] = [point.first_run, point.last_run, point.runs]
                self.run_ids.update((point.first_run, point.last_run))
            series.append({"label": view.id.rpartition(".")[2], "values": values})
        marks = self._marks(group.members, prefix=True)
        chart = self._add(
            {
                "kind": "latency",
                "unit": group.members[0].unit,
                "x": xs,
                "series": series,
                "runs": runs,
                "marks": marks,
            }
        )
        return chart, len(xs), len(marks)

    def document(self) -> dict[str, Any]:
        runs = self.dashboard.runs
        return {
            "version": 1,
            "charts": self.specs,
            "runs": {
                str(run_id): [
                    runs[run_id].started or "",
                    run_label(runs[run_id]),
                    runs[run_id].branch or "",
                ]
                for run_id in sorted(self.run_ids)
                if run_id in runs
            },
        }


def render_html_report(dashboard: Dashboard, analysis_markdown: str, out_dir: Path) -> str:
    """The whole page."""
    page = _Page(dashboard, out_dir)
    body: list[str] = []
    body += _header(dashboard)
    body.append('<main id="main">')
    body += _notes(dashboard)
    body += _overview(page)
    body.append('<section id="analysis" class="panel analysis">')
    body.append(markdown.markdown(analysis_markdown, extensions=["tables"]))
    body.append("</section>")
    for suite in dashboard.suites:
        body += _suite(page, suite)
    body += _profiles(dashboard, out_dir)
    body.append('<p id="no-match" class="empty" hidden>No benchmark matches the filter.</p></main>')
    body.append(
        "<footer>perfkit-report · charts by uPlot "
        f"{UPLOT_VERSION} (MIT, © Leon Sorokin), inlined · works offline</footer>"
    )
    head = [
        "<!doctype html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>perfkit performance report</title>",
        "<style>",
        _asset("vendor", "uPlot.min.css"),
        _asset("assets", "dashboard.css"),
        "</style>",
        "</head>",
        f'<body data-charts="{len(page.specs)}">',
    ]
    tail = [
        f'<script type="application/json" id="perfkit-data">{script_json(page.document())}'
        "</script>",
        "<script>",
        _asset("vendor", "uPlot.iife.min.js"),
        "</script>",
        "<script>",
        _asset("assets", "dashboard.js"),
        "</script>",
        "</body>",
        "</html>",
    ]
    return "\n".join([*head, *body, *tail]) + "\n"


def _header(dashboard: Dashboard) -> list[str]:
    run = dashboard.latest_run
    latest = "no runs yet"
    if run is not None:
        parts = [f"run #{run.id}"]
        if run.started:
            parts.append(run.started[:16].replace("T", " ") + " UTC")
        if run.commit_sha:
            parts.append(run.commit_sha[:12])
        if run.branch:
            parts.append(run.branch)
        latest = " · ".join(parts)
    span = ""
    if dashboard.first_run is not None and run is not None:
        span = f"{format_day(dashboard.first_run.time)} → {format_day(dashboard.runs[run.id].time)}"
    return [
        '<header class="top">',
        '<div class="brand"><span class="logo">◆</span> perfkit <span>performance report</span>'
        "</div>",
        '<div class="meta">',
        f"<span>latest: {_e(latest)}</span>",
        f"<span>{dashboard.run_count} runs{(' · ' + _e(span)) if span else ''}</span>",
        f"<span>generated {_e(dashboard.generated[:16].replace('T', ' '))} UTC</span>",
        "</div>",
        '<label class="filter">Filter <input id="filter" type="search" '
        'placeholder="benchmark, suite or target…" autocomplete="off" spellcheck="false">'
        '<span id="filter-count"></span></label>',
        "</header>",
        '<nav class="suites">',
        '<a href="#overview">overview</a><a href="#analysis">analysis</a>',
        *[f'<a href="#suite-{_e(_slug(suite))}">{_e(suite)}</a>' for suite in dashboard.suites],
        '<a href="#profiles">profiles</a>',
        "</nav>",
    ]


def _slug(text: str) -> str:
    return "".join(char if char.isalnum() or char in "-_" else "-" for char in text)


def _notes(dashboard: Dashboard) -> list[str]:
    if not dashboard.notes:
        return []
    items = "".join(f"<li>{_inline_code(note)}</li>" for note in dashboard.notes)
    return [f'<section class="notes" id="notes"><h2>What is missing</h2><ul>{items}</ul></section>']


def _inline_code(text: str) -> str:
    """Escape, then show `backticked` commands (our own wording) as code."""
    parts = _e(text).split("`")
    return "".join(
        f"<code>{part}</code>" if index % 2 else part for index, part in enumerate(parts)
    )


def _badge(status: str) -> str:
    label = {"met": "met", "missed": "missed", "none": "no goal"}.get(status, status)
    return f'<span class="badge st-{_e(status)}">{_e(label)}</span>'


def _overview(page: _Page) -> list[str]:
    out = ['<section id="overview" class="panel">', "<h2>Overview</h2>", '<div class="tiles">']
    for label, count, tone in _tiles(page.dashboard):
        out.append(
            f'<div class="tile {tone}"><div class="n">{count}</div><div class="l">{label}</div></div>'
        )
    out.append("</div>")
    out.append("<h3>Latest run against targets</h3>")
    out += _latest_table(page)
    out.append("<h3>Regressions and improvements</h3>")
    out += _changes_table(page)
    out.append("<h3>Ratios to references</h3>")
    out += _ratios_table(page.dashboard)
    out.append("</section>")
    return out


def _tiles(dashboard: Dashboard) -> list[tuple[str, int, str]]:
    """(label, count, tone) of the overview's tiles."""
    statuses = [
        view.latest.check.status for view in dashboard.latest_views if view.latest is not None
    ]
    regressions = sum(c.kind == "regression" for v in dashboard.benchmarks for c in v.changes)
    improvements = sum(c.kind == "improvement" for v in dashboard.benchmarks for c in v.changes)
    tiles = [
        ("benchmarks", len(dashboard.benchmarks), ""),
        ("targets met", statuses.count("met"), "good"),
        ("targets missed", statuses.count("missed"), "bad" if "missed" in statuses else ""),
        ("no goal", statuses.count("none"), ""),
        ("regressions", regressions, "bad" if regressions else ""),
        ("improvements", improvements, "good" if improvements else ""),
    ]
    if dashboard.verdicts:
        regressed = sum(v.verdict == "regressed" for v in dashboard.verdicts)
        tiles.append(("gate: regressed", regressed, "bad" if regressed else ""))
    return tiles


def _latest_table(page: _Page) -> list[str]:
    latest = page.dashboard.latest_views
    if not latest:
        return ['<p class="empty">No results in the latest run.</p>']
    out = [
        '<div class="scroll"><table class="grid" id="latest-table"><thead><tr>'
        "<th>benchmark</th><th class='r'>value</th><th class='r'>p5-p95</th>"
        "<th class='r'>ops/s</th><th>status</th><th class='r'>ratio</th><th>trend</th>"
        "</tr></thead><tbody>"
    ]
    out += [_latest_row(page, view) for view in latest]
    out.append("</tbody></table></div>")
    return out


def _latest_row(page: _Page, view: BenchmarkView) -> str:
    value = view.latest
    assert value is not None
    spread = (
        f"{format_value(value.p5, view.unit)} - {format_value(value.p95, view.unit)}"
        if value.p5 is not None and value.p95 is not None
        else "—"
    )
    reasons = "; ".join(value.check.reasons)
    trend = trend_text(view)
    tone = (
        "bad"
        if trend.startswith("regression")
        else ("good" if trend.startswith("improvement") else "")
    )
    return (
        f'<tr data-name="{_e(_filter_key(view))}">'
        f'<td><a href="#{_e(page.card_id(view))}">{_e(view.id)}</a></td>'
        f"<td class='r'>{_e(format_value(value.median, view.unit)) if value.median is not None else '—'}</td>"
        f"<td class='r dim'>{_e(spread)}</td>"
        f"<td class='r'>{_e(format_rate(value.rate)) if value.rate is not None else ''}</td>"
        f'<td title="{_e(reasons)}">{_badge(value.check.status)}'
        f"{(' <span class=dim>' + _e(reasons) + '</span>') if value.check.status == 'missed' else ''}</td>"
        f"<td class='r'>{f'{value.ratio:.3g}x' if value.ratio is not None else ''}</td>"
        f'<td class="{tone}">{_e(trend)}</td></tr>'
    )


def _severity(severity: str | None) -> str:
    if not severity:
        return '<span class="dim">—</span>'
    return f'<span class="badge sev-{_e(severity)}">{_e(severity)}</span>'


def _changes_table(page: _Page) -> list[str]:
    dashboard = page.dashboard
    out = []
    if dashboard.verdicts:
        out.append(
            '<p class="dim">Regression gate verdicts for the latest run '
            "(effect = ratio of medians, head / base, as a change):</p>"
        )
        out.append(
            '<div class="scroll"><table class="grid"><thead><tr><th>benchmark</th><th>verdict</th>'
            "<th>severity</th><th class='r'>effect</th><th>95 % CI</th><th class='r'>q</th>"
            "<th>channel</th></tr></thead><tbody>"
        )
        for verdict in dashboard.verdicts:
            ci = "—"
            if verdict.ci_low is not None and verdict.ci_high is not None:
                ci = (
                    f"{format_percent(100 * (verdict.ci_low - 1))} … "
                    f"{format_percent(100 * (verdict.ci_high - 1))}"
                )
            tone = {"regressed": "bad", "improved": "good"}.get(verdict.verdict or "", "")
            out.append(
                f'<tr data-name="{_e(verdict.benchmark.lower())}"><td>{_e(verdict.benchmark)}</td>'
                f'<td class="{tone}">{_e(verdict.verdict or "—")}</td>'
                f"<td>{_severity(verdict.severity)}</td>"
                f"<td class='r'>{_e(format_percent(verdict.percent))}</td><td>{_e(ci)}</td>"
                f"<td class='r'>{_e(f'{verdict.q:.2g}') if verdict.q is not None else '—'}</td>"
                f"<td>{_e(verdict.channel or '—')}</td></tr>"
            )
        out.append("</tbody></table></div>")
    changes = sorted(
        ((view, change) for view in dashboard.benchmarks for change in view.changes),
        key=lambda item: -item[1].x,
    )
    if not changes:
        out.append('<p class="empty">No change point detected in the history.</p>')
        return out
    out.append(
        '<div class="scroll"><table class="grid"><thead><tr><th>benchmark</th>'
        "<th class='r'>change</th><th>kind</th><th>severity</th><th>commits</th><th>date</th>"
        "<th>median before → after</th><th class='r'>p</th></tr></thead><tbody>"
    )
    for view, change in changes:
        tone = "bad" if change.kind == "regression" else "good"
        out.append(
            f'<tr data-name="{_e(_filter_key(view))}">'
            f'<td><a href="#{_e(page.card_id(view))}">{_e(view.id)}</a></td>'
            f'<td class="r {tone}">{_e(format_percent(change.percent))}</td>'
            f'<td class="{tone}">{change.kind}</td><td>{_severity(change.severity)}</td>'
            f"<td><code>{_e(change.commit_range)}</code></td>"
            f"<td>{_e(format_day(change.to_run.time))}</td>"
            f"<td>{_e(format_value(change.point.before, view.unit))} → "
            f"{_e(format_value(change.point.after, view.unit))}</td>"
            f"<td class='r dim'>{change.point.pvalue:.2g}</td></tr>"
        )
    out.append("</tbody></table></div>")
    return out


def _ratios_table(dashboard: Dashboard) -> list[str]:
    rows = dashboard.referenced_views
    if not rows:
        return ['<p class="empty">No benchmark of the latest run names a reference.</p>']
    out = [
        '<div class="scroll"><table class="grid"><thead><tr><th>benchmark</th><th>reference</th>'
        "<th class='r'>ratio</th><th>goal</th><th>status</th></tr></thead><tbody>"
    ]
    for view in rows:
        latest = view.latest
        assert latest is not None and latest.reference is not None
        goals = ratio_goals(latest.rule)
        ratio = f"{latest.ratio:.3g}x" if latest.ratio is not None else "— (not measured)"
        out.append(
            f'<tr data-name="{_e(_filter_key(view))}"><td>{_e(view.id)}</td>'
            f"<td>{_e(latest.reference)}</td><td class='r'>{_e(ratio)}</td>"
            f"<td>{_e(goals)}</td><td>{_badge(latest.check.status)}</td></tr>"
        )
    out.append("</tbody></table></div>")
    return out


def _filter_key(view: BenchmarkView) -> str:
    return " ".join(part for part in (view.id, view.suite, view.target or "") if part).lower()


def _suite(page: _Page, suite: str) -> list[str]:
    cards = page.dashboard.in_suite(suite)
    out = [
        f'<section class="suite" id="suite-{_e(_slug(suite))}" data-suite="{_e(suite)}">',
        f"<h2>{_e(suite)} <span class='dim'>{len(cards)} card(s)</span></h2>",
        '<div class="cards">',
    ]
    for card in cards:
        if isinstance(card, LatencyGroup):
            out += _latency_card(page, card)
        else:
            out += _bench_card(page, card)
    out += ["</div>", "</section>"]
    return out


def _chart_div(chart: str, points: int, marks: int, label: str) -> str:
    return (
        f'<div class="chart" id="chart-{chart}" data-chart="{chart}" data-points="{points}" '
        f'data-marks="{marks}" role="img" aria-label="{_e(label)}"></div>'
    )


def _facts(view: BenchmarkView) -> list[tuple[str, str]]:
    facts: list[tuple[str, str]] = []
    latest = view.latest
    if latest is not None and latest.median is not None:
        facts.append(("latest", format_value(latest.median, view.unit)))
        if latest.p5 is not None and latest.p95 is not None:
            facts.append(
                (
                    "p5-p95",
                    f"{format_value(latest.p5, view.unit)} - {format_value(latest.p95, view.unit)}",
                )
            )
        if latest.rate is not None:
            facts.append(("rate", format_rate(latest.rate)))
        if latest.ratio is not None and latest.reference is not None:
            facts.append(("ratio", f"{latest.ratio:.3g}x {latest.reference}"))
    facts.append(("runs", str(view.series.runs)))
    if view.target:
        facts.append(("target", view.target))
    facts.append(("better", view.direction))
    return facts


def _card_head(title: str, view_for_status: BenchmarkView | None, extra: str = "") -> str:
    status = ""
    if view_for_status is not None and view_for_status.latest is not None:
        status = _badge(view_for_status.latest.check.status)
    return f'<div class="card-head"><h3>{_e(title)}</h3>{extra}{status}</div>'


def _trend_list(view: BenchmarkView, prefix: str = "", *, baselines: bool = True) -> list[str]:
    out = []
    for change in view.changes:
        sev = f" {_severity(change.severity)}" if change.severity else ""
        out.append(
            f'<li class="{change.kind}">{_e(prefix)}<b>{_e(format_percent(change.percent))}</b> '
            f"{change.kind}{sev} between <code>{_e(change.commit_range)}</code> "
            f"({_e(format_day(change.to_run.time))}): "
            f"{_e(format_value(change.point.before, view.unit))} → "
            f"{_e(format_value(change.point.after, view.unit))}, p = {change.point.pvalue:.2g}</li>"
        )
    if view.drift is not None:
        fit = view.drift.fit
        interval = (
            f"[95 % CI {_e(format_percent(fit.percent_low))}, "
            f"{_e(format_percent(fit.percent_high))}] over {fit.points} points"
        )
        if view.drift.notable:
            tone = "regression" if view.drift.worsening else "improvement"
            out.append(
                f'<li class="{tone}">{_e(prefix)}drift <b>{_e(format_percent(fit.percent))}</b> '
                f"per {view.drift.per} {interval} "
                f"({_e(format_percent(view.drift.total_percent))} in all)</li>"
            )
        else:
            out.append(
                f'<li class="note">{_e(prefix)}no notable drift: '
                f"{_e(format_percent(fit.percent))} per {view.drift.per} {interval}</li>"
            )
    for baseline in view.baselines if baselines else ():
        out.append(
            f'<li class="baseline">{_e(prefix)}baseline <b>{_e(baseline.name)}</b>: run '
            f"#{baseline.run.id} ({_e((baseline.run.commit or '')[:12])}), "
            f"{_e(format_value(baseline.value, view.unit)) if baseline.value is not None else '—'}"
            "</li>"
        )
    for note in view.notes:
        out.append(f'<li class="note">{_e(prefix)}{_inline_code(note)}</li>')
    if view.trend_basis != "none":
        out.append(f'<li class="note">{_e(prefix)}{_e(view.basis_text)}</li>')
    if view.series.bucket_days:
        out.append(
            f'<li class="note">{_e(prefix)}one point per {view.series.bucket_days} day(s): '
            "median of the runs' values, band spanning the runs' noise bands</li>"
        )
    if view.verdict is not None:
        verdict = view.verdict
        out.append(
            f'<li class="{"regression" if verdict.verdict == "regressed" else "flat"}">'
            f"{_e(prefix)}gate: {_e(verdict.verdict or '—')} {_severity(verdict.severity)} "
            f"effect {_e(format_percent(verdict.percent))}</li>"
        )
    return out


def _profile_links(page: _Page, target: str | None) -> str:
    profile = page.dashboard.profile_for(target)
    out_dir = page.out_dir
    if profile is None:
        return ""
    # The pages (the CPU flame graph beside scalene's and memray's); all files are in #profiles.
    links = [
        f'<a href="{_e(relative_link(path, out_dir))}">{_e(name)}</a>'
        for name, path in (profile.pages or profile.links)
    ]
    missing = (
        f' <span class="bad">missing: {_e("; ".join(profile.problems))}</span>'
        if profile.problems
        else ""
    )
    return (
        f'<p class="links">profile <a href="#profiles">{_e(profile.target)}</a>: '
        f"{' · '.join(links) or 'no files'}{missing}</p>"
    )


def _bench_card(page: _Page, view: BenchmarkView) -> list[str]:
    chart, points, marks = page.trend(view)
    kind = "memory" if view.unit == "byte" else "trend"
    facts = "".join(f'<span><span class="k">{_e(k)}</span> {_e(v)}</span>' for k, v in _facts(view))
    items = _trend_list(view)
    tag = '<span class="kind">memory</span>' if kind == "memory" else ""
    return [
        f'<article class="card bench {kind}" id="{page.card_id(view)}" '
        f'data-name="{_e(_filter_key(view))}">',
        _card_head(view.id, view, tag),
        f'<div class="facts">{facts}</div>',
        _chart_div(chart, points, marks, f"{kind} of {view.id}"),
        f'<ul class="trend">{"".join(items)}</ul>' if items else "",
        _profile_links(page, view.target),
        "</article>",
    ]


def _latency_card(page: _Page, group: LatencyGroup) -> list[str]:
    chart, points, marks = page.latency(group)
    names = " ".join(_filter_key(view) for view in group.members)
    facts = []
    for view in group.members:
        if view.latest is not None and view.latest.median is not None:
            name = view.id.rpartition(".")[2]
            facts.append(
                f'<span><span class="k">{_e(name)}</span> {_e(format_value(view.latest.median, view.unit))} '
                f"{_badge(view.latest.check.status) if view.latest.check.status != 'none' else ''}</span>"
            )
    items = [
        item
        for index, view in enumerate(group.members)
        for item in _trend_list(
            view, prefix=view.id.rpartition(".")[2] + ": ", baselines=index == 0
        )
    ]
    missed = next(
        (v for v in group.members if v.latest is not None and v.latest.check.status == "missed"),
        None,
    )
    head_view = missed or next((v for v in group.members if v.latest is not None), None)
    return [
        f'<article class="card bench latency" id="{page.card_id(group.members[0])}" '
        f'data-name="{_e(group.scenario.lower())} {_e(names)}">',
        _card_head(group.scenario, head_view, '<span class="kind">latency</span>'),
        f'<div class="facts">{"".join(facts)}</div>',
        _chart_div(chart, points, marks, f"latency percentiles of {group.scenario}"),
        f'<ul class="trend">{"".join(items)}</ul>' if items else "",
        _profile_links(page, group.members[0].target),
        "</article>",
    ]


def _profiles(dashboard: Dashboard, out_dir: Path) -> list[str]:
    out = ['<section id="profiles" class="panel">', "<h2>Profiles</h2>"]
    if not dashboard.profiles:
        out.append(
            '<p class="empty">No profile captures yet: <code>inv profile --target NAME</code>, '
            "then <code>perfkit-report ingest-profile profiles/CAPTURE</code>.</p></section>"
        )
        return out
    out.append(
        '<div class="scroll"><table class="grid"><thead><tr><th>target</th><th>captured</th>'
        "<th>commit</th><th class='r'>peak memory</th><th>top CPU</th><th>files</th>"
        "<th>missing</th></tr></thead><tbody>"
    )
    for profile in dashboard.profiles:
        out.append(_profile_row(profile, out_dir))
    out.append("</tbody></table></div></section>")
    return out


def _commit_cell(commit: str | None) -> str:
    return f"<code>{_e(commit[:12])}</code>" if commit else '<span class="dim">—</span>'


def _profile_row(profile: ProfileView, out_dir: Path) -> str:
    capture = profile.capture
    links = " · ".join(
        f'<a href="{_e(relative_link(path, out_dir))}">{_e(name)}</a>'
        for name, path in profile.links
    )
    top = ""
    spots = (capture.top_frames or capture.top_cpu) if capture is not None else ()
    if spots:
        spot = spots[0]
        top = f"{spot.function} {format_percent(spot.cpu_percent, signed=False)}"
    peak = (
        format_value(capture.peak_memory_bytes, "byte")
        if capture is not None and capture.peak_memory_bytes is not None
        else "—"
    )
    return (
        f'<tr data-name="{_e(profile.target.lower())}"><td>{_e(profile.target)}</td>'
        f"<td>{_e((profile.record.captured or '?')[:16].replace('T', ' '))}</td>"
        f"<td>{_commit_cell(capture.commit if capture is not None else None)}</td>"
        f"<td class='r'>{_e(peak)}</td><td>{_e(top) or '—'}</td><td>{links or '—'}</td>"
        f'<td class="bad">{_e("; ".join(profile.problems))}</td></tr>'
    )
