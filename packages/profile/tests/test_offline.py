"""Offline HTML: the seal, and a headless Chromium that draws the flame graphs with no network."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from perfkit_profile._offline import CSP, external_references, seal

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def test_seal_puts_the_policy_first_in_head() -> None:
    html = '<!DOCTYPE html><html><head lang="en"><script>x()</script></head><body></body></html>'
    sealed = seal(html)
    head = sealed.index('<head lang="en">') + len('<head lang="en">')
    assert sealed[head:].startswith('<meta http-equiv="Content-Security-Policy"')
    assert sealed.index("Content-Security-Policy") < sealed.index("<script>")
    assert seal(sealed) == sealed  # idempotent


def test_seal_without_head_adds_one() -> None:
    assert seal("<html><body>x</body></html>").startswith("<html><head><meta http-equiv=")
    assert seal("<p>bare</p>").startswith("<meta http-equiv=")


def test_policy_forbids_every_network_load() -> None:
    assert "default-src 'none'" in CSP
    assert "connect-src 'none'" in CSP
    assert "http" not in CSP


def test_external_references_finds_remote_loads_only() -> None:
    html = """
    <link rel="stylesheet" href="https://cdn.example/b.css">
    <script src="//cdn.example/d3.js"></script>
    <script>var s = "not a tag";</script>
    <a href="https://docs.example/help">docs</a>
    <img src="data:image/png;base64,AAAA">
    """
    assert external_references(html) == ["//cdn.example/d3.js", "https://cdn.example/b.css"]


@pytest.fixture(scope="module")
def browser() -> Any:
    # Fails, never skips, without a browser: the offline promise is only checked here.
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.fail("chromium is not on PATH: apt-get update && apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _open(browser: Any, path: Path) -> tuple[Any, list[str], list[str]]:
    page = browser.new_page()
    requests: list[str] = []
    errors: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(path.as_uri())
    return page, requests, errors


@pytest.mark.slow
@pytest.mark.parametrize("name", ["memray-flamegraph.html", "memray-leaks.html"])
def test_memray_flame_graph_is_drawn_offline(
    browser: Any, capture_all: dict[str, Any], name: str
) -> None:
    assert capture_all["done"].returncode == 0, capture_all["done"].stderr
    page, requests, errors = _open(browser, capture_all["folder"] / name)
    page.wait_for_selector("#chart svg g.frame rect", timeout=15_000)
    frames = page.locator("#chart svg g.frame")
    assert frames.count() >= 3  # root, the driver, and at least one frame of the workload
    names = page.eval_on_selector_all(
        "#chart svg g.frame", "nodes => nodes.map(n => n.getAttribute('name') || '')"
    )
    if name == "memray-flamegraph.html":  # peak memory: the workload's own lines are there
        assert any("bytearray" in text or "str(i)" in text for text in names), names[:20]
    assert [url for url in requests if not url.startswith("file://")] == []
    assert errors == []
    page.close()


@pytest.mark.slow
def test_scalene_page_renders_offline(browser: Any, capture_all: dict[str, Any]) -> None:
    page, requests, errors = _open(browser, capture_all["folder"] / "scalene.html")
    page.wait_for_selector("text=tiny.py", timeout=15_000)
    # scalene's page probes a local model server; the seal blocks it before any request.
    assert [url for url in requests if not url.startswith(("file://", "data:"))] == []
    assert errors == []
    page.close()


def _frame_names(page: Any) -> list[str]:
    return list(
        page.eval_on_selector_all(
            "#chart svg g.frame", "nodes => nodes.map(n => n.getAttribute('name') || '')"
        )
    )


def _hostile_name_is_text(page: Any, hostile: str) -> None:
    """The hostile frame is drawn, its name shown literally, and none of its markup ran."""
    label = page.locator("#chart svg g.frame", has=page.locator(f"text={hostile}")).first
    assert label.count() == 1
    names = _frame_names(page)
    assert any(name.startswith(hostile + " (benchmarks/shop.py") for name in names), names
    assert page.evaluate("window.pwned") is None
    assert page.locator("img").count() == 0
    assert page.locator("#chart b, #top b").count() == 0
    cells = page.eval_on_selector_all("#top td", "cells => cells.map(c => c.textContent)")
    assert hostile in cells


@pytest.mark.slow
def test_cpu_flame_graph_is_drawn_offline(browser: Any, pyspy_pair: dict[str, Any]) -> None:
    page, requests, errors = _open(browser, pyspy_pair["head"] / "pyspy-flamegraph.html")
    page.wait_for_selector("#chart svg g.frame rect", timeout=15_000)
    page.wait_for_function(
        "document.querySelectorAll('#chart .d3-flame-graph-label')[1]?.textContent", timeout=5_000
    )
    names = _frame_names(page)
    assert len(names) >= 5
    assert any(name.startswith("route (benchmarks/shop.py:") for name in names), names
    tooltip = page.locator("#chart svg g.frame title").first.text_content()
    assert "samples (" in tooltip and "self" in tooltip
    assert page.locator("#top caption").first.text_content() == "Functions by self time"
    _hostile_name_is_text(page, pyspy_pair["hostile"])
    assert [url for url in requests if not url.startswith("file://")] == []
    assert errors == []
    page.close()


@pytest.mark.slow
def test_differential_flame_graph_is_drawn_offline(
    browser: Any, pyspy_pair: dict[str, Any]
) -> None:
    page, requests, errors = _open(browser, pyspy_pair["head"] / "diff-flamegraph.html")
    page.wait_for_selector("#chart svg g.frame rect", timeout=15_000)
    route = page.locator('#chart svg g.frame[name^="route (benchmarks/shop.py:"]').first
    # The frame that grew most gets the warmest colour; its tooltip has both sides' counts.
    assert route.locator("rect").get_attribute("fill") == "rgb(255,0,0)"
    tooltip = route.locator("title").text_content() or ""
    assert "\nB: self " in tooltip and "\nA: self " in tooltip
    assert "of A's time per operation" in tooltip
    first_row = page.locator("#top table").first.locator("tr").nth(1).locator("td").first
    assert first_row.text_content() == "route"
    _hostile_name_is_text(page, pyspy_pair["hostile"])
    assert [url for url in requests if not url.startswith("file://")] == []
    assert errors == []
    page.close()
