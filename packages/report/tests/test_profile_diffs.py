"""``perfkit-report append-profile-diffs``: perfkit-profile's diff JSON, escaped, into comment.md.

The documents are written here in the shape ``perfkit-profile diff --format json`` prints
(version 1, docs/profiling.md); perfkit-report never imports perfkit-profile. The Markdown is
rendered with python-markdown to check that nothing from a document becomes HTML or a link.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import markdown
import pytest

from perfkit_report._cli import main
from perfkit_report._gate import MAX_COMMENT_CHARS, read_profile_diff, render_profile_section

MARKER = "<!-- perfkit-regression-gate -->"
HOSTILE = '<img src=x onerror="alert(1)">|`x`@team [y](z)'
URL = "https://github.example/o/r/actions/runs/42"


def frame(function: str, change: float, file: str = "benchmarks/shop.py") -> dict[str, Any]:
    return {
        "function": function,
        "file": file,
        "line": 16,
        "before_samples": 100,
        "after_samples": 200,
        "before_percent": 30.0,
        "after_percent": 30.0 + change,
        "change_percent": change,
    }


def document(root: Path, benchmark: str = "shop.handle", rows: int = 3) -> dict[str, Any]:
    page = root / "profiles" / "head" / "capture" / "diff-flamegraph.html"
    return {
        "version": 1,
        "target": "shop",
        "before": {"benchmark": benchmark, "commit": "a" * 40, "branch": "main"},
        "after": {"benchmark": benchmark, "commit": "b" * 40, "branch": "feat/<b>|x"},
        "per_operation": True,
        "headline": [{"label": "peak memory (bytes)", "before": 1000, "after": 2000}],
        "functions": {
            "cpu_percent": [
                {"function": "route", "file": "shop.py", "before": 20.0, "after": 35.0}
            ],
            "bytes": [],
            "count": [{"function": HOSTILE, "file": "shop.py", "before": 0.5, "after": 2.0}],
        },
        "frames": {
            "page": str(page),
            "per_operation": True,
            "before_samples": 400,
            "after_samples": 410,
            "growing": [frame("route", 61.0), frame(HOSTILE, 3.0)]
            + [frame(f"f{i}", 1.0 / (i + 1)) for i in range(rows)],
            "shrinking": [],
        },
        "frames_missing": None,
    }


def write(path: Path, data: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.fixture
def comment(tmp_path: Path) -> Path:
    path = tmp_path / "comment.md"
    path.write_text(f"{MARKER}\n**❌ 1 regression**\n", encoding="utf-8")
    return path


def test_the_section_names_the_page_and_the_growing_frames(
    tmp_path: Path, comment: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    diff = write(tmp_path / "profile-diffs" / "shop.handle" / "diff.json", document(tmp_path))
    code = main(
        ["append-profile-diffs", "--comment", str(comment), "--artifact-url", URL, str(diff)]
    )
    assert code == 0, capsys.readouterr().err
    text = comment.read_text(encoding="utf-8")
    assert text.startswith(MARKER)  # appended, the marker stays first
    assert "## Profiles of the regressed benchmarks" in text
    assert "### <code>shop.handle</code>" in text
    assert (
        "Differential CPU flame graph: <code>profiles/head/capture/diff-flamegraph.html</code> in "
        f"[the `regression-report` artifact]({URL})."
    ) in text
    assert "CPU self time that grew most, in % of the base's time per operation (py-spy):" in text
    assert (
        "| <code>route</code> | <code>benchmarks/shop.py:16</code> | 30.0 % | 91.0 % | +61.0 pts |"
        in text
    )
    assert "<details><summary>scalene and memray: functions that grew most</summary>" in text
    assert "appended" in capsys.readouterr().out


def test_strings_from_the_documents_are_escaped(tmp_path: Path, comment: Path) -> None:
    diff = write(tmp_path / "d.json", document(tmp_path))
    assert main(["append-profile-diffs", "--comment", str(comment), str(diff)]) == 0
    text = comment.read_text(encoding="utf-8")
    assert "<img" not in text
    assert "@team" not in text  # no mention
    assert "feat/&lt;b&gt;\\|x" in text
    for line in text.splitlines():
        if line.startswith("| <code>"):
            # five columns whatever the names hold: no pipe escaped its cell
            assert line.replace("\\|", "").count("|") == 6, line
    html = markdown.markdown(text, extensions=["tables"])
    assert "<img" not in html
    assert "<a " not in html.replace(f'<a href="{URL}">', "")  # only the artifact link, if any


def test_without_a_url_the_artifact_is_named_not_linked(tmp_path: Path, comment: Path) -> None:
    diff = write(tmp_path / "d.json", document(tmp_path))
    assert main(["append-profile-diffs", "--comment", str(comment), str(diff)]) == 0
    assert "in the `regression-report` artifact." in comment.read_text(encoding="utf-8")


def test_missing_benchmarks_and_pages(tmp_path: Path, comment: Path) -> None:
    no_frames = document(tmp_path)
    no_frames["frames"] = None
    no_frames["frames_missing"] = "A has no py-spy stacks (capture with --profiler py-spy or all)"
    diff = write(tmp_path / "d.json", no_frames)
    argv = ["append-profile-diffs", "--comment", str(comment), "--missing", "x.y|z", str(diff)]
    assert main(argv) == 0
    text = comment.read_text(encoding="utf-8")
    assert "No differential flame graph: A has no py-spy stacks" in text
    assert (
        "- <code>x.y\\|z</code>: not profiled on both sides or not diffed; see the job log." in text
    )


def test_the_comment_stays_under_githubs_limit(tmp_path: Path) -> None:
    comment = tmp_path / "comment.md"
    base = MARKER + "\n" + "x" * (MAX_COMMENT_CHARS - 3_000)
    comment.write_text(base, encoding="utf-8")
    diffs = [
        write(tmp_path / f"d{i}.json", document(tmp_path, f"suite.bench{i}", rows=10))
        for i in range(6)
    ]
    assert main(["append-profile-diffs", "--comment", str(comment), *map(str, diffs)]) == 0
    text = comment.read_text(encoding="utf-8")
    assert len(text) <= MAX_COMMENT_CHARS
    assert "### <code>suite.bench0</code>" in text  # the first benchmarks, with fewer rows
    assert "more in the `regression-report` artifact (the comment's size limit)" in text
    full = comment.stat().st_size
    assert full > len(base)


def test_no_room_at_all_leaves_a_pointer_or_nothing(tmp_path: Path) -> None:
    diffs = [read_profile_diff(write(tmp_path / "d.json", document(tmp_path)))]
    none_kept = render_profile_section(diffs, [], artifact_root=tmp_path, room=120)
    assert "1 more in the `regression-report` artifact" in none_kept
    pointer = render_profile_section(diffs, [], artifact_root=tmp_path, room=100)
    assert pointer.strip().endswith("In the `regression-report` artifact.")
    assert render_profile_section(diffs, [], artifact_root=tmp_path, room=10) == ""


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "not a readable JSON diff"),
        ("[]", "not a JSON object"),
        (
            '{"version": 2, "functions": {}, "frames": null}',
            "profile diff version 2 is not supported",
        ),
        ('{"version": 1}', "no functions; it is not a perfkit-profile diff"),
    ],
)
def test_bad_documents_are_exit_2_and_write_nothing(
    tmp_path: Path, comment: Path, capsys: pytest.CaptureFixture[str], content: str, message: str
) -> None:
    good = write(tmp_path / "good.json", document(tmp_path))
    bad = tmp_path / "bad.json"
    bad.write_text(content, encoding="utf-8")
    before = comment.read_text(encoding="utf-8")
    assert main(["append-profile-diffs", "--comment", str(comment), str(good), str(bad)]) == 2
    assert message in capsys.readouterr().err
    assert comment.read_text(encoding="utf-8") == before


def _growing(value: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        data["frames"]["growing"] = value

    return change


def _first_frame(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        data["frames"]["growing"][0][key] = value

    return change


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_first_frame("change_percent", None), "frames.growing[0].change_percent is None"),
        (_first_frame("change_percent", "x"), "frames.growing[0].change_percent is 'x'"),
        (_first_frame("after_percent", 10**400), "frames.growing[0].after_percent is 1000"),
        (lambda data: data.update(after="x"), "after is not an object"),
        (lambda data: data.update(before=[1]), "before is not an object"),
        (lambda data: data.update(functions="x"), "functions is not an object"),
        (lambda data: data["functions"].update(bytes={}), "functions.bytes is not a list"),
        (lambda data: data["functions"].update(count=[1]), "functions.count[0] is not an object"),
        (
            lambda data: data["functions"]["cpu_percent"][0].update(after=[2]),
            "functions.cpu_percent[0].after is [2], not a number",
        ),
        (_growing("x"), "frames.growing is not a list"),
        (_growing(["x"]), "frames.growing[0] is not an object"),
    ],
)
def test_malformed_documents_are_one_line_exit_2_not_a_traceback(
    tmp_path: Path,
    comment: Path,
    capsys: pytest.CaptureFixture[str],
    change: Callable[[dict[str, Any]], None],
    message: str,
) -> None:
    data = document(tmp_path)
    change(data)
    bad = write(tmp_path / "bad.json", data)
    before = comment.read_text(encoding="utf-8")
    assert main(["append-profile-diffs", "--comment", str(comment), str(bad)]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert message in line and line.endswith("re-run perfkit-profile diff"), line
    assert comment.read_text(encoding="utf-8") == before


def test_bad_usage_is_exit_2(
    tmp_path: Path, comment: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    diff = write(tmp_path / "d.json", document(tmp_path))
    assert main(["append-profile-diffs", "--comment", str(comment)]) == 2
    assert "nothing to append" in capsys.readouterr().err
    bad_url = ["--artifact-url", "javascript:alert(1)"]
    assert main(["append-profile-diffs", "--comment", str(comment), *bad_url, str(diff)]) == 2
    assert "is not a plain https URL" in capsys.readouterr().err
    missing = ["--comment", str(tmp_path / "none.md"), str(diff)]
    assert main(["append-profile-diffs", *missing]) == 2
    assert "run perfkit-report check first" in capsys.readouterr().err
