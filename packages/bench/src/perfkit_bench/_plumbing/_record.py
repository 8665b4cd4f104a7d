"""The run metadata every result file carries: the ``perfkit_*`` keys of one run (its id, the
perfkit-bench version, mode, start and end, the environment's fingerprint, the failures).

``run``, ``instructions`` and ``ab`` write the same keys in the same order; the package README
("Metadata keys") documents them.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import json
from collections.abc import Sequence

from perfkit_bench._fingerprint import Fingerprint
from perfkit_bench._spec import MetadataValue

__all__ = ["iso", "perfkit_version", "run_metadata"]


def run_metadata(
    *,
    run_id: str,
    started: dt.datetime | str,
    finished: dt.datetime,
    fingerprint: Fingerprint,
    failed: Sequence[dict[str, str]],
    mode: str | None = None,
) -> dict[str, MetadataValue]:
    """The run-level ``perfkit_*`` keys; ``mode`` is left out when None (``instructions``)."""
    metadata: dict[str, MetadataValue] = {
        "perfkit_run_id": run_id,
        "perfkit_version": perfkit_version(),
    }
    if mode is not None:
        metadata["perfkit_mode"] = mode
    metadata["perfkit_started"] = started if isinstance(started, str) else iso(started)
    metadata["perfkit_finished"] = iso(finished)
    metadata.update(fingerprint.metadata())
    metadata["perfkit_failed"] = json.dumps(list(failed))
    return metadata


def iso(moment: dt.datetime) -> str:
    """ISO 8601 to the second, as every ``perfkit_*`` time is written."""
    return moment.isoformat(timespec="seconds")


def perfkit_version() -> str:
    try:
        return importlib.metadata.version("perfkit-bench")
    except importlib.metadata.PackageNotFoundError:
        return "0+unknown"
