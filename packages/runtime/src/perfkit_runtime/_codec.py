"""Codecs: the one interface (:class:`Codec`) that turns messages into bytes and back.

This module owns the four implementations and the registry that hands them out:

=======  ===========================================================================================
json     stdlib; compact, UTF-8, strict JSON (NaN and Infinity are refused, never written)
orjson   extra ``perfkit-runtime[orjson]``; JSON types plus what orjson serializes natively
pickle   stdlib, protocol 5; any picklable value. Decoding runs code: only decode trusted bytes
msgpack  extra ``perfkit-runtime[msgpack]``; JSON types plus bytes and non-str map keys
=======  ===========================================================================================

Every failure leaves as :class:`EncodeError` or :class:`DecodeError` (both :class:`CodecError`),
never as the library's own ``TypeError`` / ``ValueError``; a missing optional library is
:class:`CodecUnavailable`. Sequences decode as lists in every codec but pickle.
"""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable
from typing import Any, NoReturn, Protocol, runtime_checkable

from perfkit_runtime._exceptions import CodecError, CodecUnavailable, DecodeError, EncodeError

__all__ = ["CODECS", "Codec", "get_codec"]

CODECS: tuple[str, ...] = ("json", "orjson", "pickle", "msgpack")

# Protocol 5 (Python 3.8+) is the newest: out-of-band buffers and the fastest bytes/bytearray path.
_PICKLE_PROTOCOL = 5

_JSON_TYPES = "dict (str keys), list, str, int, float, bool or None"


@runtime_checkable
class Codec(Protocol):
    """Turns a message into bytes and back; ``name`` is what the store records with the payload."""

    name: str

    def encode(self, obj: Any) -> bytes:
        """Serialize ``obj``; raise :class:`EncodeError` if this codec cannot represent it."""
        ...

    def decode(self, data: bytes) -> Any:
        """Deserialize ``data``; raise :class:`DecodeError` if the bytes are not valid here."""
        ...


def _cannot_encode(codec: str, type_name: str, detail: str, fix: str) -> EncodeError:
    what = f"a value of type {type_name!r}" + (f" ({detail})" if detail else "")
    return EncodeError(f"codec {codec!r} cannot encode {what}: {fix}")


def _cannot_decode(codec: str, data: bytes, exc: BaseException) -> DecodeError:
    return DecodeError(
        f"codec {codec!r} cannot decode {len(data)} bytes ({type(exc).__name__}: {exc}): "
        f"decode with the codec that encoded them"
    )


def _refuse_type(codec: str, fix: str) -> Callable[[Any], NoReturn]:
    """A ``default=`` hook: the library calls it with the first value it cannot serialize."""

    def default(obj: Any) -> NoReturn:
        raise _cannot_encode(codec, type(obj).__qualname__, "", fix)

    return default


class _JsonCodec:
    name = "json"
    _FIX = f"use the pickle codec or convert it to {_JSON_TYPES}"

    def __init__(self) -> None:
        # allow_nan=False: the stored bytes stay valid JSON that any reader accepts; NaN and
        # Infinity would be written as bare tokens that only Python reads back.
        self._encoder = json.JSONEncoder(
            ensure_ascii=False,
            separators=(",", ":"),
            allow_nan=False,
            default=_refuse_type(self.name, self._FIX),
        )
        self._decoder = json.JSONDecoder()

    def encode(self, obj: Any) -> bytes:
        try:
            return self._encoder.encode(obj).encode("utf-8")
        except EncodeError:
            raise
        except (TypeError, ValueError, RecursionError) as exc:
            raise _cannot_encode(self.name, type(obj).__qualname__, str(exc), self._FIX) from exc

    def decode(self, data: bytes) -> Any:
        try:
            return self._decoder.decode(str(data, "utf-8"))
        except (ValueError, TypeError, RecursionError) as exc:
            raise _cannot_decode(self.name, data, exc) from exc


def _missing(codec: str, module: str) -> CodecUnavailable:
    return CodecUnavailable(
        f"codec {codec!r} needs the optional dependency {module}: "
        f"pip install 'perfkit-runtime[{module}]'"
    )


class _OrjsonCodec:
    name = "orjson"
    _FIX = f"use the pickle codec or convert it to {_JSON_TYPES}, ints within 64 bits"

    def __init__(self) -> None:
        try:
            import orjson
        except ImportError as exc:
            raise _missing(self.name, "orjson") from exc
        self._dumps = orjson.dumps
        self._loads = orjson.loads
        self._encode_error = orjson.JSONEncodeError
        self._default = _refuse_type(self.name, self._FIX)

    def encode(self, obj: Any) -> bytes:
        try:
            out = self._dumps(obj, default=self._default)
        except self._encode_error as exc:
            if isinstance(exc.__cause__, EncodeError):  # raised by our default= hook
                raise exc.__cause__ from None
            raise _cannot_encode(self.name, type(obj).__qualname__, str(exc), self._FIX) from exc
        # orjson returns a bytes object that keeps its whole growth buffer. Measured here (orjson
        # 3.13.0, CPython 3.11.7, tracemalloc and RSS over 10k-100k results): a 23-byte result holds
        # 4,097 B live (4,120 B RSS) though sys.getsizeof says 56; an 881-byte one holds 32 KB
        # (orjson 3.8.3: 1,065 B). The exact-size copy holds 64 B and costs ~0.15 µs per message.
        # bytes(out) and out[:] return the same oversized object: only a copy via memoryview works.
        return bytes(memoryview(out))

    def decode(self, data: bytes) -> Any:
        try:
            return self._loads(data)
        except (ValueError, TypeError, RecursionError) as exc:  # JSONDecodeError is a ValueError
            raise _cannot_decode(self.name, data, exc) from exc


class _PickleCodec:
    name = "pickle"
    _FIX = "make it picklable (a module-level class, or define __reduce__) or send a plain value"

    def encode(self, obj: Any) -> bytes:
        try:
            return pickle.dumps(obj, _PICKLE_PROTOCOL)
        except (pickle.PicklingError, TypeError, AttributeError, ValueError, RecursionError) as exc:
            # Local objects fail with AttributeError, locks and generators with TypeError.
            raise _cannot_encode(self.name, type(obj).__qualname__, str(exc), self._FIX) from exc

    def decode(self, data: bytes) -> Any:
        try:
            return pickle.loads(data)
        except Exception as exc:  # unpickling runs any reducer: every exception means bad bytes
            raise _cannot_decode(self.name, data, exc) from exc


class _MsgpackCodec:
    name = "msgpack"
    _FIX = (
        "use the pickle codec or convert it to dict, list, str, bytes, int (64-bit), float, bool "
        "or None"
    )

    def __init__(self) -> None:
        try:
            import msgpack
        except ImportError as exc:
            raise _missing(self.name, "msgpack") from exc
        self._packb = msgpack.packb
        self._unpackb = msgpack.unpackb
        self._unpack_exception = msgpack.UnpackException
        self._default = _refuse_type(self.name, self._FIX)

    def encode(self, obj: Any) -> bytes:
        try:
            # A Packer per call (inside packb): a shared Packer has a buffer and is not thread-safe.
            out: bytes = self._packb(obj, use_bin_type=True, default=self._default)
        except EncodeError:
            raise
        except (TypeError, ValueError, OverflowError, RecursionError) as exc:
            raise _cannot_encode(self.name, type(obj).__qualname__, str(exc), self._FIX) from exc
        return out

    def decode(self, data: bytes) -> Any:
        try:
            # strict_map_key=False: int and bytes map keys written by encode() must read back.
            return self._unpackb(data, raw=False, strict_map_key=False)
        except (ValueError, TypeError, RecursionError, self._unpack_exception) as exc:
            raise _cannot_decode(self.name, data, exc) from exc


_FACTORIES: dict[str, Callable[[], Codec]] = {
    "json": _JsonCodec,
    "orjson": _OrjsonCodec,
    "pickle": _PickleCodec,
    "msgpack": _MsgpackCodec,
}
_instances: dict[str, Codec] = {}


def get_codec(name: str) -> Codec:
    """The shared codec called ``name``, one of :data:`CODECS` (codecs keep no per-call state)."""
    try:
        return _instances[name]
    except KeyError:
        pass
    try:
        factory = _FACTORIES[name]
    except (KeyError, TypeError):
        raise CodecError(f"unknown codec {name!r}: pass one of {', '.join(CODECS)}") from None
    # Two threads racing here build two instances; setdefault keeps one, and either works.
    return _instances.setdefault(name, factory())
