"""Packed float arrays (results.samples, results.process_medians): exact round trips, the layout,
and what is refused."""

from __future__ import annotations

import math
import random
import struct

import pytest

from perfkit_report._history._packed import pack_floats, unpack_floats

# Values where a text or lossy encoding would go wrong.
EDGES = (
    0.0,
    -0.0,
    1.0,
    -1.5,
    5e-324,  # the smallest subnormal
    2.2250738585072014e-308,  # the smallest normal
    1.7976931348623157e308,  # the largest finite
    0.1,
    1 / 3,
    1.3238327648331623e-06,  # a sample from a real file: 17 significant digits
    2.0**53 + 2,
)


def _bits(values: tuple[float, ...] | None) -> list[int]:
    """The bit patterns (NaN == NaN here, NaN payloads and -0.0 told apart)."""
    assert values is not None
    return [struct.unpack("<Q", struct.pack("<d", value))[0] for value in values]


def _random_doubles(rng: random.Random, count: int) -> tuple[float, ...]:
    """Any 64-bit pattern: normals, subnormals, zeros, infinities and NaNs with payloads."""
    return struct.unpack(f"<{count}d", rng.randbytes(8 * count))


def test_every_bit_pattern_round_trips() -> None:
    rng = random.Random(5)
    for _ in range(500):
        values = _random_doubles(rng, rng.choice([0, 1, 2, 3, 9, 60, 61, 1000]))
        blob = pack_floats(values, allow_nan=True)
        assert len(blob) == 8 * len(values)
        assert _bits(unpack_floats(blob)) == _bits(values)


def test_finite_samples_round_trip_exactly() -> None:
    rng = random.Random(6)
    for _ in range(500):
        values = tuple(
            rng.choice(
                [
                    rng.choice(EDGES),
                    rng.uniform(0, 1) * 10 ** rng.uniform(-12, 12),
                    float(rng.randint(-(2**60), 2**60)),
                ]
            )
            for _ in range(rng.randint(0, 100))
        )
        restored = unpack_floats(pack_floats(values))
        assert restored == values
        assert _bits(restored) == _bits(values)
        assert all(type(value) is float for value in restored or ())


def test_the_layout_is_little_endian_float64_without_a_header() -> None:
    assert pack_floats([1.0, -2.0]) == bytes.fromhex("000000000000f03f00000000000000c0")
    assert pack_floats([]) == b""
    assert unpack_floats(b"") == ()


def test_null_is_pruned() -> None:
    assert unpack_floats(None) is None


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_values_are_refused_as_the_json_writer_did(bad: float) -> None:
    with pytest.raises(ValueError, match="NaN or infinite"):
        pack_floats([1.0, bad])
    assert _bits(unpack_floats(pack_floats([bad], allow_nan=True))) == _bits((bad,))


def test_text_is_read_as_json_as_before_the_blobs() -> None:
    assert unpack_floats("[1.5, 2]") == (1.5, 2)
    values = unpack_floats("[NaN, Infinity]")
    assert values is not None and math.isnan(values[0]) and values[1] == math.inf
    with pytest.raises(ValueError, match="Expecting"):
        unpack_floats("[1.0,")


def test_a_truncated_blob_is_an_error() -> None:
    with pytest.raises(ValueError, match="not a whole number of 8-byte values"):
        unpack_floats(pack_floats([1.0, 2.0])[:-1])
