"""The ``@benchmark`` decorator and the registry it fills while a suite file is imported.

Registration is scoped: :func:`collecting` opens a list that every ``@benchmark`` executed while
it is open appends to. Discovery opens one per suite file, so the same file can be imported again
(in a worker, in a test) without tripping over its earlier registrations. Outside ``collecting``
the decorator still validates the declaration and returns the function unchanged.
"""

from __future__ import annotations

import inspect
import itertools
import string
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from perfkit_bench._clock import CLOCKS, Clock
from perfkit_bench._exceptions import DeclarationError
from perfkit_bench._spec import (
    ID_PATTERN,
    KINDS,
    NAME_PATTERN,
    UNITS,
    BenchmarkSpec,
    Kind,
    ParamValue,
)

__all__ = ["benchmark", "collecting"]

F = TypeVar("F", bound=Callable[..., Any])

_collectors: list[list[BenchmarkSpec]] = []


@contextmanager
def collecting() -> Iterator[list[BenchmarkSpec]]:
    """Collect every spec registered while the block runs."""
    specs: list[BenchmarkSpec] = []
    _collectors.append(specs)
    try:
        yield specs
    finally:
        _collectors.pop()


def benchmark(
    id: str,
    *,
    target: str | None = None,
    kind: Kind = "time",
    inner_loops: int = 1,
    params: Mapping[str, ParamValue] | None = None,
    params_grid: Mapping[str, Sequence[ParamValue]] | None = None,
    reference: str | None = None,
    channels: Sequence[str] = ("time",),
    timeout: float | None = None,
    clock: Clock | None = None,
    fresh_process: bool = False,
) -> Callable[[F], F]:
    """Declare a benchmark; the decorated function is returned unchanged.

    ``id`` is ``<suite>.<scenario>[.<variant>]`` where ``<suite>`` is the name of the file the
    benchmark is declared in. ``kind`` says what the function returns:

    - ``"time"``: ``f(loops) -> float``, runs the operation ``loops`` times (setup excluded) and
      returns the elapsed seconds (pyperf's ``bench_time_func`` convention); ``inner_loops`` is
      the number of operations per loop, so values are per operation.
    - ``"bytes"`` / ``"count"``: ``f() -> float``, one value per call (unit byte / integer).
    - ``"latency"``: ``f() -> dict[str, float]`` with ``p50``, ``p95``, ``p99`` in seconds plus
      optional extra numbers (``throughput``, ...); each key becomes its own pyperf benchmark
      ``<id>.<key>``.

    ``params_grid`` declares one benchmark per combination of values: ``id`` then holds
    ``{name}`` placeholders for every grid key, and the function receives the grid point as
    keyword arguments (``def f(loops, *, n)``). ``params`` are descriptive and recorded as
    metadata only. ``target`` defaults to the suite name. ``timeout`` (seconds) bounds the whole
    benchmark, all its worker processes together, and overrides ``perfkit-bench run --timeout``.

    ``clock`` (time benchmarks) is what the workload's time is measured on, read through
    :func:`perfkit_bench.timer`: ``"thread"`` (``time.thread_time``: work in the measuring thread,
    sync and asyncio), ``"process"`` (``time.process_time``: work on other threads of the process)
    or ``"wall"`` (``time.perf_counter``, the default: benchmarks that wait on sleeps, I/O, other
    threads or processes). ``fresh_process=True`` says a time benchmark must be measured in fresh
    worker processes: the A/B gate then runs it in process pairs instead of slices of long-lived
    workers (sampled kinds always are).
    """

    def register(func: F) -> F:
        for spec in _build_specs(
            func,
            id,
            target=target,
            kind=kind,
            inner_loops=inner_loops,
            params=params or {},
            params_grid=params_grid or {},
            reference=reference,
            channels=tuple(channels),
            timeout=timeout,
            clock=clock,
            fresh_process=fresh_process,
        ):
            if _collectors:
                _collectors[-1].append(spec)
        return func

    return register


def _build_specs(
    func: Callable[..., Any],
    id_template: str,
    *,
    target: str | None,
    kind: Kind,
    inner_loops: int,
    params: Mapping[str, ParamValue],
    params_grid: Mapping[str, Sequence[ParamValue]],
    reference: str | None,
    channels: tuple[str, ...],
    timeout: float | None,
    clock: Clock | None = None,
    fresh_process: bool = False,
) -> list[BenchmarkSpec]:
    if not callable(func):
        raise DeclarationError(f"@benchmark({id_template!r}) must decorate a function")
    qualname = getattr(func, "__qualname__", "")
    where = f"@benchmark({id_template!r}) on {qualname or func!r}"
    if "<locals>" in qualname or "<lambda>" in qualname:
        raise DeclarationError(
            f"{where}: declare the function at module level so 'module:function' resolves"
        )
    suite = _suite_of(func)
    _check_options(where, kind, inner_loops, params, reference, channels, timeout)
    _check_clock(where, kind, clock, fresh_process)
    if target is None:
        target = suite
    if not _fullmatch_name(target):
        raise DeclarationError(
            f"{where}: target {target!r} must be one lowercase word ([a-z0-9_]+), e.g. 'routing'"
        )

    points = _grid_points(where, id_template, params_grid)
    description = (inspect.getdoc(func) or "").strip().splitlines()
    specs = []
    for point in points:
        bench_id = id_template.format(**point) if params_grid else id_template
        _check_id(bench_id, suite, func)
        _check_signature(where, func, kind, point)
        specs.append(
            BenchmarkSpec(
                id=bench_id,
                suite=suite,
                target=target,
                kind=kind,
                unit=UNITS[kind],
                inner_loops=inner_loops,
                params={**params, **point},
                reference=reference,
                channels=channels,
                timeout=float(timeout) if timeout is not None else None,
                func=f"{func.__module__}:{qualname}",
                description=description[0] if description else "",
                call_kwargs=dict(point),
                clock=clock or "wall",
                fresh_process=fresh_process,
            )
        )
    return specs


def _suite_of(func: Callable[..., Any]) -> str:
    module = func.__module__
    if module == "__main__":
        # A suite file run as a script: its suite is still its file name.
        main_file = getattr(sys.modules["__main__"], "__file__", None)
        if main_file:
            return Path(main_file).stem
    return module.rsplit(".", 1)[-1]


def _fullmatch_name(text: str) -> bool:
    return isinstance(text, str) and NAME_PATTERN.fullmatch(text) is not None


def _check_options(
    where: str,
    kind: str,
    inner_loops: int,
    params: Mapping[str, ParamValue],
    reference: str | None,
    channels: tuple[str, ...],
    timeout: float | None,
) -> None:
    if kind not in KINDS:
        raise DeclarationError(f"{where}: kind {kind!r} is not one of {', '.join(KINDS)}")
    if isinstance(inner_loops, bool) or not isinstance(inner_loops, int) or inner_loops < 1:
        raise DeclarationError(f"{where}: inner_loops must be an int >= 1, got {inner_loops!r}")
    if kind != "time" and inner_loops != 1:
        raise DeclarationError(
            f"{where}: inner_loops applies only to kind='time'; remove it for kind={kind!r}"
        )
    for name, value in params.items():
        if not isinstance(name, str) or not isinstance(value, str | int | float | bool):
            raise DeclarationError(
                f"{where}: params must map str to str/int/float/bool, got {name!r}: {value!r}"
            )
    if reference is not None and not ID_PATTERN.fullmatch(reference):
        raise DeclarationError(
            f"{where}: reference {reference!r} must be a benchmark id like 'suite.scenario'"
        )
    if not channels or not all(_fullmatch_name(c) for c in channels):
        raise DeclarationError(
            f"{where}: channels must be lowercase words such as ('time', 'instructions'), "
            f"got {channels!r}"
        )
    if timeout is not None and (isinstance(timeout, bool) or not timeout > 0):
        raise DeclarationError(f"{where}: timeout must be a number of seconds > 0")


def _check_clock(where: str, kind: str, clock: str | None, fresh_process: bool) -> None:
    if clock is not None and clock not in CLOCKS:
        raise DeclarationError(
            f"{where}: clock {clock!r} is not one of {', '.join(CLOCKS)} (thread: work in the "
            "measuring thread; process: work on other threads; wall: benchmarks that wait)"
        )
    if kind != "time" and (clock is not None or fresh_process):
        raise DeclarationError(
            f"{where}: clock and fresh_process apply only to kind='time'; remove them for "
            f"kind={kind!r} (sampled kinds always run in fresh processes)"
        )
    if not isinstance(fresh_process, bool):
        raise DeclarationError(f"{where}: fresh_process must be True or False")


def _grid_points(
    where: str, id_template: str, params_grid: Mapping[str, Sequence[ParamValue]]
) -> list[dict[str, ParamValue]]:
    try:
        fields = {name for _, name, _, _ in string.Formatter().parse(id_template) if name}
    except ValueError as exc:
        raise DeclarationError(f"{where}: id template is malformed: {exc}") from None
    if not params_grid:
        if fields:
            raise DeclarationError(
                f"{where}: the id has placeholders {sorted(fields)} but no params_grid; "
                "add params_grid={...} or remove the braces"
            )
        return [{}]
    if fields != set(params_grid):
        raise DeclarationError(
            f"{where}: the id must hold one {{placeholder}} per params_grid key: "
            f"placeholders {sorted(fields)}, grid keys {sorted(params_grid)}"
        )
    for name, values in params_grid.items():
        if isinstance(values, str) or not values:
            raise DeclarationError(
                f"{where}: params_grid[{name!r}] must be a non-empty list of values"
            )
    names = list(params_grid)
    return [
        dict(zip(names, combo, strict=True))
        for combo in itertools.product(*(params_grid[n] for n in names))
    ]


def _check_id(bench_id: str, suite: str, func: Callable[..., Any]) -> None:
    if not ID_PATTERN.fullmatch(bench_id):
        raise DeclarationError(
            f"benchmark id {bench_id!r} is invalid: use lowercase letters, digits and underscores "
            f"in dot-separated parts, '<suite>.<scenario>[.<variant>]', e.g. '{suite}.baseline'"
        )
    prefix = bench_id.split(".", 1)[0]
    if prefix != suite:
        raise DeclarationError(
            f"benchmark id {bench_id!r} declared in {suite}.py must start with the suite name: "
            f"rename it to '{suite}.{bench_id.split('.', 1)[1]}' or move {func.__qualname__} "
            f"to {prefix}.py"
        )


def _check_signature(
    where: str, func: Callable[..., Any], kind: str, point: Mapping[str, ParamValue]
) -> None:
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):
        return  # builtins and C functions: nothing to check
    args: tuple[int, ...] = (1,) if kind == "time" else ()
    try:
        signature.bind(*args, **point)
    except TypeError as exc:
        expected = "f(loops" if kind == "time" else "f("
        if point:
            expected += (", *, " if kind == "time" else "*, ") + ", ".join(point)
        raise DeclarationError(
            f"{where}: a kind={kind!r} benchmark is called as {expected}): {exc}"
        ) from None
