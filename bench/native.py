#!/usr/bin/env python3
"""Time ONNX Runtime on the VGG16 base graph, on the inputs the Rust bench used.

benches/vgg16_base.rs writes, per input size, the 32 images it ran
(inputs_SIZE.f32, NHWC RGB float32) and its features (features_SIZE.f32, NCHW).
This script applies the same preprocessing as the crate (RGB to BGR, subtract
the ImageNet means), times ONNX Runtime's CPU provider at each batch size, and
compares ONNX Runtime's features with the crate's. It also counts the
floating-point operations of one image from the graph's convolution shapes.

Usage: python3 bench/native.py ONNX NATIVE_DIR --sizes 64,224 --batches 1,32 --min-seconds S
Prints one JSON object on stdout.
"""
import argparse
import json
import sys
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper

MEAN_BGR = np.array([103.939, 116.779, 123.68], dtype=np.float32)
SAMPLE_IMAGES = 32


def conv_flops(model, side):
    """Return the FLOPs of one side x side image: 2 per multiply-add of each convolution.

    Bias additions, ReLU and max pooling are left out; together they are below 0.1%.
    """
    shapes = {init.name: numpy_helper.to_array(init).shape for init in model.graph.initializer}
    height = width = side
    flops = 0
    for node in model.graph.node:
        if node.op_type == "Conv":
            out_channels, in_channels, kernel_height, kernel_width = shapes[node.input[1]]
            flops += 2 * out_channels * in_channels * kernel_height * kernel_width * height * width
        elif node.op_type == "MaxPool":
            height //= 2
            width //= 2
    return flops


def images_per_second(session, images, batch, min_seconds):
    """Time whole batches after one warm-up batch, over at least min_seconds and two batches."""
    batches = [images[index : index + batch] for index in range(0, SAMPLE_IMAGES, batch)]

    def run(pixels):
        bgr = pixels[..., ::-1] - MEAN_BGR
        return session.run(None, {"input": np.ascontiguousarray(bgr)})[0]

    run(batches[0])
    started = time.perf_counter()
    runs = 0
    while runs < 2 or time.perf_counter() - started < min_seconds:
        run(batches[runs % len(batches)])
        runs += 1
    return runs * batch / (time.perf_counter() - started)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("onnx")
    parser.add_argument("native_dir")
    parser.add_argument("--sizes", default="64,224")
    parser.add_argument("--batches", default="1,32")
    parser.add_argument("--min-seconds", type=float, default=10.0)
    args = parser.parse_args()

    model = onnx.load(args.onnx)
    session = ort.InferenceSession(args.onnx, providers=["CPUExecutionProvider"])
    results = {"ort_version": ort.__version__}
    for side in map(int, args.sizes.split(",")):
        shape = (SAMPLE_IMAGES, side, side, 3)
        images = np.fromfile(f"{args.native_dir}/inputs_{side}.f32", dtype="<f4").reshape(shape)
        ours = np.fromfile(f"{args.native_dir}/features_{side}.f32", dtype="<f4")

        theirs = session.run(None, {"input": np.ascontiguousarray(images[..., ::-1] - MEAN_BGR)})[0]
        difference = np.abs(theirs.ravel() - ours).max() / np.abs(theirs).max()
        results[f"native_vs_ort_max_rel_diff_{side}"] = float(difference)
        results[f"flops_per_image_{side}"] = conv_flops(model, side)

        for batch in map(int, args.batches.split(",")):
            rate = images_per_second(session, images, batch, args.min_seconds)
            print(f"onnxruntime {side}x{side} batch {batch}: {rate:.2f} images/s", file=sys.stderr)
            results[f"ort_native_img_s_{side}_b{batch}"] = rate
    print(json.dumps(results))


if __name__ == "__main__":
    main()
