"""The progress display: rich on a terminal, plain lines in logs, silence with --quiet."""

from __future__ import annotations

import io

import pytest

from perfkit_bench._progress import (
    PlainProgress,
    QuietProgress,
    RichProgress,
    make_progress,
)


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def drive(progress: PlainProgress | RichProgress | QuietProgress) -> None:
    progress.start(2)
    progress.begin(0, "suite.first")
    progress.finish("suite.first", 1.25, None)
    progress.begin(1, "suite.second[x]")
    progress.finish("suite.second[x]", 75.0, "ValueError: boom [bad]")
    progress.close()


def test_chooses_by_stream() -> None:
    assert isinstance(make_progress(stream=io.StringIO()), PlainProgress)
    assert isinstance(make_progress(stream=FakeTerminal()), RichProgress)
    assert isinstance(make_progress(quiet=True, stream=FakeTerminal()), QuietProgress)


def test_plain_lines() -> None:
    stream = io.StringIO()
    drive(PlainProgress(stream))
    lines = stream.getvalue().splitlines()
    assert lines[:5] == [
        "running 2 benchmarks",
        "[1/2] suite.first ...",
        "[1/2] suite.first ok in 1.2 s (about 1.2 s left)",
        "[2/2] suite.second[x] ...",
        "[2/2] suite.second[x] FAILED (ValueError: boom [bad]) in 1 min 15 s",
    ]
    assert lines[5].startswith("done in ")


def test_rich_display_names_the_failure() -> None:
    stream = FakeTerminal()
    drive(RichProgress(stream))
    text = stream.getvalue()
    assert "FAILED" in text
    assert "suite.second[x]" in text  # escaped, not eaten as markup
    assert "boom [bad]" in text


def test_quiet_prints_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    drive(QuietProgress())
    assert capsys.readouterr() == ("", "")
