"""@benchmark: what it registers, what it refuses, and that it leaves the function alone."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from perfkit_bench import BenchmarkSpec, DeclarationError, benchmark
from perfkit_bench._discovery import load_suite, resolve
from perfkit_bench._registry import collecting

WriteSuite = Callable[..., Path]
F = TypeVar("F", bound=Callable[..., Any])

HEADER = "from perfkit_bench import benchmark\n"


def at_module_level(func: F, module: str = "suite") -> F:
    """Make a test's local function look declared at the top of module ``module``."""
    func.__module__ = module
    func.__qualname__ = func.__name__
    return func


def test_registers_a_spec_with_every_field(write_suite: WriteSuite) -> None:
    path = write_suite(
        "message_throughput",
        '''
        from perfkit_bench import benchmark

        @benchmark("message_throughput.tell.asyncio", target="routing", inner_loops=1000,
                   params={"n": 1000}, reference="message_throughput.reference.asyncio_queue",
                   timeout=30)
        def tell_asyncio(loops: int) -> float:
            """Tell 1000 messages through the asyncio router.

            More text that is not the description.
            """
            return 1.0
        ''',
    )
    [spec] = load_suite(path)
    assert spec == BenchmarkSpec(
        id="message_throughput.tell.asyncio",
        suite="message_throughput",
        target="routing",
        kind="time",
        unit="second",
        inner_loops=1000,
        params={"n": 1000},
        reference="message_throughput.reference.asyncio_queue",
        channels=("time",),
        timeout=30.0,
        func="message_throughput:tell_asyncio",
        description="Tell 1000 messages through the asyncio router.",
        call_kwargs={},
    )


def test_units_follow_the_kind(write_suite: WriteSuite) -> None:
    path = write_suite(
        "memory_usage",
        """
        from perfkit_bench import benchmark

        @benchmark("memory_usage.agent_footprint", target="spawning", kind="bytes")
        def footprint() -> float:
            return 1.0

        @benchmark("memory_usage.objects", target="spawning", kind="count")
        def objects() -> float:
            return 1.0

        @benchmark("memory_usage.load", target="load", kind="latency",
                   channels=("time", "instructions"))
        def load() -> dict[str, float]:
            return {}
        """,
    )
    specs = {spec.id: spec for spec in load_suite(path)}
    assert specs["memory_usage.agent_footprint"].unit == "byte"
    assert specs["memory_usage.objects"].unit == "integer"
    assert specs["memory_usage.load"].unit == "second"
    assert specs["memory_usage.load"].channels == ("time", "instructions")
    assert specs["memory_usage.load"].metadata()["perfkit_channels"] == "time,instructions"


def test_target_defaults_to_the_suite(write_suite: WriteSuite) -> None:
    path = write_suite(
        "routing", HEADER + "@benchmark('routing.x')\ndef f(loops):\n    return 1.0\n"
    )
    [spec] = load_suite(path)
    assert spec.target == "routing"
    assert spec.description == ""


def test_returns_the_function_unchanged() -> None:
    def workload(loops: int) -> float:
        return float(loops)

    at_module_level(workload)
    decorated = benchmark("suite.workload")(workload)
    assert decorated is workload
    assert decorated(3) == 3.0


def test_function_resolves_by_its_module_path(write_suite: WriteSuite) -> None:
    path = write_suite(
        "routing", HEADER + "@benchmark('routing.x')\ndef f(loops):\n    return 7.0\n"
    )
    [spec] = load_suite(path)
    assert resolve(spec)(1) == 7.0


def test_params_grid_registers_one_spec_per_point(write_suite: WriteSuite) -> None:
    path = write_suite(
        "agent_spawning",
        """
        from perfkit_bench import benchmark

        @benchmark("agent_spawning.scaling.{n}.{mode}", target="spawning",
                   params={"kind": "actor"},
                   params_grid={"n": [1, 10, 100], "mode": ["a", "b"]})
        def scaling(loops: int, *, n: int, mode: str) -> float:
            return float(n)
        """,
    )
    specs = load_suite(path)
    assert [s.id for s in specs] == [
        f"agent_spawning.scaling.{n}.{m}" for n in (1, 10, 100) for m in ("a", "b")
    ]
    spec = specs[2]
    assert spec.call_kwargs == {"n": 10, "mode": "a"}
    assert spec.params == {"kind": "actor", "n": 10, "mode": "a"}
    assert json.loads(str(spec.metadata()["perfkit_call_kwargs"])) == {"n": 10, "mode": "a"}
    assert resolve(spec)(1, **spec.call_kwargs) == 10.0


@pytest.mark.parametrize(
    ("bench_id", "message"),
    [
        ("suite", "is invalid"),
        ("suite.Upper", "is invalid"),
        ("suite.with-dash", "is invalid"),
        ("suite..empty", "is invalid"),
        ("suite.space here", "is invalid"),
    ],
)
def test_rejects_malformed_ids(bench_id: str, message: str) -> None:
    def f(loops: int) -> float:
        return 1.0

    at_module_level(f)
    with pytest.raises(DeclarationError, match=message):
        benchmark(bench_id)(f)


def test_suite_prefix_must_be_the_file_name(write_suite: WriteSuite) -> None:
    path = write_suite(
        "routing", HEADER + "@benchmark('spawning.fast')\ndef f(loops):\n    return 1.0\n"
    )
    with pytest.raises(DeclarationError) as info:
        load_suite(path)
    message = str(info.value)
    assert "routing.py" in message
    assert "rename it to 'routing.fast'" in message
    assert "spawning.py" in message


@pytest.mark.parametrize(
    ("decorator", "message"),
    [
        ("@benchmark('suite.x', kind='wall')", "kind 'wall' is not one of"),
        ("@benchmark('suite.x', kind='bytes', inner_loops=10)", "inner_loops applies only"),
        ("@benchmark('suite.x', inner_loops=0)", "inner_loops must be an int >= 1"),
        ("@benchmark('suite.x', target='Routing')", "target 'Routing'"),
        ("@benchmark('suite.x', reference='nodot')", "reference 'nodot'"),
        ("@benchmark('suite.x', channels=())", "channels must be"),
        ("@benchmark('suite.x', timeout=0)", "timeout must be"),
        ("@benchmark('suite.x', params={'n': [1]})", "params must map"),
        ("@benchmark('suite.x.{n}')", "no params_grid"),
        ("@benchmark('suite.x.{n}', params_grid={'m': [1]})", "one {placeholder} per"),
        ("@benchmark('suite.x.{n}', params_grid={'n': []})", "non-empty list"),
    ],
)
def test_rejects_bad_options(decorator: str, message: str) -> None:
    namespace: dict[str, object] = {"benchmark": benchmark, "__name__": "suite"}
    source = f"{decorator}\ndef f(loops, *, n=1):\n    return 1.0\n"
    with pytest.raises(DeclarationError, match=message.replace("{", r"\{").replace("(", r"\(")):
        exec(source, namespace)


def test_signature_must_fit_the_kind() -> None:
    def no_loops() -> float:
        return 1.0

    at_module_level(no_loops)
    with pytest.raises(DeclarationError, match=r"called as f\(loops\)"):
        benchmark("suite.x")(no_loops)

    def missing_kwarg(loops: int) -> float:
        return 1.0

    at_module_level(missing_kwarg)
    with pytest.raises(DeclarationError, match=r"f\(loops, \*, n\)"):
        benchmark("suite.x.{n}", params_grid={"n": [1]})(missing_kwarg)


def test_nested_functions_are_refused() -> None:
    def outer() -> None:
        @benchmark("suite.inner")
        def inner(loops: int) -> float:
            return 1.0

    with pytest.raises(DeclarationError, match="module level"):
        outer()


def test_spec_metadata_keys() -> None:
    def f(loops: int) -> float:
        return 1.0

    at_module_level(f)
    with collecting() as specs:
        benchmark("suite.x", target="routing", params={"n": 3})(f)
    meta = specs[0].metadata()
    assert meta == {
        "perfkit_target": "routing",
        "perfkit_suite": "suite",
        "perfkit_kind": "time",
        "perfkit_params": '{"n": 3}',
        "perfkit_channels": "time",
        "perfkit_func": "suite:f",
        "perfkit_inner_loops": 1,
        "perfkit_clock": "perf_counter",
    }
    with collecting() as specs:
        benchmark("suite.y", clock="thread")(f)
        benchmark("suite.z", clock="process", fresh_process=True)(f)
    assert [spec.metadata()["perfkit_clock"] for spec in specs] == ["thread_time", "process_time"]
    assert [(spec.clock, spec.fresh_process) for spec in specs] == [
        ("thread", False),
        ("process", True),
    ]


def test_a_clock_is_declared_only_on_time_benchmarks_and_only_a_known_one() -> None:
    def f(loops: int) -> float:
        return 1.0

    def g() -> float:
        return 1.0

    at_module_level(f)
    at_module_level(g)
    with pytest.raises(DeclarationError, match="clock 'cpu' is not one of thread, process, wall"):
        benchmark("suite.x", clock="cpu")(f)  # type: ignore[arg-type]
    with pytest.raises(DeclarationError, match="apply only to kind='time'"):
        benchmark("suite.y", kind="bytes", clock="thread")(g)
    with pytest.raises(DeclarationError, match="apply only to kind='time'"):
        benchmark("suite.y", kind="bytes", fresh_process=True)(g)
