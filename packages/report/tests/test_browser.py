"""The dashboard in a real browser: Playwright for Python driving Debian's Chromium.

The page is opened from file:// with every request outside file:// recorded and aborted; the
test checks there is none and no console error, that each chart drew the points the history
holds, that tooltips name the commit, that the filter box hides what does not match, and that a
benchmark named ``<img src=x onerror=alert(1)>`` is shown as text and runs nothing. A screenshot
of the page is kept in ``tests/artifacts/`` (git-ignored; ``PERFKIT_TEST_ARTIFACTS`` overrides).

Chromium missing is a failure, not a skip: CI installs it (``.ci/run``), and a skipped browser
test would let a broken dashboard through. Locally: ``apt-get install -y chromium``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Request, Route, sync_playwright

from perfkit_report import History, parse_targets
from perfkit_report._render._report import render_report

XSS = "<img src=x onerror=alert(1)>"
RUNS = 24
# Flags Debian's chromium needs here: no sandbox (root in a container), no GPU, and no
# background requests of its own (component updates, safe browsing) that would show up as
# network traffic the page did not make.
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
# The pages of a capture, as perfkit-profile's summary.json names them (stub files here).
PAGES = {
    "pyspy_flamegraph": "pyspy-flamegraph.html",
    "scalene_html": "scalene.html",
    "memray_flamegraph": "memray-flamegraph.html",
    "memray_leaks": "memray-leaks.html",
    "pyspy_folded": "pyspy.folded",
}
ARTIFACTS = Path(os.environ.get("PERFKIT_TEST_ARTIFACTS", Path(__file__).parent / "artifacts"))
TARGETS = """
version = 1
[defaults]
severity = { minor = 10.0, major = 15.0, critical = 20.0 }
[[target]]
id = "message_throughput.tell.asyncio"
min_rate = 1.75e6
ratio_max = 1.0
[[target]]
id = "memory_usage.footprint"
unit = "byte"
max = 1536
[[target]]
id = "concurrent_load.fanout.p99"
max = 3e-3
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail(
            "chromium is not on PATH; install it (apt-get install -y chromium) - the browser "
            "test must run, it is never skipped"
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def dashboard(
    tmp_path_factory: pytest.TempPathFactory,
    synthetic: Callable[..., Any],
    series_type: Any,
    profile_folder: Callable[..., Path],
) -> Any:
    S = series_type
    folder = tmp_path_factory.mktemp("browser")
    db = folder / "history.db"
    step = [560e-9 if i < 16 else 700e-9 for i in range(RUNS)]
    ids = synthetic(
        db,
        [
            S("message_throughput.tell.asyncio", step, reference="message_throughput.tell.queue"),
            S("message_throughput.tell.queue", [600e-9] * RUNS),
            S(
                "memory_usage.footprint",
                [1400.0] * 10 + [1200.0] * 14,
                unit="byte",
                kind="bytes",
                target="spawning",
                noise=0.001,
            ),
            S("concurrent_load.fanout.p50", [120e-6] * RUNS, kind="latency", target="load"),
            S(
                "concurrent_load.fanout.p95",
                [900e-6] * 12 + [1260e-6] * 12,
                kind="latency",
                target="load",
            ),
            S(
                "concurrent_load.fanout.p99",
                [2.4e-3] * 12 + [3.36e-3] * 12,
                kind="latency",
                target="load",
            ),
            S(XSS, [1e-6] * 8, suite="external", target=XSS),
        ],
    )
    capture = profile_folder(
        folder / "profiles" / "2026-11-20-abc-routing",
        version=2,
        files=PAGES,
        create=tuple(PAGES.values()),
        top_frames_self=[
            {
                "function": XSS,
                "file": "benchmarks/x.py",
                "line": 3,
                "self_percent": 41.0,
                "total_percent": 41.0,
            },
            {
                "function": "SyncRef.tell",
                "file": "perfkit_runtime/_ref.py",
                "line": 493,
                "self_percent": 30.0,
                "total_percent": 80.0,
            },
        ],
    )
    with History.open(db) as history:
        history.pin_baseline("release-0.1", ids[4])
        history.ingest_profiles([capture])
        return render_report(history, folder / "out", parse_targets(TARGETS, "targets.toml"))


class _Watch:
    """Console errors, page errors, dialogs and every request a page makes."""

    def __init__(self, page: Page) -> None:
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.outside: list[str] = []
        self.requests: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))
        page.on("dialog", self._dialog)
        page.on("request", self._request)
        page.route("**/*", self._route)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            self.errors.append(f"{message.type}: {message.text}")

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def _request(self, request: Request) -> None:
        self.requests.append(request.url)
        if not request.url.startswith("file://"):
            self.outside.append(request.url)

    def _route(self, route: Route) -> None:
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            route.abort()


def _open(browser: Browser, path: Path) -> tuple[Page, _Watch]:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    watch = _Watch(page)
    page.goto(path.absolute().as_uri())
    page.wait_for_selector("body[data-ready='1']", timeout=15_000)
    return page, watch


def test_the_page_loads_offline_without_errors_and_draws_every_chart(
    browser: Browser, dashboard: Any
) -> None:
    page, watch = _open(browser, dashboard.html)
    try:
        assert watch.errors == []
        assert watch.outside == []
        assert watch.requests == [dashboard.html.absolute().as_uri()]
        drawn = page.evaluate("window.perfkitCharts")
        expected = page.eval_on_selector_all(
            ".chart[data-chart]",
            "nodes => nodes.map(n => [n.dataset.chart, +n.dataset.points, +n.dataset.drawn,"
            " n.querySelectorAll('canvas').length])",
        )
        # tell.asyncio, tell.queue, memory, the latency scenario (p50/p95/p99 on one chart), xss
        assert len(expected) == len(drawn) == 5
        for chart, points, drawn_points, canvases in expected:
            assert drawn[chart]["points"] == points == drawn_points
            assert canvases == 1
        by_card = page.eval_on_selector_all(
            ".card.bench",
            "cards => cards.map(c => [c.querySelector('h3').textContent,"
            " c.querySelector('.chart').dataset.chart])",
        )
        charts = {title: drawn[chart] for title, chart in by_card}
        assert charts["message_throughput.tell.asyncio"] == {
            "points": RUNS,
            "series": 3,
            "marks": 2,
        }
        assert charts["concurrent_load.fanout"]["series"] == 3  # p50, p95, p99 together
        assert charts["concurrent_load.fanout"]["points"] == RUNS
        assert charts["memory_usage.footprint"]["points"] == RUNS
        assert charts[XSS]["points"] == 8
    finally:
        page.close()


def test_tooltip_names_the_commit_and_the_value(browser: Browser, dashboard: Any) -> None:
    page, watch = _open(browser, dashboard.html)
    try:
        card = page.locator(".card.bench", has_text="message_throughput.tell.asyncio").first
        over = card.locator(".u-over")
        over.scroll_into_view_if_needed()
        box = over.bounding_box()
        assert box is not None
        page.mouse.move(box["x"] + box["width"] - 2, box["y"] + box["height"] / 2)
        tip = card.locator(".pk-tip")
        tip.wait_for(state="visible", timeout=5_000)
        text = tip.inner_text()
        assert "0023c0ffeec0 (main)" in text  # the last run's commit and branch
        # The chart reads the trend's basis (the value, or the ratio to the reference when
        # that is steadier) with the run-to-run noise band around its level.
        view = next(v for v in dashboard.dashboard.benchmarks if v.id.endswith("tell.asyncio"))
        assert f"{view.basis.label}: " in text
        assert "noise low: " in text and "noise high: " in text
        assert watch.errors == []
    finally:
        page.close()


def test_filter_hides_benchmarks_that_do_not_match(browser: Browser, dashboard: Any) -> None:
    page, watch = _open(browser, dashboard.html)
    try:
        visible = (
            "cards => cards.filter(c => !c.hidden).map(c => c.querySelector('h3').textContent)"
        )
        everything = page.eval_on_selector_all(".card.bench", visible)
        assert len(everything) == 5
        page.fill("#filter", "fanout")
        assert page.eval_on_selector_all(".card.bench", visible) == ["concurrent_load.fanout"]
        assert page.is_hidden("#suite-message_throughput")
        assert page.is_visible("#suite-concurrent_load")
        rows = page.eval_on_selector_all(
            "#latest-table tr[data-name]", "rows => rows.filter(r => !r.hidden).length"
        )
        assert rows == 3  # p50, p95, p99 of the scenario
        assert page.inner_text("#filter-count") == "1 of 5"
        page.fill("#filter", "tell asyncio")  # every word must match
        assert page.eval_on_selector_all(".card.bench", visible) == [
            "message_throughput.tell.asyncio"
        ]
        page.fill("#filter", "no such benchmark")
        assert page.eval_on_selector_all(".card.bench", visible) == []
        assert page.is_visible("#no-match")
        page.fill("#filter", "")
        assert page.eval_on_selector_all(".card.bench", visible) == everything
        assert watch.errors == []
    finally:
        page.close()


def test_a_hostile_benchmark_name_is_text_and_runs_nothing(
    browser: Browser, dashboard: Any
) -> None:
    page, watch = _open(browser, dashboard.html)
    try:
        page.fill("#filter", "onerror")
        assert page.locator(".card.bench:not([hidden])").count() == 1
        card = page.locator('.card.bench[data-name*="onerror"]')
        assert card.locator("h3").inner_text() == XSS
        page.fill("#filter", "")
        assert page.locator("img").count() == 0
        assert page.evaluate("document.images.length") == 0
        # hover its chart too: the tooltip builds DOM from data that includes the name's run
        over = card.locator(".u-over")
        over.scroll_into_view_if_needed()
        box = over.bounding_box()
        assert box is not None
        page.mouse.move(box["x"] + 5, box["y"] + box["height"] / 2)
        page.wait_for_timeout(200)
        assert page.locator("img").count() == 0
        assert watch.dialogs == []
        assert watch.errors == []
    finally:
        page.close()


def test_profile_links_show_the_cpu_flame_graph_beside_scalene_and_memray(
    browser: Browser, dashboard: Any
) -> None:
    page, watch = _open(browser, dashboard.html)
    try:
        card = page.locator(".card.bench", has_text="message_throughput.tell.asyncio").first
        names = card.locator("p.links a").all_inner_texts()
        assert names == [
            "routing",
            "CPU flame graph",
            "scalene",
            "memray peak memory",
            "memray leaks",
        ]
        href = card.locator("p.links a", has_text="CPU flame graph").get_attribute("href")
        assert href is not None and href.endswith("pyspy-flamegraph.html")
        # The profiles table lists every file, the pages first; its top CPU cell is py-spy's
        # top frame, whose name is markup: shown as text.
        row = page.locator("#profiles tr", has_text="routing").first
        assert row.locator("a").all_inner_texts()[:2] == ["CPU flame graph", "scalene"]
        assert XSS in row.inner_text()
        assert page.locator("img").count() == 0
        analysis = page.locator("body").inner_text()
        assert f"CPU frame (py-spy) self 41.0 %, total 41.0 %: {XSS}" in analysis
        target = (dashboard.html.parent / href).resolve()
        page.goto(target.as_uri())
        assert page.locator("body").inner_text() == "profile"
        assert watch.outside == [] and watch.errors == [] and watch.dialogs == []
    finally:
        page.close()


def test_screenshot_is_kept_as_an_artifact(
    browser: Browser, dashboard: Any, tmp_path: Path
) -> None:
    page, watch = _open(browser, dashboard.html)
    try:
        shot = tmp_path / "dashboard.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 50_000
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, ARTIFACTS / "dashboard.png")
        top = ARTIFACTS / "dashboard-top.png"
        page.screenshot(path=str(top))
        assert watch.errors == []
    finally:
        page.close()


def test_empty_history_page_loads_without_errors(browser: Browser, tmp_path: Path) -> None:
    History.open(tmp_path / "h.db").close()
    with History.open(tmp_path / "h.db") as history:
        report = render_report(history, tmp_path / "out")
    page, watch = _open(browser, report.html)
    try:
        assert watch.errors == [] and watch.outside == []
        assert page.evaluate("Object.keys(window.perfkitCharts).length") == 0
        assert "The history holds no runs yet" in page.inner_text("#notes")
    finally:
        page.close()
