"""Markdown that GitHub renders as written: every Markdown output (report.md, analysis.md,
``compare --format md``, ``summary --format md``, the PR comment) is rendered with cmark-gfm,
GitHub's own renderer (``cmarkgfm``, raw HTML let through so none can hide), with hostile
benchmark names, suites, targets, branch, commit, labels and metadata; nothing from outside may
become a link, an image, a strikethrough, HTML, or (as GitHub's filters would make of the rendered
text) a mention or an issue reference. The comment's own hidden marker and its own links are
perfkit's."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import cmarkgfm
import pytest
from cmarkgfm.cmark import Options

from perfkit_report import History
from perfkit_report._render._report import render_report

PAYLOADS = [
    "https://evil.example/bare",
    "www.evil.example",
    "<https://evil.example/angle>",
    "mail@evil.example",
    "mailto:x@evil.example",
    "~~struck~~",
    "~tilde~",
    "#1",
    "owner/repo#3",
    "@someone",
    "GH-12",
    "<b>bold</b><img src=x onerror=alert(1)>",
    "<!-- hidden -->",
    "[link](https://evil.example/link)",
    "![image](https://evil.example/i.png)",
    "<details><summary>x</summary>",
    "ftp://evil.example/f",
    "*em* _em_ `tick` x|y",
]
# Elements Markdown itself makes (cmark-gfm), and the raw HTML perfkit writes on purpose.
MARKDOWN_TAGS = {
    "p", "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td",
    "ul", "ol", "li", "code", "pre", "em", "strong", "blockquote", "hr", "br", "a",
}  # fmt: skip
OUR_HTML = {"details", "summary", "sub", "sup"}
OUR_COMMENTS = {"perfkit-regression-gate"}
# What GitHub's filters link in rendered text outside code, pre and links.
GITHUB_REFERENCES = re.compile(
    r"(?<![\w@])@[A-Za-z0-9][A-Za-z0-9-]*"  # @mention
    r"|(?<![\w&])#\d+"  # #1
    r"|\b[\w.-]+/[\w.-]+#\d+"  # owner/repo#3
    r"|\bGH-\d+",
    re.IGNORECASE,
)


class Rendered(HTMLParser):
    """The parts of cmark-gfm's HTML that matter here."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.links: list[str] = []
        self.comments: list[str] = []
        self.references: list[str] = []
        self._open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag == "a":
            self.links.append(dict(attrs).get("href") or "")
        if tag not in ("br", "hr", "img"):
            self._open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self._open:
            del self._open[len(self._open) - 1 - self._open[::-1].index(tag)]

    def handle_comment(self, data: str) -> None:
        self.comments.append(data.strip())

    def handle_data(self, data: str) -> None:
        if not {"code", "pre", "a"} & set(self._open):
            self.references.extend(GITHUB_REFERENCES.findall(data))


def rendered(markdown: str) -> Rendered:
    html = cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE)
    parser = Rendered()
    parser.feed(html)
    parser.close()
    return parser


def assert_renders_as_written(
    markdown: str, *, links: Callable[[str], bool] = lambda _: False
) -> None:
    found = rendered(markdown)
    foreign = set(found.tags) - MARKDOWN_TAGS - OUR_HTML
    assert not foreign, f"HTML from outside: {sorted(foreign)}"
    assert set(found.comments) <= OUR_COMMENTS, found.comments
    assert [href for href in found.links if not links(href)] == []
    assert found.references == []
    # Every payload's visible text is still there (escaped, not dropped).
    text = re.sub(r"<[^>]+>", "", markdown)
    assert "evil" in text


def hostile_file(path: Path, factor: float, *, run_id: str) -> Path:
    """A pyperf file whose benchmark names, branch, commit and metadata are the payloads."""
    metadata = {
        "perfkit_run_id": run_id,
        "perfkit_branch": " ".join(PAYLOADS[:6]),
        "perfkit_commit": "@someone #1",
        "perfkit_started": "2026-11-20T10:00:00+00:00",
        "perfkit_python": "owner/repo#3 https://evil.example/python",
        "perfkit_cpu_model": "<b>cpu</b> www.evil.example",
    }
    benchmarks = [
        {
            "metadata": {
                "name": f"{payload} {index}",
                "perfkit_suite": payload,
                "perfkit_target": payload,
                "perfkit_reference": PAYLOADS[0],
            },
            "runs": [
                {"values": [factor * (1 + index / 10) * (1 + process / 50)] * 3}
                for process in range(6)
            ],
        }
        for index, payload in enumerate(PAYLOADS)
    ]
    path.write_text(
        json.dumps({"version": "1.0", "metadata": metadata, "benchmarks": benchmarks}),
        encoding="utf-8",
    )
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("hostile")
    return (
        hostile_file(folder / "base.json", 1e-6, run_id="base"),
        hostile_file(folder / "head.json", 1.5e-6, run_id="head"),
    )


def test_compare_markdown(
    run_main: Callable[..., tuple[int, str, str]], files: tuple[Path, Path]
) -> None:
    code, markdown, stderr = run_main("compare", *files, "--format", "md")
    assert code == 1, stderr
    assert_renders_as_written(markdown)


def test_the_pr_comment(
    run_main: Callable[..., tuple[int, str, str]], files: tuple[Path, Path], tmp_path: Path
) -> None:
    base, head = files
    code, _, stderr = run_main(
        "check",
        "--base",
        base,
        "--head",
        head,
        "--out-dir",
        tmp_path,
        "--no-store",
        "--base-label",
        " ".join(PAYLOADS[:9]),
        "--head-label",
        " ".join(PAYLOADS[9:]),
    )
    assert code == 1, stderr
    comment = (tmp_path / "comment.md").read_text(encoding="utf-8")
    assert comment.startswith("<!-- perfkit-regression-gate -->")
    assert_renders_as_written(comment)


def test_summary_markdown(
    run_main: Callable[..., tuple[int, str, str]], files: tuple[Path, Path], tmp_path: Path
) -> None:
    db = tmp_path / "history.db"
    assert run_main("ingest", "--db", db, *files)[0] == 0
    code, markdown, stderr = run_main("summary", "--db", db, "--format", "md")
    assert code == 0, stderr
    assert_renders_as_written(markdown)


def test_report_and_analysis(
    tmp_path: Path,
    synthetic: Callable[..., Any],
    series_type: Any,
    profile_folder: Callable[..., Path],
    sql: Callable[..., Any],
) -> None:
    db = tmp_path / "history.db"
    series = [
        series_type(
            f"{payload} {index}",
            [1e-6] * 6 + [2e-6] * 6,
            suite=payload,
            target=f"t {payload}",
            reference=PAYLOADS[0],
        )
        for index, payload in enumerate(PAYLOADS)
    ]
    ids = synthetic(db, series)
    sql(
        db,
        "UPDATE runs SET branch = ?, commit_sha = ? WHERE id = ?",
        [" ".join(PAYLOADS[:6]), "@someone #1 www.evil.example", ids[-1]],
    )
    capture = profile_folder(
        tmp_path / "profiles" / "capture",
        target=f"t {PAYLOADS[0]}",
        top_cpu=[
            {"function": payload, "file": f"{payload}.py", "line": 1, "cpu_percent": 5.0}
            for payload in PAYLOADS[:5]
        ],
    )
    with History.open(db) as history:
        history.ingest_profiles([capture])
        report = render_report(history, tmp_path / "out")

    def ours(href: str) -> bool:  # the links to the capture's files, built by perfkit
        return href.startswith("../profiles/capture/")

    for path in (report.markdown, report.analysis):
        assert_renders_as_written(path.read_text(encoding="utf-8"), links=ours)


def profile_diff(root: Path) -> dict[str, Any]:
    """A perfkit-profile diff document (docs/profiling.md) whose names are the payloads."""

    def frame(function: str, change: float) -> dict[str, Any]:
        return {
            "function": function,
            "file": f"{function}.py",
            "line": 1,
            "before_samples": 100,
            "after_samples": 200,
            "before_percent": 10.0,
            "after_percent": 10.0 + change,
            "change_percent": change,
        }

    rows = [
        {"function": payload, "file": payload, "before": 1.0, "after": 2.0} for payload in PAYLOADS
    ]
    return {
        "version": 1,
        "target": PAYLOADS[0],
        "before": {"benchmark": PAYLOADS[1], "commit": "@someone", "branch": PAYLOADS[5]},
        "after": {"benchmark": PAYLOADS[1], "commit": "#1", "branch": PAYLOADS[8]},
        "per_operation": True,
        "headline": [{"label": PAYLOADS[9], "before": 1, "after": 2}],
        "functions": {"cpu_percent": rows, "bytes": [], "count": []},
        "frames": {
            "page": str(root / "profiles" / "head" / "diff-flamegraph.html"),
            "per_operation": True,
            "before_samples": 400,
            "after_samples": 410,
            "growing": [frame(payload, 5.0) for payload in PAYLOADS],
            "shrinking": [],
        },
        "frames_missing": None,
    }


def test_the_pr_comment_with_its_profile_section(
    run_main: Callable[..., tuple[int, str, str]], files: tuple[Path, Path], tmp_path: Path
) -> None:
    base, head = files
    assert run_main("check", "--base", base, "--head", head, "--out-dir", tmp_path, "--no-store")[0]
    diff = tmp_path / "profiles" / "diff.json"
    diff.parent.mkdir()
    diff.write_text(json.dumps(profile_diff(tmp_path)), encoding="utf-8")
    artifact = "https://github.example/o/r/actions/runs/42"
    code, _, stderr = run_main(
        "append-profile-diffs",
        "--comment",
        tmp_path / "comment.md",
        "--artifact-url",
        artifact,
        "--artifact-root",
        tmp_path,
        "--missing",
        PAYLOADS[3],
        diff,
    )
    assert code == 0, stderr
    comment = (tmp_path / "comment.md").read_text(encoding="utf-8")
    assert "Profiles of the regressed benchmarks" in comment
    assert_renders_as_written(comment, links=lambda href: href == artifact)
