"""The public surface of perfkit_report is exactly this; a change here is an API change."""

from __future__ import annotations

import perfkit_report

EXPECTED = {
    "COMPARE_FORMAT_VERSION",
    "BenchmarkSamples",
    "BenchmarkVerdict",
    "Comparison",
    "MoreSamples",
    "compare_files",
    "detect",
    "failing_verdicts",
    "needs_more",
    "DEFAULT_BUSY_TIMEOUT",
    "MIGRATIONS",
    "PROFILE_SUMMARY_VERSION",
    "TARGETS_FORMAT_VERSION",
    "Baseline",
    "History",
    "Hotspot",
    "IngestResult",
    "InputError",
    "Migration",
    "ParsedResult",
    "ParsedRun",
    "PerfkitReportError",
    "ProfileCapture",
    "ProfileIngestResult",
    "ProfileRecord",
    "ProfileSummaryError",
    "PruneResult",
    "RenderedReport",
    "ResultFileError",
    "ResultRecord",
    "RunRecord",
    "SampleSummary",
    "SchemaTooNew",
    "SeverityBands",
    "StoreBusy",
    "StoreCorrupt",
    "StoreError",
    "TargetCheck",
    "TargetRule",
    "Targets",
    "TargetsFileError",
    "UnknownBaseline",
    "UnknownRun",
    "__version__",
    "load_targets",
    "parse_targets",
    "read_profile_summary",
    "read_result_file",
    "render_report",
    "summarize",
}


def test_all_is_the_expected_surface() -> None:
    assert set(perfkit_report.__all__) == EXPECTED
    assert len(perfkit_report.__all__) == len(EXPECTED)


def test_every_exported_name_exists_and_public_names_are_exported() -> None:
    for name in perfkit_report.__all__:
        assert hasattr(perfkit_report, name), name
    public = {
        name for name in vars(perfkit_report) if not name.startswith("_") or name == "__version__"
    } - {"annotations"}  # from __future__ import annotations
    # Submodules (perfkit_report._history._store ...) are private; everything else public is exported.
    assert public - set(perfkit_report.__all__) == set()


def test_exported_objects_live_in_private_modules() -> None:
    for name in perfkit_report.__all__:
        module = getattr(getattr(perfkit_report, name), "__module__", None)
        if module is not None and module != "builtins":
            assert module.startswith("perfkit_report._"), (name, module)


def test_every_error_has_the_one_root() -> None:
    errors = [
        getattr(perfkit_report, name)
        for name in perfkit_report.__all__
        if isinstance(getattr(perfkit_report, name), type)
        and issubclass(getattr(perfkit_report, name), Exception)
    ]
    assert len(errors) == 11
    for error in errors:
        assert issubclass(error, perfkit_report.PerfkitReportError)


def test_no_other_perfkit_package_is_imported() -> None:
    import subprocess
    import sys

    code = (
        "import sys, perfkit_report, perfkit_report._cli, perfkit_report._render._summary;"
        "print(sorted(m for m in sys.modules if m.startswith('perfkit_') "
        "and not m.startswith('perfkit_report')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
