"""Reading the profilers' outputs: scalene JSON, memray stats, their file keys."""

from __future__ import annotations

from typing import Any

from perfkit_profile._memray import parse_stats
from perfkit_profile._scalene import parse_profile


def _line(
    lineno: int, code: str, python: float, native: float = 0.0, malloc: float = 0.0
) -> dict[str, Any]:
    return {
        "lineno": lineno,
        "line": code,
        "n_cpu_percent_python": python,
        "n_cpu_percent_c": native,
        "n_sys_percent": 0.5,
        "n_malloc_mb": malloc,
        "n_peak_mb": malloc,
        "n_copy_mb_s": 0.0,
    }


def test_scalene_functions_and_lines_ranked_by_total_cpu() -> None:
    data = {
        "max_footprint_mb": 2.0,
        "elapsed_time_sec": 1.5,
        "files": {
            "/x/a.py": {
                "functions": [_line(3, "slow", 30.0, 10.0), _line(9, "Klass.fast", 5.0)],
                "lines": [
                    _line(4, "    if a \\u003c b \\u0026 c:\n", 30.0, 10.0),
                    _line(5, "    pass\n", 0.0),
                    {**_line(6, "    x = [0] * n\n", 0.0, malloc=3.0), "n_sys_percent": 0.0},
                ],
            }
        },
    }
    parsed = parse_profile(data, top=10)
    assert [(f["function"], f["cpu_percent"]) for f in parsed["top_cpu"]] == [
        ("slow", 40.5),
        ("Klass.fast", 5.5),
    ]
    assert parsed["top_cpu"][0]["native_percent"] == 10.0
    lines = parsed["top_lines"]
    assert lines[0]["code"] == "if a < b & c:"  # scalene's escapes undone, whitespace trimmed
    assert [line["line"] for line in lines] == [4, 5, 6]  # 6: no CPU, but it allocated
    assert parsed["max_footprint_bytes"] == 2 * 1024 * 1024
    assert parse_profile(data, top=1)["top_cpu"][0]["function"] == "slow"


def test_memray_stats_join_bytes_and_counts_by_location() -> None:
    stats = {
        "total_num_allocations": 30,
        "total_bytes_allocated": 9000,
        "metadata": {"peak_memory": 4096},
        "top_allocations_by_size": [
            {"location": "big:/x/a.py:3", "size": 8000},
            {"location": "<listcomp>:C:\\x\\b.py:7", "size": 1000},
        ],
        "top_allocations_by_count": [
            {"location": "<listcomp>:C:\\x\\b.py:7", "count": 25},
            {"location": "big:/x/a.py:3", "count": 5},
        ],
    }
    parsed = parse_stats(stats, top=5)
    assert parsed["peak_memory_bytes"] == 4096
    assert parsed["allocations"] == 30
    assert parsed["top_alloc"] == [
        {"function": "big", "file": "/x/a.py", "line": 3, "bytes": 8000, "count": 5},
        {"function": "<listcomp>", "file": "C:\\x\\b.py", "line": 7, "bytes": 1000, "count": 25},
    ]
