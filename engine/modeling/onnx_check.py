"""Checks of an ONNX network file before onnxruntime's parser sees it (a bundle from
outside may be crafted), read with a plain protobuf wire walker: no native code runs.

What passes is what the sequence learners export and nothing else: one graph of standard
ONNX operators (``ALLOWED_OPS``, default domain, opset ``OPSETS``), tensors held inside the
file (no external data, each one's bytes matching its shape), no functions, subgraphs,
sparse tensors or training information, one float input ``features`` of shape
(batch, ``width``) and one output ``score``. Anything else is refused by name.
"""

from __future__ import annotations

from collections.abc import Iterator
from math import prod

MAX_NETWORK_BYTES = 32 << 20
MAX_NODES = 20_000
OPSETS = range(17, 24)  # what torch's exporter writes (20 with torch 2.13), with room
ALLOWED_OPS = frozenset(
    {
        "Add", "Cast", "Concat", "Constant", "Div", "Expand", "Gather", "Gemm", "GRU",
        "Identity", "LayerNormalization", "LSTM", "MatMul", "Mul", "ReduceMean", "Relu",
        "Reshape", "Shape", "Sigmoid", "Slice", "Softmax", "Sqrt", "Squeeze", "Sub", "Tanh",
        "Transpose", "Unsqueeze",
    }
)  # fmt: skip
INPUT, OUTPUT = "features", "score"
FLOAT = 1
# element sizes of the tensor types a network's weights and constants use
ITEM_BYTES = {1: 4, 6: 4, 7: 8, 9: 1, 10: 2, 11: 8, 16: 2}
VARINT, FIXED64, LENGTH, FIXED32 = 0, 1, 2, 5


class NetworkError(ValueError):
    """The file is not a network this workbench serves; the message says why."""


def _varint(data: bytes, at: int, end: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if at >= end or shift > 63:
            raise NetworkError("is not a protobuf message (a number runs past its end)")
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, at
        shift += 7


def _span(value: object, what: str) -> tuple[int, int]:
    """A length-delimited field's (start, end); a number where a message or text belongs
    is refused."""
    if not isinstance(value, tuple):
        raise NetworkError(f"has a {what} that is not a message or text")
    return value


def _fields(data: bytes, span: object, what: str) -> Iterator[tuple[int, int, object]]:
    """(field number, wire type, value) of the ``what`` message at ``span`` (start, end) of
    ``data``: an int for numbers, a (start, end) pair for length-delimited fields."""
    at, end = _span(span, what)
    while at < end:
        key, at = _varint(data, at, end)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise NetworkError(f"has a field numbered 0 in its {what}")
        if wire == VARINT:
            value, at = _varint(data, at, end)
        elif wire == LENGTH:
            size, at = _varint(data, at, end)
            if size > end - at:
                raise NetworkError(f"has a field of its {what} that runs past the file's end")
            value, at = (at, at + size), at + size
        elif wire in (FIXED64, FIXED32):
            width = 8 if wire == FIXED64 else 4
            if width > end - at:
                raise NetworkError(f"has a field of its {what} that runs past the file's end")
            value, at = None, at + width
        else:
            raise NetworkError(f"uses a protobuf wire type ({wire}) no ONNX file has")
        yield number, wire, value


def _int(value: object, what: str) -> int:
    if not isinstance(value, int):
        raise NetworkError(f"has a {what} that is not a number")
    return value


def _text(data: bytes, span: object, what: str) -> str:
    start, end = _span(span, what)
    try:
        return data[start:end].decode()
    except UnicodeDecodeError:
        raise NetworkError(f"has a {what} that is not UTF-8 text") from None


def _packed(data: bytes, span: tuple[int, int]) -> list[int]:
    values, at = [], span[0]
    while at < span[1]:
        value, at = _varint(data, at, span[1])
        values.append(value)
    return values


def _refuse(message: str) -> None:
    raise NetworkError(message)


class _Walker:
    def __init__(self, data: bytes) -> None:
        self.data, self.nodes = data, 0

    def model(self) -> dict:
        found: dict = {"opsets": [], "graph": None}
        for number, _, value in _fields(self.data, (0, len(self.data)), "model"):
            if number == 7:
                found["graph"] = self.graph(value)
            elif number == 8:
                found["opsets"].append(self.opset(value))
            elif number == 25:
                _refuse("defines functions of its own (not served)")
            elif number == 20:
                _refuse("carries training information (not served)")
            elif number not in (1, 2, 3, 4, 5, 6, 14):
                _refuse(f"has a model field ({number}) that an exported network does not")
        if found["graph"] is None:
            _refuse("has no graph")
        if [d for d, _ in found["opsets"]] != [""]:
            _refuse("imports operator sets other than ONNX's standard one")
        if found["opsets"][0][1] not in OPSETS:
            _refuse(
                f"uses ONNX opset {found['opsets'][0][1]}; served: {OPSETS.start}-{OPSETS.stop - 1}"
            )
        return found["graph"]

    def opset(self, span) -> tuple[str, int]:
        domain, version = "", 0
        for number, _, value in _fields(self.data, span, "opset import"):
            if number == 1:
                domain = _text(self.data, value, "opset domain")
            elif number == 2:
                version = _int(value, "opset version")
        return domain, version

    def graph(self, span) -> dict:
        graph: dict = {"inputs": [], "outputs": [], "initializers": set()}
        for number, _, value in _fields(self.data, span, "graph"):
            if number == 1:
                self.node(value)
            elif number == 5:
                graph["initializers"].add(self.tensor(value))
            elif number in (11, 12):
                graph["inputs" if number == 11 else "outputs"].append(self.value_info(value))
            elif number in (15, 14):
                _refuse("has sparse or quantized tensors (not served)")
            elif number not in (2, 10, 13, 16):
                _refuse(f"has a graph field ({number}) that an exported network does not")
        if not self.nodes:
            _refuse("has an empty graph")
        return graph

    def node(self, span) -> None:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            _refuse(f"has more than {MAX_NODES:,} operators")
        op, domain = "", ""
        for number, _, value in _fields(self.data, span, "operator"):
            if number == 4:
                op = _text(self.data, value, "operator type")
            elif number == 7:
                domain = _text(self.data, value, "operator domain")
            elif number == 5:
                self.attribute(value)
            elif number not in (1, 2, 3, 6, 8, 9):
                _refuse(f"has an operator field ({number}) that an exported network does not")
        if domain not in ("", "ai.onnx") or op not in ALLOWED_OPS:
            _refuse(f"uses the operator {f'{domain}.' if domain else ''}{op:.40}, not one served")

    def attribute(self, span) -> None:
        for number, _, value in _fields(self.data, span, "attribute"):
            if number in (5, 10):
                self.tensor(value)
            elif number in (6, 11):
                _refuse("has an operator with a subgraph (loops and branches are not served)")
            elif number not in (1, 2, 3, 4, 7, 8, 9, 13, 20):
                _refuse(f"has an attribute field ({number}) that an exported network does not")

    def tensor(self, span) -> str:
        dims, dtype, name, stored, external = [], 0, "", None, False
        for number, wire, value in _fields(self.data, span, "tensor"):
            if number == 1:
                dims += _packed(self.data, value) if wire == LENGTH else [_int(value, "dimension")]
            elif number == 2:
                dtype = _int(value, "tensor type")
            elif number == 8:
                name = _text(self.data, value, "tensor name")
            elif number == 9:
                start, end = _span(value, "tensor's bytes")
                stored = end - start
            elif number == 13 or (number == 14 and value == 1):
                external = True
            elif number == 3:
                _refuse("has a segmented tensor (not served)")
            elif number not in (4, 5, 6, 7, 10, 11, 12, 14, 16):
                _refuse(f"has a tensor field ({number}) that an exported network does not")
        if external:
            _refuse(f"keeps the tensor {name!r:.40} in an external file (not served)")
        if stored is not None:
            if dtype not in ITEM_BYTES:
                _refuse(f"has the tensor {name!r:.40} of an element type ({dtype}) not served")
            if prod(dims) * ITEM_BYTES[dtype] != stored:
                _refuse(f"has the tensor {name!r:.40} whose bytes do not match its shape {dims}")
        return name

    def value_info(self, span) -> tuple[str, int, list]:
        name, dtype, shape = "", 0, []
        for number, _, value in _fields(self.data, span, "value"):
            if number == 1:
                name = _text(self.data, value, "input or output name")
            elif number == 2:
                dtype, shape = self.tensor_type(value)
        return name, dtype, shape

    def tensor_type(self, span) -> tuple[int, list]:
        dtype, shape = 0, []
        for number, _, value in _fields(self.data, span, "type"):
            if number != 1:
                continue  # not a dense tensor: refused below by its element type
            for inner, _, item in _fields(self.data, value, "tensor type"):
                if inner == 1:
                    dtype = _int(item, "element type")
                elif inner == 2:
                    shape = [
                        self.dimension(d) for n, _, d in _fields(self.data, item, "shape") if n == 1
                    ]
        return dtype, shape

    def dimension(self, span) -> int | str:
        for number, _, value in _fields(self.data, span, "dimension"):
            if number == 1:
                return _int(value, "dimension")
            if number == 2:
                return _text(self.data, value, "dimension name")
        return "?"


def check_network(data: bytes, width: int) -> None:
    """Refuse (``NetworkError`` saying why) a file that is not a network of the served
    operators from ``width`` features per row to one score per row."""
    if len(data) > MAX_NETWORK_BYTES:
        raise NetworkError(f"is larger than {MAX_NETWORK_BYTES >> 20} MB")
    graph = _Walker(bytes(data)).model()
    inputs = [i for i in graph["inputs"] if i[0] not in graph["initializers"]]
    if [i[0] for i in inputs] != [INPUT] or [o[0] for o in graph["outputs"]] != [OUTPUT]:
        raise NetworkError(f"does not map one input {INPUT!r} to one output {OUTPUT!r}")
    ((_, dtype, shape),) = inputs
    if dtype != FLOAT or len(shape) != 2 or shape[1] != width or isinstance(shape[0], int):
        raise NetworkError(
            f"takes {shape} values of type {dtype}; expected float32 rows of {width} features"
        )
