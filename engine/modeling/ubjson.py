"""A strict, bounded decoder for the UBJSON that XGBoost writes (``booster.ubj``).

A model file from outside is decoded here, in pure Python, before XGBoost's native parser
sees a byte of it (``engine.modeling.booster_check`` then checks the trees). Only what
XGBoost 3.2's writer produces is accepted:

- objects: ``{``, then keys (a length, then UTF-8 bytes, no ``S`` marker) and values, then
  ``}``; no duplicate keys;
- arrays always with a count: ``[#<count>`` then values, or typed ``[$<type>#<count>`` then
  the raw big-endian numbers (decoded with ``numpy.frombuffer``, without a copy);
- strings ``S<length><UTF-8 bytes>``; numbers ``i`` (int8), ``U`` (uint8), ``I`` (int16),
  ``l`` (int32), ``L`` (int64), ``d`` (float32), ``D`` (float64); ``T``, ``F``, ``Z``.

Anything else (another marker, a count past the end of the file, nesting deeper than
``MAX_NESTING``, more than ``MAX_VALUES`` untyped values, bytes after the document) raises
ValueError naming the byte offset.
"""

from __future__ import annotations

import struct

import numpy as np

MAX_NESTING = 16  # XGBoost's model nests 7 deep (learner/gradient_booster/model/trees/...)
MAX_VALUES = 2_000_000  # untyped values (about 30 per tree); typed arrays are bounded by size
MAX_DOCUMENT_BYTES = 256 * 2**20

_INTEGERS = {b"i": ">b", b"U": ">B", b"I": ">h", b"l": ">i", b"L": ">q"}
_FLOATS = {b"d": ">f", b"D": ">d"}
_SCALARS = {marker: struct.Struct(code) for marker, code in {**_INTEGERS, **_FLOATS}.items()}
_INT64 = _SCALARS[b"L"]
_TYPED = {
    marker: np.dtype(code)
    for marker, code in {
        b"i": "i1",
        b"U": "u1",
        b"I": ">i2",
        b"l": ">i4",
        b"L": ">i8",
        b"d": ">f4",
        b"D": ">f8",
    }.items()
}
_CONSTANTS = {b"T": True, b"F": False, b"Z": None}
_CONTAINERS = frozenset((b"[", b"{"))


def decode_ubjson(data: bytes, *, max_bytes: int = MAX_DOCUMENT_BYTES) -> dict:
    """The JSON object that ``data`` encodes.

    Parameters
    ----------
    data : bytes
        A whole UBJSON document whose top level is an object.
    max_bytes : int
        Larger documents are refused before anything is decoded.

    Returns
    -------
    dict
        Keys are str; values are dict, list, str, int, float, bool, None, or, for typed
        arrays, a read-only 1-d ``numpy.ndarray`` (shape (count,)) of the array's type.

    Raises
    ------
    ValueError
        Naming the byte offset and what is wrong there.
    """
    if len(data) > max_bytes:
        raise ValueError(f"it holds {len(data)} bytes, more than the {max_bytes} allowed")
    if not data:
        raise ValueError("the file is empty")
    reader = _Reader(bytes(data))
    if reader.marker() != b"{":
        raise ValueError("byte 0: the document does not start with an object ('{')")
    document = reader.object(depth=1)
    if reader.pos != len(reader.data):
        raise ValueError(f"byte {reader.pos}: {len(data) - reader.pos} bytes follow the document")
    return document


class _Reader:
    """A cursor over the document; every read checks that the bytes are there."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos, self.end, self.values = data, 0, len(data), 0

    def fail(self, what: str, at: int | None = None) -> ValueError:
        return ValueError(f"byte {self.pos if at is None else at}: {what}")

    def take(self, size: int) -> int:
        """Advance past ``size`` bytes and return where they start."""
        start = self.pos
        if size > self.end - start:
            raise self.fail(f"needs {size} more bytes, but the file ends at byte {self.end}")
        self.pos = start + size
        return start

    def marker(self) -> bytes:
        start = self.pos
        if start >= self.end:
            raise self.fail(f"needs 1 more byte, but the file ends at byte {self.end}")
        self.pos = start + 1
        return self.data[start : start + 1]

    def scalar(self, marker: bytes) -> int | float:
        unpack = _SCALARS[marker]
        return unpack.unpack_from(self.data, self.take(unpack.size))[0]

    def length(self, what: str) -> int:
        at = self.pos
        if self.data[at : at + 1] == b"L" and at + 9 <= self.end:  # what XGBoost writes
            self.pos = at + 9
            size = _INT64.unpack_from(self.data, at + 1)[0]
        else:
            marker = self.marker()
            if marker not in _INTEGERS:
                raise self.fail(f"the {what} has no integer length (marker {marker!r})", at)
            size = self.scalar(marker)
        if size < 0:
            raise self.fail(f"the {what} has the negative length {size}", at)
        return size

    def text(self, what: str) -> str:
        at = self.pos
        start = self.take(self.length(what))
        try:
            return self.data[start : self.pos].decode("utf-8")
        except UnicodeDecodeError:
            raise self.fail(f"the {what} is not UTF-8 text", at) from None

    def count(self) -> None:
        self.values += 1
        if self.values > MAX_VALUES:
            raise self.fail(f"the document holds more than {MAX_VALUES} values")

    def value(self, marker: bytes, depth: int):
        self.count()
        if marker in _CONTAINERS:
            if depth >= MAX_NESTING:
                raise self.fail(f"containers nest deeper than {MAX_NESTING}", self.pos - 1)
            return self.array(depth + 1) if marker == b"[" else self.object(depth + 1)
        if marker == b"S":
            return self.text("string")
        if marker in _SCALARS:
            return self.scalar(marker)
        if marker in _CONSTANTS:
            return _CONSTANTS[marker]
        raise self.fail(f"{marker!r} is not a UBJSON value marker XGBoost writes", self.pos - 1)

    def object(self, depth: int) -> dict:
        body: dict = {}
        data, end = self.data, self.end
        while True:
            at = self.pos
            head = data[at : at + 1]
            if head == b"}":
                self.pos = at + 1
                return body
            size = _INT64.unpack_from(data, at + 1)[0] if head == b"L" and at + 9 <= end else -1
            if 0 <= size <= end - at - 9:  # the int64 length XGBoost writes: read it inline
                self.pos = at + 9 + size
                try:
                    key = data[at + 9 : self.pos].decode("utf-8")
                except UnicodeDecodeError:
                    raise self.fail("the object key is not UTF-8 text", at) from None
            else:  # any other length marker, or a length that does not fit: say which
                key = self.text("object key")
            if key in body:
                raise self.fail(f"the key {key[:40]!r} appears twice in one object", at)
            body[key] = self.value(self.marker(), depth)

    def array(self, depth: int) -> list | np.ndarray:
        at, marker = self.pos - 1, self.marker()  # at: the "["
        if marker == b"$":
            dtype = _TYPED.get(self.data[at + 2 : at + 3])
            if dtype is None or self.data[at + 3 : at + 4] != b"#":
                raise self.fail("a typed array must be [$<number type>#<count>", at)
            self.pos = at + 4
            size = self.length("typed array")
            if size > (self.end - self.pos) // dtype.itemsize:
                raise self.fail(f"the typed array of {size} numbers runs past the end", at)
            start = self.take(size * dtype.itemsize)
            return np.frombuffer(self.data, dtype=dtype, count=size, offset=start)
        if marker != b"#":
            raise self.fail("an array must give its count ([#<count> or [$<type>#<count>)", at)
        size = self.length("array")
        if size > self.end - self.pos:  # every value takes at least one byte
            raise self.fail(f"the array of {size} values runs past the file's end", at)
        return [self.value(self.marker(), depth) for _ in range(size)]
