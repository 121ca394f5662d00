"""Typed records of a run's analyses, written as JSON and read back typed.

A record is a frozen dataclass whose fields are numbers, text, dates, ``Interval``,
DataFrames, Series, dicts of DataFrames or other records (the calibration report, the
signal analysis of the Factors page, a run's headline scores). ``record_document`` writes
one losslessly (floats as Python writes them, NaN kept); ``read_record`` rebuilds it and
checks every field's type and every table's shape on the way, raising ValueError (with
the field's path) on a document it did not write: a crafted file never reaches a page.
"""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from functools import cache

import numpy as np
import pandas as pd

NUMBERS = (int, float)
# the column types a record holds: dtype -> the JSON values it is written as
DTYPES = {
    **{f"float{bits}": NUMBERS for bits in (32, 64)},
    **{f"{sign}int{bits}": (int,) for sign in ("", "u") for bits in (8, 16, 32, 64)},
    "bool": (bool,),
    **{f"datetime64[{unit}]": (str, type(None)) for unit in ("s", "ms", "us", "ns")},
    "str": (str, type(None)),
    "object": (str, type(None)),
}


def _encode_values(values: pd.Index | pd.Series) -> dict:
    dtype = str(values.dtype)
    if dtype.startswith("datetime64[") and dtype in DTYPES:
        data = [None if pd.isna(v) else v.isoformat() for v in values]
    elif dtype in DTYPES:
        data = np.asarray(values).tolist()
    else:  # text: pandas' string dtype, or Python objects (written as their text)
        dtype = "str" if dtype == "str" else "object"
        data = [None if not isinstance(v, str) and pd.isna(v) else str(v) for v in values]
    return {"dtype": dtype, "values": data}


def _decode_values(body: object, n: int | None, where: str):
    """The column ``body`` as a Series of its dtype (``n`` values when given)."""
    if not isinstance(body, dict) or set(body) != {"dtype", "values"}:
        raise ValueError(f"{where}: not a column")
    dtype, values = body["dtype"], body["values"]
    if dtype not in DTYPES or not isinstance(values, list) or (n is not None and len(values) != n):
        raise ValueError(f"{where}: a column of an unknown type or the wrong length")
    allowed = DTYPES[dtype]
    if allowed in (NUMBERS, (int,)):  # checked as one array: thousands of values
        array = np.asarray(values)
        if values and (
            array.ndim != 1 or array.dtype.kind not in "iu" + "f" * (allowed == NUMBERS)
        ):
            raise ValueError(f"{where}: a value that is not {dtype}")
    elif not all(isinstance(v, allowed) for v in values):
        raise ValueError(f"{where}: a value that is not {dtype}")
    if dtype.startswith("datetime64["):
        try:
            dates = pd.to_datetime(pd.Series(values, dtype=object), format="ISO8601")
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{where}: a date that is not ISO") from exc
        return dates.astype(dtype)
    try:
        return pd.Series(values, dtype=dtype)
    except (ValueError, TypeError, OverflowError) as exc:
        raise ValueError(f"{where}: a value out of range for {dtype}") from exc


def _encode_frame(frame: pd.DataFrame) -> dict:
    index = frame.index
    levels = [index.get_level_values(i) for i in range(index.nlevels)]
    return {
        "index_names": list(index.names),
        "index": [_encode_values(level) for level in levels],
        "columns_name": frame.columns.name,
        "columns": frame.columns.tolist(),
        "data": [_encode_values(frame.iloc[:, i]) for i in range(frame.shape[1])],
    }


def _label(value: object, where: str) -> object:
    if value is not None and not isinstance(value, str | int) or isinstance(value, bool):
        raise ValueError(f"{where}: a label that is no text or integer")
    return value


def _decode_frame(body: object, where: str) -> pd.DataFrame:
    keys = {"index_names", "index", "columns_name", "columns", "data"}
    if not isinstance(body, dict) or set(body) != keys:
        raise ValueError(f"{where}: not a table")
    names, index, columns, data = (body[k] for k in ("index_names", "index", "columns", "data"))
    if not all(isinstance(x, list) for x in (names, index, columns, data)):
        raise ValueError(f"{where}: not a table")
    if not index or len(names) != len(index) or len(columns) != len(data):
        raise ValueError(f"{where}: index names, levels and columns do not match")
    n = None
    levels = []
    for i, level in enumerate(index):
        values = _decode_values(level, n, f"{where} index level {i}")
        n = len(values)
        levels.append(pd.Index(values, name=_label(names[i], where)))
    frame_index = levels[0] if len(levels) == 1 else pd.MultiIndex.from_arrays(levels)
    built = {}
    for label, column in zip(columns, data, strict=True):
        built[len(built)] = _decode_values(column, n, f"{where} column {label!r}").to_numpy()
    frame = pd.DataFrame(built, index=frame_index)
    frame.columns = pd.Index([_label(c, where) for c in columns], name=body["columns_name"])
    return frame


def _encode(value: object) -> object:
    if dataclasses.is_dataclass(value):
        return {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, pd.DataFrame):
        return _encode_frame(value)
    if isinstance(value, pd.Series):
        return {"name": value.name, "frame": _encode_frame(value.to_frame("values"))}
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _encode(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        return value.item()
    return value


@cache
def _hints(cls: type) -> dict[str, object]:
    return typing.get_type_hints(cls)


def _decode(kind: object, body: object, where: str) -> object:
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(kind)
        if body is None and type(None) in options:
            return None
        (kind,) = [k for k in options if k is not type(None)]
        return _decode(kind, body, where)
    if origin is dict:
        key_kind, value_kind = typing.get_args(kind)
        if not isinstance(body, dict):
            raise ValueError(f"{where}: not a mapping")
        out = {}
        for key, value in body.items():
            try:
                typed_key = int(key) if key_kind is int else key
            except ValueError:
                raise ValueError(f"{where}: a key that is no integer") from None
            out[typed_key] = _decode(value_kind, value, f"{where}[{key}]")
        return out
    if dataclasses.is_dataclass(kind):
        return _decode_record(kind, body, where)
    if kind is pd.DataFrame:
        return _decode_frame(body, where)
    if kind is pd.Series:
        if not isinstance(body, dict) or set(body) != {"name", "frame"}:
            raise ValueError(f"{where}: not a series")
        frame = _decode_frame(body["frame"], where)
        if list(frame.columns) != ["values"]:
            raise ValueError(f"{where}: not a series")
        return frame["values"].rename(_label(body["name"], where))
    if kind is pd.Timestamp:
        if not isinstance(body, str):
            raise ValueError(f"{where}: not a date")
        try:
            return pd.Timestamp(body)
        except ValueError:
            raise ValueError(f"{where}: not a date") from None
    if kind is float and isinstance(body, int | float) and not isinstance(body, bool):
        return float(body)
    if kind in (int, str, bool) and type(body) is kind:
        return body
    raise ValueError(f"{where}: not a {getattr(kind, '__name__', kind)}")


def _decode_record(cls: type, body: object, where: str) -> object:
    names = [f.name for f in dataclasses.fields(cls)]
    if not isinstance(body, dict) or sorted(body) != sorted(names):
        raise ValueError(f"{where}: not a {cls.__name__} (fields {names})")
    hints = _hints(cls)
    return cls(**{name: _decode(hints[name], body[name], f"{where}.{name}") for name in names})


def record_document(record: object) -> bytes:
    """``record`` (a frozen dataclass) as a JSON document, with its type's name."""
    body = {"record": type(record).__name__, "fields": _encode(record)}
    return json.dumps(body, allow_nan=True).encode()


def _constant(name: str) -> float:
    if name != "NaN":
        raise ValueError(f"{name} is not a value a record holds")
    return math.nan


def read_record(cls: type, data: bytes) -> object:
    """The ``cls`` record in ``data`` (``record_document``'s output); ValueError, naming
    the field, when the document is not one."""
    try:
        body = json.loads(data, parse_constant=_constant)
    except RecursionError:
        raise ValueError("its JSON nests deeper than a record does") from None
    if not isinstance(body, dict) or set(body) != {"record", "fields"}:
        raise ValueError("it is not a record document")
    if body["record"] != cls.__name__:
        raise ValueError(f"it holds a {str(body['record'])[:40]!r}, not a {cls.__name__}")
    return _decode_record(cls, body["fields"], cls.__name__)
