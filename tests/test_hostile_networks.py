"""Crafted ONNX networks are refused by the wire walker (engine.modeling.onnx_check) with
a message naming what is wrong, before onnxruntime's parser sees them; the networks it
passes are the ones onnxruntime serves. The networks are written here field by field."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from engine.modeling.onnx_check import MAX_NETWORK_BYTES, NetworkError, check_network

GRU_FILE = Path(__file__).parent / "fixtures" / "gru_bundle" / "gru.onnx"


def varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def number(field: int, value: int) -> bytes:
    return varint(field << 3) + varint(value)


def message(field: int, *parts: bytes | str) -> bytes:
    body = b"".join(p.encode() if isinstance(p, str) else p for p in parts)
    return varint(field << 3 | 2) + varint(len(body)) + body


def value_info(field: int, name: str, dims: list[int | str], dtype: int = 1) -> bytes:
    shape = [message(1, message(2, d) if isinstance(d, str) else number(1, d)) for d in dims]
    tensor_type = message(1, number(1, dtype), message(2, *shape))
    return message(field, message(1, name), message(2, tensor_type))


def weights(extra: bytes = b"", size: int = 3) -> bytes:
    raw = struct.pack("<3f", 0.5, -1.0, 2.0)[: 4 * size]
    return message(
        5, number(1, 3), number(1, 1), number(2, 1), message(8, "w"), message(9, raw), extra
    )


def network(
    *,
    op: str = "MatMul",
    node_extra: bytes = b"",
    graph_extra: bytes = b"",
    model_extra: bytes = b"",
    initializer: bytes | None = None,
    width: int = 3,
    opset: int = 20,
) -> bytes:
    """features (batch, width) @ w (3, 1) -> score: a network onnxruntime serves."""
    node = message(
        1, message(1, "features"), message(1, "w"), message(2, "score"), message(4, op), node_extra
    )
    graph = message(
        7,
        node,
        message(2, "g"),
        weights() if initializer is None else initializer,
        value_info(11, "features", ["batch", width]),
        value_info(12, "score", ["batch", 1]),
        graph_extra,
    )
    return number(1, 10) + message(8, message(1, ""), number(2, opset)) + graph + model_extra


def test_the_hand_written_network_passes_and_serves() -> None:
    data = network()
    check_network(data, 3)
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    out = session.run(None, {"features": np.array([[1.0, 1.0, 1.0]], dtype=np.float32)})[0]
    assert out.tolist() == [[1.5]]


def test_the_exported_gru_passes() -> None:
    check_network(GRU_FILE.read_bytes(), 40)
    with pytest.raises(NetworkError, match="expected float32 rows of 41 features"):
        check_network(GRU_FILE.read_bytes(), 41)


@pytest.mark.parametrize(
    ("data", "message_part"),
    [
        (network()[:-7], "runs past"),
        (network() + b"\x0b", "wire type"),  # a group start: no ONNX file has one
        (network(op="Loop"), "operator Loop, not one served"),
        (network(node_extra=message(7, "com.microsoft")), "operator com.microsoft.MatMul"),
        (network(opset=30), "opset 30"),
        (network(model_extra=message(25, message(1, "f"))), "functions"),
        (network(model_extra=message(20, b"")), "training information"),
        (network(node_extra=message(5, message(1, "body"), message(6, b""))), "subgraph"),
        (network(initializer=weights(number(14, 1))), "external file"),
        (
            network(
                initializer=weights(message(13, message(1, "location"), message(2, "/etc/passwd")))
            ),
            "external file",
        ),
        (network(initializer=weights(size=2)), "do not match its shape"),
        (network(graph_extra=message(15, b"")), "sparse"),
        (network(graph_extra=value_info(11, "more", ["batch", 3])), "one input"),
        (network(width=4), "expected float32 rows of 3 features"),
        (
            network()[:2] + network()[2:].replace(b"\x0a\x05score", b"\x0a\x05other", 1),
            "one output",
        ),
        (
            network(node_extra=message(5, message(1, "x"), message(22, b""))),
            r"attribute field \(22\)",
        ),
        (number(1, 10), "no graph"),
        (number(7, 1), "graph that is not a message"),
    ],
)
def test_a_crafted_network_is_refused_by_name(data, message_part) -> None:
    with pytest.raises(NetworkError, match=message_part):
        check_network(data, 3)


def test_an_oversized_file_is_refused_before_it_is_read() -> None:
    with pytest.raises(NetworkError, match="larger than 32 MB"):
        check_network(network() + message(6, b"x" * MAX_NETWORK_BYTES), 3)
