"""verdict.json and the ``--needs-more`` file: a check for machines.

verdict.json holds everything the check decided and why (documented in docs/regression.md,
"verdict.json"); it is written before the check is stored, then rewritten with the history's ids
when the store succeeds. The needs-more file lists the inconclusive benchmarks that more pairs
could resolve, for the gate's driver to run again.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from perfkit_report._gate._check_model import CheckSide, GateCheck
from perfkit_report._gate._comment import headline
from perfkit_report._gate._detector import BenchmarkVerdict, MoreSamples
from perfkit_report._gate._verdict_text import VERDICT_ORDER

__all__ = [
    "CHECK_FORMAT_VERSION",
    "NEEDS_MORE_FORMAT_VERSION",
    "Recorded",
    "render_needs_more",
    "render_verdict_json",
]

# verdict.json. History:
# - 1 (2026-11): version, tool, kind, outcome, exit_code, headline, base / head (label, commit,
#   branch, baseline, files, environment), settings, pairs, counts, severities, failures,
#   verdicts[] (compare's fields plus unit and fails), needs_more[], comment, history.
CHECK_FORMAT_VERSION = 1
# The --needs-more file. History:
# - 1 (2026-11): version, tool, benchmarks[] (benchmark, channel, paired, n_base, n_head,
#   suggested, could_regress).
NEEDS_MORE_FORMAT_VERSION = 1


@dataclass(frozen=True, slots=True)
class Recorded:
    """Where a check was stored: the history file and the ids of its rows."""

    db: str
    check_id: int
    run_ids: Mapping[str, int]


def _side_json(side: CheckSide, run_id: int | None) -> dict[str, Any]:
    return {
        "label": side.label,
        "commit": side.commit,
        "branch": side.branch,
        "baseline": side.baseline.name if side.baseline is not None else None,
        "files": dict(side.files),
        "environment": dict(side.environment),
        "failed": list(side.failed),
        "run_id": run_id,
    }


def _verdict_json(check: GateCheck, verdict: BenchmarkVerdict, failing: set[int]) -> dict[str, Any]:
    return {
        "benchmark": verdict.benchmark,
        "channel": verdict.channel,
        "unit": check.unit(verdict),
        "verdict": verdict.verdict,
        "severity": verdict.severity,
        "fails": id(verdict) in failing,
        "effect": verdict.effect,
        "ci_low": verdict.ci_low,
        "ci_high": verdict.ci_high,
        "change_percent": verdict.change_percent,
        "ci_percent": list(verdict.ci_percent) if verdict.ci_percent is not None else None,
        "p": verdict.p,
        "q": verdict.q,
        "mde_percent": verdict.mde_percent,
        "n_base": verdict.n_base,
        "n_head": verdict.n_head,
        "paired": verdict.paired,
        "test": verdict.test,
        "direction": verdict.direction,
        "threshold": verdict.threshold,
    }


def _more_json(more: MoreSamples, paired: bool) -> dict[str, Any]:
    return {
        "benchmark": more.benchmark,
        "channel": more.channel,
        "paired": paired,
        "n_base": more.n_base,
        "n_head": more.n_head,
        "suggested": more.suggested,
        "could_regress": more.could_regress,
    }


def _more(check: GateCheck) -> list[dict[str, Any]]:
    paired = {(v.channel, v.benchmark): v.paired for v in check.verdicts}
    return [_more_json(more, paired[(more.channel, more.benchmark)]) for more in check.more]


def render_verdict_json(check: GateCheck, comment: Path | None, recorded: Recorded | None) -> str:
    """verdict.json (``CHECK_FORMAT_VERSION``)."""
    failing = {id(verdict) for verdict in check.failures}
    run_ids = recorded.run_ids if recorded is not None else {}
    document: dict[str, Any] = {
        "version": CHECK_FORMAT_VERSION,
        "tool": "perfkit-report check",
        "kind": check.kind,
        "outcome": "fail" if check.exit_code else "pass",
        "exit_code": check.exit_code,
        "headline": headline(check, markdown=False),
        "base": _side_json(check.base, run_ids.get("base")),
        "head": _side_json(check.head, run_ids.get("head")),
        "settings": check.settings(),
        "counts": {name: check.count(name) for name in VERDICT_ORDER},
        "severities": {name: check.severity_count(name) for name in ("minor", "major", "critical")},
        "failures": [
            {
                "benchmark": v.benchmark,
                "channel": v.channel,
                "verdict": v.verdict,
                "severity": v.severity,
            }
            for v in check.ordered
            if id(v) in failing
        ],
        "verdicts": [_verdict_json(check, v, failing) for v in check.ordered],
        "needs_more": _more(check),
        "comment": None if comment is None else str(comment),
        "history": None
        if recorded is None
        else {"db": recorded.db, "check_id": recorded.check_id, "run_ids": dict(run_ids)},
    }
    return json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def render_needs_more(check: GateCheck) -> str:
    """The --needs-more file (``NEEDS_MORE_FORMAT_VERSION``): the inconclusive benchmarks, those
    that could still turn out regressed first, each with the processes (pairs) per side that
    would likely resolve it."""
    document = {
        "version": NEEDS_MORE_FORMAT_VERSION,
        "tool": "perfkit-report check",
        "benchmarks": _more(check),
    }
    return json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
