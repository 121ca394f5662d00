"""Crafted bundle files for the hostile-input tests: a UBJSON encoder that writes what
XGBoost writes, mutations of a decoded booster, and zip archives whose headers lie."""

from __future__ import annotations

import copy
import hashlib
import io
import json
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

_TYPED_MARKERS = {
    "i1": b"i",
    "u1": b"U",
    "i2": b"I",
    "i4": b"l",
    "i8": b"L",
    "f4": b"d",
    "f8": b"D",
}
# XGBoost picks the smallest type whose range holds the value strictly inside its bounds
_INT_MARKERS = tuple(
    (marker, code, -(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
    for marker, code, bits in ((b"i", ">b", 8), (b"I", ">h", 16), (b"l", ">i", 32))
)


def encode_ubjson(value) -> bytes:
    """``value`` (what ``engine.modeling.ubjson.decode_ubjson`` returns) as XGBoost writes
    it: counted arrays, typed arrays for numpy arrays, the smallest integer marker."""
    if isinstance(value, dict):
        keys = b"".join(
            _length(len(k.encode())) + k.encode() + encode_ubjson(v) for k, v in value.items()
        )
        return b"{" + keys + b"}"
    if isinstance(value, np.ndarray):
        marker = _TYPED_MARKERS[value.dtype.str[1:]]
        return (
            b"[$"
            + marker
            + b"#"
            + _length(len(value))
            + value.astype(value.dtype.newbyteorder(">")).tobytes()
        )
    if isinstance(value, list):
        return b"[#" + _length(len(value)) + b"".join(encode_ubjson(v) for v in value)
    if isinstance(value, str):
        return b"S" + _length(len(value.encode())) + value.encode()
    if isinstance(value, bool) or value is None:
        return {True: b"T", False: b"F", None: b"Z"}[value]
    if isinstance(value, int):
        for marker, code, low, high in _INT_MARKERS:
            if low < value < high:
                return marker + struct.pack(code, value)
        return b"L" + struct.pack(">q", value)
    return b"D" + struct.pack(">d", value)


def _length(size: int) -> bytes:
    return b"L" + struct.pack(">q", size)


def trees_of(document: dict) -> list[dict]:
    return document["learner"]["gradient_booster"]["model"]["trees"]


def with_nodes(document: dict, tree: int = 0, **changes: dict[int, float]) -> dict:
    """A copy of the decoded booster whose tree ``tree`` has ``array[node] = value`` for
    each ``array={node: value}`` in ``changes``."""
    crafted = copy.deepcopy(document)
    target = trees_of(crafted)[tree]
    for key, values in changes.items():
        array = np.array(target[key])
        for node, value in values.items():
            array[node] = value
        target[key] = array
    return crafted


def with_links(document: dict, left: list[int], right: list[int], tree: int = 0) -> dict:
    """A copy whose tree ``tree`` has these children (its parents recorded to match, its
    other node arrays resized, every split on feature 0 at 0.0)."""
    crafted = copy.deepcopy(document)
    target = trees_of(crafted)[tree]
    size = len(left)
    parents = np.full(size, 2**31 - 1, dtype=">i4")
    for node, (a, b) in enumerate(zip(left, right, strict=True)):
        if a >= 0:
            parents[[a, b]] = node
    target.update(
        left_children=np.asarray(left, dtype=">i4"),
        right_children=np.asarray(right, dtype=">i4"),
        parents=parents,
        split_indices=np.zeros(size, dtype=">i4"),
        default_left=np.zeros(size, dtype="u1"),
        split_type=np.zeros(size, dtype="u1"),
        **{key: np.full(size, 0.5, dtype=">f4") for key in FLOAT_ARRAYS},
    )
    target["tree_param"]["num_nodes"] = str(size)
    return crafted


FLOAT_ARRAYS = ("split_conditions", "base_weights", "loss_changes", "sum_hessian")


def chain(depth: int) -> tuple[list[int], list[int]]:
    """Children of a tree ``depth`` levels deep: node 2k splits into 2k + 1 (a leaf) and
    2k + 2."""
    size = 2 * depth + 1
    left = [node + 1 if node % 2 == 0 and node < size - 1 else -1 for node in range(size)]
    right = [node + 2 if node % 2 == 0 and node < size - 1 else -1 for node in range(size)]
    return left, right


def with_tree_count(document: dict, count: int) -> dict:
    """A copy holding ``count`` copies of its first tree, every count and index agreeing."""
    crafted = copy.deepcopy(document)
    model = crafted["learner"]["gradient_booster"]["model"]
    model["trees"] = [{**model["trees"][0], "id": number} for number in range(count)]
    model["tree_info"] = [0] * count
    model["iteration_indptr"] = list(range(count + 1))
    model["gbtree_model_param"]["num_trees"] = str(count)
    crafted["learner"]["attributes"].pop("best_iteration", None)
    return crafted


# --- zip archives ---------------------------------------------------------------------


def zipped(bundle: Path, **replace: bytes) -> bytes:
    """The bundle's files zipped in a folder ``run/``, ``replace``'s in place of its own
    (a name the bundle lacks is added at the top level)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for file in sorted(bundle.iterdir()):
            archive.writestr(f"run/{file.name}", replace.get(file.name, file.read_bytes()))
        for name, data in replace.items():
            if not (bundle / name).exists():
                archive.writestr(name, data)
    return out.getvalue()


def rehashed(bundle: Path, run_id: str | None = None, **files: bytes) -> bytes:
    """The bundle zipped with other ``files`` (and run id) whose hashes its manifest lists."""
    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest["run_id"] = run_id or manifest["run_id"]
    for name, data in files.items():
        manifest["files"][name] = hashlib.sha256(data).hexdigest()
    return zipped(bundle, **files, **{"manifest.json": json.dumps(manifest).encode()})


@dataclass(frozen=True)
class ZipEntry:
    """One entry as it will be written: ``payload`` as stored (already compressed for
    ``method`` 8), with whatever sizes, CRC and flags its headers should declare."""

    name: str
    payload: bytes
    file_size: int
    crc: int
    method: int = 8
    flags: int = 0


def deflated(name: str, data: bytes, **changes) -> ZipEntry:
    """``data`` compressed honestly (raw deflate), then ``changes`` to its headers."""
    packer = zlib.compressobj(6, zlib.DEFLATED, -15)
    honest = ZipEntry(name, packer.compress(data) + packer.flush(), len(data), zlib.crc32(data))
    return ZipEntry(**{**honest.__dict__, **changes})


def inflating_to(name: str, data: bytes, extra_mb: int) -> ZipEntry:
    """An entry that declares ``data`` (its size and CRC) but whose one deflate stream goes
    on to inflate ``extra_mb`` MB of zeros after it (a few hundred bytes per MB)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = packer.compress(data) + packer.flush(zlib.Z_FULL_FLUSH)
    zeros = bytes(2**20)
    block = packer.compress(zeros) + packer.flush(zlib.Z_FULL_FLUSH)  # no back-references
    assert packer.compress(zeros) + packer.flush(zlib.Z_FULL_FLUSH) == block
    stream = head + block * extra_mb + packer.flush()
    return ZipEntry(name, stream, len(data), zlib.crc32(data))


def raw_zip(entries: list[ZipEntry]) -> bytes:
    """A zip archive written byte by byte, its headers saying what the entries say."""
    body, directory = b"", b""
    for entry in entries:
        name = entry.name.encode()
        fields = (entry.flags, entry.method, 0, 0x21, entry.crc, len(entry.payload))
        directory += (
            struct.pack(
                "<IHHHHHHIIIHHHHHII",
                0x02014B50,
                20,
                20,
                *fields,
                entry.file_size,
                len(name),
                0,
                0,
                0,
                0,
                0,
                len(body),
            )
            + name
        )
        body += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, *fields, entry.file_size, len(name), 0)
        body += name + entry.payload
    end = struct.pack(
        "<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(directory), len(body), 0
    )
    return body + directory + end
