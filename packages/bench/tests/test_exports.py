"""The public surface of perfkit_bench, pinned: changing it is a decision, not an accident."""

from __future__ import annotations

import perfkit_bench

EXPECTED = {
    "CLOCKS",
    "KINDS",
    "BenchmarkSpec",
    "Clock",
    "DeclarationError",
    "DiscoveryError",
    "Kind",
    "OutputExistsError",
    "PerfkitBenchError",
    "RunFailed",
    "SelectionError",
    "UsageError",
    "WorkerError",
    "__version__",
    "benchmark",
    "discover",
    "timer",
}


def test_all_is_pinned() -> None:
    assert set(perfkit_bench.__all__) == EXPECTED


def test_every_exported_name_exists() -> None:
    for name in perfkit_bench.__all__:
        assert hasattr(perfkit_bench, name), name


def test_no_other_public_names() -> None:
    public = {
        name
        for name, value in vars(perfkit_bench).items()
        if not name.startswith("_") and not isinstance(value, type(perfkit_bench))
    }
    # "annotations" comes from `from __future__ import annotations`.
    assert public - {"annotations"} <= EXPECTED


def test_errors_share_one_root() -> None:
    for name in EXPECTED:
        value = getattr(perfkit_bench, name)
        if isinstance(value, type) and issubclass(value, Exception):
            assert issubclass(value, perfkit_bench.PerfkitBenchError), name


def test_does_not_import_other_perfkit_packages() -> None:
    import subprocess
    import sys

    code = (
        "import sys, perfkit_bench, perfkit_bench._cli, perfkit_bench._worker,"
        " perfkit_bench._regression._driver;"
        "print(sorted(m for m in sys.modules if m.startswith('perfkit_') "
        "and not m.startswith('perfkit_bench')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
