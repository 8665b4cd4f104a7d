"""Codecs: round trips over each codec's value domain, error types and messages, the orjson copy."""

from __future__ import annotations

import datetime as dt
import decimal
import fractions
import math
import sys
import threading
import tracemalloc
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perfkit_runtime import (
    CODECS,
    Codec,
    CodecError,
    CodecUnavailable,
    DecodeError,
    EncodeError,
    _codec,
    get_codec,
)

# Shared 2-core machine: a slow example is not a failure.
relaxed = settings(deadline=None, max_examples=150)

# Strings every codec can carry: any code point but the surrogates, which are not valid UTF-8.
texts = st.text(st.characters(codec="utf-8"), max_size=20)
finite_floats = st.floats(allow_nan=False, allow_infinity=False)
int64 = st.integers(min_value=-(2**63), max_value=2**64 - 1)  # msgpack and orjson: 64-bit ints


def _tree(leaves: st.SearchStrategy[Any], keys: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.recursive(
        leaves,
        lambda children: (
            st.lists(children, max_size=5) | st.dictionaries(keys, children, max_size=5)
        ),
        max_leaves=25,
    )


json_values = _tree(st.none() | st.booleans() | st.integers() | finite_floats | texts, texts)
orjson_values = _tree(st.none() | st.booleans() | int64 | finite_floats | texts, texts)
msgpack_values = _tree(
    st.none() | st.booleans() | int64 | st.floats(allow_nan=False) | texts | st.binary(max_size=20),
    texts | int64 | st.binary(max_size=8),
)
pickle_leaves = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.complex_numbers(allow_nan=False)
    | st.text(max_size=20)  # pickle carries surrogates too
    | st.binary(max_size=20)
    | st.decimals(allow_nan=False)
    | st.fractions()
    | st.datetimes()
    | st.frozensets(st.integers(), max_size=5)
)
pickle_values = st.recursive(
    pickle_leaves,
    lambda children: (
        st.lists(children, max_size=5)
        | st.tuples(children, children)
        | st.dictionaries(st.text(max_size=5) | st.integers(), children, max_size=5)
        | st.sets(st.integers() | st.text(max_size=5), max_size=5)
    ),
    max_leaves=25,
)


# -- registry ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", CODECS)
def test_get_codec_returns_one_shared_codec_per_name(name: str) -> None:
    codec = get_codec(name)
    assert codec is get_codec(name)
    assert codec.name == name
    assert isinstance(codec, Codec)


def test_codecs_lists_the_four_codecs() -> None:
    assert CODECS == ("json", "orjson", "pickle", "msgpack")


def test_unknown_codec_names_the_valid_ones() -> None:
    with pytest.raises(CodecError, match=r"unknown codec 'yaml': pass one of json, orjson, pickle"):
        get_codec("yaml")


def test_a_class_with_name_encode_decode_is_a_codec() -> None:
    class Upper:
        name = "upper"

        def encode(self, obj: Any) -> bytes:
            return str(obj).upper().encode()

        def decode(self, data: bytes) -> Any:
            return data.decode()

    assert isinstance(Upper(), Codec)
    assert not isinstance(object(), Codec)


@pytest.mark.parametrize(("module", "name"), [("orjson", "orjson"), ("msgpack", "msgpack")])
def test_missing_optional_dependency_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, module: str, name: str
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # makes `import module` raise ImportError
    monkeypatch.setattr(_codec, "_instances", {})
    with pytest.raises(CodecUnavailable) as info:
        get_codec(name)
    assert str(info.value) == (
        f"codec '{name}' needs the optional dependency {module}: "
        f"pip install 'perfkit-runtime[{module}]'"
    )
    assert isinstance(info.value, ImportError)


# -- round trips -------------------------------------------------------------------------------


@relaxed
@given(json_values)
def test_json_round_trips_json_values(value: Any) -> None:
    codec = get_codec("json")
    assert codec.decode(codec.encode(value)) == value


@relaxed
@given(orjson_values)
def test_orjson_round_trips_json_values_with_64_bit_ints(value: Any) -> None:
    codec = get_codec("orjson")
    assert codec.decode(codec.encode(value)) == value


@relaxed
@given(orjson_values)
def test_json_and_orjson_read_each_other(value: Any) -> None:
    json_codec, orjson_codec = get_codec("json"), get_codec("orjson")
    assert orjson_codec.decode(json_codec.encode(value)) == value
    assert json_codec.decode(orjson_codec.encode(value)) == value


@relaxed
@given(msgpack_values)
def test_msgpack_round_trips_bytes_and_non_str_keys(value: Any) -> None:
    codec = get_codec("msgpack")
    assert codec.decode(codec.encode(value)) == value


@relaxed
@given(pickle_values)
def test_pickle_round_trips_picklable_values(value: Any) -> None:
    codec = get_codec("pickle")
    assert codec.decode(codec.encode(value)) == value


def test_pickle_keeps_types_that_json_codecs_flatten() -> None:
    value = (1, {2, 3}, dt.date(2026, 1, 2), decimal.Decimal("1.10"), fractions.Fraction(1, 3))
    decoded = get_codec("pickle").decode(get_codec("pickle").encode(value))
    assert decoded == value
    assert type(decoded) is tuple


@pytest.mark.parametrize("name", ["json", "orjson", "msgpack"])
def test_tuples_decode_as_lists(name: str) -> None:
    codec = get_codec(name)
    assert codec.decode(codec.encode(("order", 123, {"qty": 2}))) == ["order", 123, {"qty": 2}]


@pytest.mark.parametrize("name", ["pickle", "msgpack"])
@pytest.mark.parametrize("number", [math.nan, math.inf, -math.inf])
def test_binary_codecs_round_trip_nan_and_infinity(name: str, number: float) -> None:
    codec = get_codec(name)
    decoded = codec.decode(codec.encode([number]))[0]
    assert decoded == number or (math.isnan(decoded) and math.isnan(number))


def test_json_writes_compact_utf8() -> None:
    assert get_codec("json").encode({"a": [1, "é"], "b": None}) == '{"a":[1,"é"],"b":null}'.encode()


def test_orjson_writes_nan_as_null() -> None:
    # orjson's own behaviour, pinned: NaN is not JSON, and orjson writes null rather than refuse.
    assert get_codec("orjson").encode([math.nan]) == b"[null]"


def test_codecs_are_safe_from_several_threads() -> None:
    value = {"k": list(range(50)), "s": "x" * 100}
    failures: list[str] = []

    def work(name: str) -> None:
        codec = get_codec(name)
        for _ in range(500):
            if codec.decode(codec.encode(value)) != value:
                failures.append(name)

    threads = [threading.Thread(target=work, args=(name,)) for name in CODECS for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []


# -- the orjson buffer -------------------------------------------------------------------------


def test_orjson_returns_exact_size_bytes() -> None:
    # orjson.dumps keeps ~4 KB per result (see _codec.py); the codec must hand back a tight copy.
    codec = get_codec("orjson")
    message = ("order", 123, {"qty": 2})
    codec.encode(message)  # warm up caches outside the measurement
    count = 2_000
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        kept = [codec.encode(message) for _ in range(count)]
        per_object = (tracemalloc.get_traced_memory()[0] - before) / count
    finally:
        tracemalloc.stop()
    assert type(kept[0]) is bytes
    assert kept[0] == b'["order",123,{"qty":2}]'
    assert per_object < 128, f"{per_object:.0f} B per 23-byte result"


# -- encode errors -----------------------------------------------------------------------------


class _Opaque:
    pass


@pytest.mark.parametrize("name", ["json", "orjson", "msgpack"])
@pytest.mark.parametrize(
    ("value", "type_name"),
    [({1, 2}, "set"), ([1, {"a": _Opaque()}], "_Opaque"), (dt.timedelta(1), "timedelta")],
)
def test_unsupported_type_names_the_type_and_the_fix(name: str, value: Any, type_name: str) -> None:
    with pytest.raises(EncodeError) as info:
        get_codec(name).encode(value)
    message = str(info.value)
    assert message.startswith(f"codec '{name}' cannot encode a value of type '{type_name}'")
    assert "use the pickle codec or convert it to" in message
    assert "\n" not in message
    assert isinstance(info.value, TypeError)  # EncodeError is also a TypeError


@pytest.mark.parametrize("name", ["json", "orjson", "msgpack"])
def test_lone_surrogate_is_an_encode_error(name: str) -> None:
    with pytest.raises(EncodeError, match=f"codec '{name}' cannot encode a value of type 'str'"):
        get_codec(name).encode("\ud800")


@pytest.mark.parametrize("name", ["orjson", "msgpack"])
def test_int_beyond_64_bits_is_an_encode_error(name: str) -> None:
    with pytest.raises(EncodeError, match="int"):
        get_codec(name).encode(2**64)
    with pytest.raises(EncodeError):
        get_codec(name).encode([-(2**63) - 1])


def test_json_refuses_nan_with_the_fix() -> None:
    with pytest.raises(EncodeError, match=r"Out of range float.*use the pickle codec"):
        get_codec("json").encode({"x": math.inf})


def test_json_refuses_non_scalar_keys() -> None:
    with pytest.raises(EncodeError, match="keys must be"):
        get_codec("json").encode({(1, 2): "a"})


def test_orjson_refuses_non_str_keys() -> None:
    with pytest.raises(EncodeError, match="Dict key must be str"):
        get_codec("orjson").encode({1: "a"})


@pytest.mark.parametrize("name", CODECS)
def test_circular_value_is_an_encode_error(name: str) -> None:
    value: list[Any] = []
    value.append(value)
    if name == "pickle":  # pickle memoizes and round-trips cycles
        decoded = get_codec(name).decode(get_codec(name).encode(value))
        assert decoded[0] is decoded
        return
    with pytest.raises(EncodeError, match=f"codec '{name}' cannot encode a value of type 'list'"):
        get_codec(name).encode(value)


@pytest.mark.parametrize(
    ("value", "type_name", "detail"),
    [
        (threading.Lock(), "lock", "cannot pickle"),
        (lambda: None, "function", "Can't pickle"),
        ([(x for x in range(0))], "list", "cannot pickle 'generator'"),
    ],
)
def test_pickle_unpicklable_names_the_type(value: Any, type_name: str, detail: str) -> None:
    with pytest.raises(EncodeError) as info:
        get_codec("pickle").encode(value)
    message = str(info.value)
    assert message.startswith(f"codec 'pickle' cannot encode a value of type '{type_name}'")
    assert detail in message
    assert message.endswith(
        "make it picklable (a module-level class, or define __reduce__) or send a plain value"
    )


# -- decode errors -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("json", b'{"a": '),
        ("json", b"\xff\xfe"),
        ("json", b"1 2"),
        ("json", b"[" * 100_000),
        ("orjson", b'{"a": '),
        ("orjson", b"\xff"),
        ("orjson", b"[" * 100_000),
        ("pickle", b"not a pickle"),
        ("pickle", b""),
        ("pickle", b"\x80\x05\x95"),
        ("pickle", b"cno_such_module\nThing\n."),
        ("msgpack", b"\xc1"),
        ("msgpack", b"\x92\x01"),
        ("msgpack", b"\x01\x02"),
        ("msgpack", b"\x81\x91\x01\x02"),  # a map keyed by a list: unhashable
        ("msgpack", b"\x91" * 100_000),
    ],
)
def test_bad_bytes_are_a_decode_error(name: str, data: bytes) -> None:
    with pytest.raises(DecodeError) as info:
        get_codec(name).decode(data)
    message = str(info.value)
    assert message.startswith(f"codec '{name}' cannot decode {len(data)} bytes (")
    assert message.endswith("decode with the codec that encoded them")
    assert isinstance(info.value, ValueError)  # DecodeError is also a ValueError


@relaxed
@given(st.binary(max_size=64))
def test_random_bytes_decode_or_raise_decode_error(data: bytes) -> None:
    for name in ("json", "orjson", "msgpack"):
        try:
            get_codec(name).decode(data)
        except DecodeError:
            pass
