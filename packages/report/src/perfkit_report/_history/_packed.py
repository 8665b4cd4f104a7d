"""Float arrays as history.db stores them: packed little-endian IEEE 754 float64 BLOBs.

``results.samples`` and ``results.process_medians`` hold one BLOB each (since migration
``0003_packed_samples``): the values in order, 8 bytes apiece, little-endian whatever the machine
(a history file moves between machines), no header (the length is ``len(blob) // 8``). NULL is
"pruned", as before; an empty array is an empty BLOB.

Why not JSON text, as ``0001_initial`` stored them: ``json.dumps`` of the float lists was about
two thirds of the database write of an ingest (the ``repr`` of every float: 38 µs for one
benchmark's 60 values here, packing takes 0.7 µs), and reading them back cost a ``json.loads``
each. A BLOB is exact (every bit comes back: NaN payloads, ``-0.0``, subnormals) and smaller
(8 bytes a value against ~22 characters of JSON).

The layout is fixed by migration ``0003_packed_samples``, which converted the JSON rows with this
module: changing it needs a new migration.

Writing refuses NaN and infinities (``ValueError``) unless told otherwise, as the JSON writer did
(``allow_nan=False``): a stored sample is a measurement. Reading returns whatever the BLOB holds
(readers that need finite numbers filter them, as before). A value stored as text is read as JSON,
as before ``0003``: a row the migration left alone because its text was not a JSON list of numbers,
or a hand-edited database.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Sequence
from functools import lru_cache

__all__ = ["pack_floats", "unpack_floats"]

_ITEM = 8  # bytes per value: IEEE 754 binary64


@lru_cache(maxsize=256)
def _layout(count: int) -> struct.Struct:
    """The compiled layout of ``count`` values (a result file holds few distinct counts)."""
    return struct.Struct(f"<{count}d")


def pack_floats(values: Sequence[float], *, allow_nan: bool = False) -> bytes:
    """``values`` as a BLOB; ValueError on NaN or an infinity unless ``allow_nan``."""
    if not allow_nan and not all(map(math.isfinite, values)):
        raise ValueError("NaN or infinite values cannot be stored as samples")
    return _layout(len(values)).pack(*values)


def unpack_floats(value: bytes | str | None) -> tuple[float, ...] | None:
    """The values a column holds: None for NULL (pruned), JSON for text (see the module
    docstring); ValueError if a BLOB's length is not a whole number of values."""
    if value is None:
        return None
    if isinstance(value, str):
        return tuple(json.loads(value))
    count, extra = divmod(len(value), _ITEM)
    if extra:
        raise ValueError(
            f"a packed float array of {len(value)} bytes is not a whole number of "
            f"{_ITEM}-byte values"
        )
    values: tuple[float, ...] = _layout(count).unpack(value)
    return values
