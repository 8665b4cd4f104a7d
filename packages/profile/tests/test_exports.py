"""The public surface of perfkit_profile, pinned: changing it is a decision, not an accident."""

from __future__ import annotations

import subprocess
import sys

import perfkit_profile

EXPECTED = {
    "SUMMARY_VERSION",
    "CaptureFailed",
    "InputError",
    "LeakFound",
    "PerfkitProfileError",
    "ProfileDiff",
    "ProfilerUnavailable",
    "RegistryError",
    "RunError",
    "SummaryError",
    "UnknownTargetError",
    "UsageError",
    "WorkloadError",
    "WorkloadFailed",
    "__version__",
    "diff_summaries",
    "load_summary",
}


def test_all_is_pinned() -> None:
    assert set(perfkit_profile.__all__) == EXPECTED


def test_every_exported_name_exists() -> None:
    for name in perfkit_profile.__all__:
        assert hasattr(perfkit_profile, name), name


def test_no_other_public_names() -> None:
    public = {
        name
        for name, value in vars(perfkit_profile).items()
        if not name.startswith("_") and not isinstance(value, type(perfkit_profile))
    }
    # "annotations" comes from `from __future__ import annotations`.
    assert public - {"annotations"} <= EXPECTED


def test_errors_share_one_root_and_two_exit_branches() -> None:
    root = perfkit_profile.PerfkitProfileError
    for name in EXPECTED:
        value = getattr(perfkit_profile, name)
        if isinstance(value, type) and issubclass(value, Exception):
            assert issubclass(value, root), name
            if value not in (root, perfkit_profile.InputError, perfkit_profile.RunError):
                assert issubclass(value, perfkit_profile.InputError | perfkit_profile.RunError)


def test_does_not_import_other_perfkit_packages() -> None:
    code = (
        "import sys, perfkit_profile, perfkit_profile._cli, perfkit_profile._memray;"
        "print(sorted(m for m in sys.modules if m.startswith('perfkit_') "
        "and not m.startswith('perfkit_profile')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_no_top_level_profile_module() -> None:
    # A module named `profile` would shadow the stdlib one that cProfile imports.
    import cProfile
    import profile

    assert profile.__file__ is not None
    assert "perfkit" not in profile.__file__
    assert cProfile.Profile is not None


def test_the_driver_imports_only_the_standard_library() -> None:
    code = (
        "import sys, runpy; before = set(sys.modules);"
        "from perfkit_profile._child import driver_path;"
        "mods = set(sys.modules);"
        "runpy.run_path(str(driver_path()), run_name='not_main');"
        "print(sorted(m for m in set(sys.modules) - mods if not m.startswith('_')"
        " and m.split('.')[0] not in sys.stdlib_module_names))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
