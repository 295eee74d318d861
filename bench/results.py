#!/usr/bin/env python3
"""Merge the parts of a benchmark run into results.json and a Markdown table.

The parts are JSON objects written by the steps of ./build.sh bench: the Rust
bench (native.json), ONNX Runtime (ort-native.json), the sgemm peak
(peak.json) and the browser runs (browser.json). This script adds the headline
keys, the ratios ours / peer, the physical limit and the targets, and the
machine and its load.

Usage: python3 bench/results.py BENCH_DIR MODE STARTED_EPOCH LOAD_AT_START
Writes BENCH_DIR/results.json and BENCH_DIR/results.md.
"""
import json
import os
import platform
import subprocess
import sys
import time

PARTS = ["native.json", "ort-native.json", "peak.json", "browser.json"]

# Targets on ratios and absolute values: (key, comparison, bound, what it means).
TARGETS = [
    ("ratio_browser_cpu_to_ortweb_wasm_64", ">=", 1.0, "browser CPU backend / onnxruntime-web wasm, 64x64"),
    ("ratio_native_cpu_to_ort_native_64", ">=", 0.8, "native CPU backend / ONNX Runtime, 64x64"),
    ("ratio_native_cpu_to_ort_native_224", ">=", 0.8, "native CPU backend / ONNX Runtime, 224x224"),
    ("e2e_cpu_seconds", "<=", 30.0, "end to end on the CPU backend, seconds"),
    ("webcam_p50_ms_cpu", "<=", 50.0, "webcam frame p50 on the CPU backend, ms"),
    ("wasm_gzip_bytes", "<=", 3_000_000, "wasm gzipped (-9), MB: the WebGPU package (pkg)"),
    ("wasm_cpu_gzip_bytes", "<=", 3_000_000, "wasm gzipped (-9), MB: the threaded CPU package (pkg-cpu)"),
    ("weights_download_bytes", "<=", 30_000_000, "weights over the wire, MB"),
]

# Rows of the Markdown table: (label, our key, peer key).
ROWS = [
    ("native, 64x64, batch 1 (images/s)", "native_cpu_img_s_64_b1", "ort_native_img_s_64_b1"),
    ("native, 64x64, batch 32 (images/s)", "native_cpu_img_s_64_b32", "ort_native_img_s_64_b32"),
    ("native, 224x224, batch 1 (images/s)", "native_cpu_img_s_224_b1", "ort_native_img_s_224_b1"),
    ("native, 224x224, batch 32 (images/s)", "native_cpu_img_s_224_b32", "ort_native_img_s_224_b32"),
    ("browser CPU / ort-web wasm, batch 1 (images/s)", "browser_cpu_img_s_64_b1", "ortweb_wasm_img_s_64_b1"),
    ("browser CPU / ort-web wasm, batch 32 (images/s)", "browser_cpu_img_s_64_b32", "ortweb_wasm_img_s_64_b32"),
    ("browser CPU / ort-web wasm, first inference (ms)", "browser_cpu_first_inference_ms", "ortweb_wasm_first_inference_ms"),
    ("browser WebGPU / ort-web WebGPU, batch 1 (images/s)", "browser_webgpu_img_s_64_b1", "ortweb_webgpu_img_s_64_b1"),
    ("browser WebGPU / ort-web WebGPU, batch 4 (images/s)", "browser_webgpu_img_s_64_b4", "ortweb_webgpu_img_s_64_b4"),
    ("browser WebGPU / ort-web WebGPU, first inference (ms)", "browser_webgpu_first_inference_ms", "ortweb_webgpu_first_inference_ms"),
    ("browser CPU / ort-web wasm, peak tab memory (MB)", "peak_tab_memory_bytes_cpu", "ortweb_wasm_peak_tab_memory_bytes"),
]


def first_present(results, *keys):
    return next((results[key] for key in keys if results.get(key) is not None), None)


def ratio(numerator, denominator):
    return numerator / denominator if numerator is not None and denominator else None


def add_derived(results):
    """Add the headline keys, ratios, the physical limit and the target checks."""
    for side in (64, 224):
        results[f"native_cpu_img_s_{side}"] = first_present(results, f"native_cpu_img_s_{side}_b32", f"native_cpu_img_s_{side}_b1")
        results[f"ort_native_img_s_{side}"] = first_present(results, f"ort_native_img_s_{side}_b32", f"ort_native_img_s_{side}_b1")
        results[f"ratio_native_cpu_to_ort_native_{side}"] = ratio(results[f"native_cpu_img_s_{side}"], results[f"ort_native_img_s_{side}"])
        flops = results.get(f"flops_per_image_{side}")
        limit = ratio(results.get("peak_sgemm_flop_s"), flops)
        results[f"physical_limit_img_s_{side}"] = limit
        results[f"native_cpu_share_of_limit_{side}"] = ratio(results[f"native_cpu_img_s_{side}"], limit)
        results[f"ort_native_share_of_limit_{side}"] = ratio(results[f"ort_native_img_s_{side}"], limit)

    results["browser_cpu_img_s_64"] = first_present(results, "browser_cpu_img_s_64_b32", "browser_cpu_img_s_64_b1")
    results["ortweb_wasm_img_s_64"] = first_present(results, "ortweb_wasm_img_s_64_b32", "ortweb_wasm_img_s_64_b1")
    results["browser_webgpu_img_s_64"] = first_present(results, "browser_webgpu_img_s_64_b4", "browser_webgpu_img_s_64_b1")
    results["ortweb_webgpu_img_s_64"] = first_present(results, "ortweb_webgpu_img_s_64_b4", "ortweb_webgpu_img_s_64_b1")
    results["ratio_browser_cpu_to_ortweb_wasm_64"] = ratio(results["browser_cpu_img_s_64"], results["ortweb_wasm_img_s_64"])
    results["ratio_browser_webgpu_to_ortweb_webgpu_64"] = ratio(results["browser_webgpu_img_s_64"], results["ortweb_webgpu_img_s_64"])
    results["browser_cpu_share_of_limit_64"] = ratio(results["browser_cpu_img_s_64"], results.get("physical_limit_img_s_64"))
    results["ortweb_wasm_share_of_limit_64"] = ratio(results["ortweb_wasm_img_s_64"], results.get("physical_limit_img_s_64"))
    for key in ("e2e_cpu_seconds", "e2e_webgpu_seconds", "test_accuracy_webgpu", "webcam_p50_ms_cpu"):
        results.setdefault(key, None)

    targets = {}
    for key, comparison, bound, meaning in TARGETS:
        value = results.get(key)
        if value is None:
            met = None
        elif comparison == ">=":
            met = value >= bound
        else:
            met = value <= bound
        targets[key] = {"value": value, "target": f"{comparison} {bound}", "met": met, "meaning": meaning}
    results["targets"] = targets


def machine(mode, started, load_at_start):
    def command(*args):
        try:
            return subprocess.run(args, capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return None

    cpu = next((line.split(":", 1)[1].strip() for line in (command("lscpu") or "").splitlines() if line.startswith("Model name")), None)
    return {
        "mode": mode,
        "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "duration_seconds": round(time.time() - started),
        "load_average_at_start": load_at_start,
        "load_average_at_end": " ".join(f"{value:.2f}" for value in os.getloadavg()),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "kernel": platform.release(),
        "git_commit": command("git", "rev-parse", "--short", "HEAD"),
        "git_dirty": bool(command("git", "status", "--porcelain", "--untracked-files=no")),
    }


def number(value, key):
    if value is None:
        return "–"
    if "_bytes" in key:
        return f"{value / 1e6:.1f}"
    return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"


def percent(value):
    return "–" if value is None else f"{value * 100:.0f}%"


def markdown(results):
    lines = ["| measurement | ours | peer | ours / peer |", "| --- | --- | --- | --- |"]
    for label, ours_key, peer_key in ROWS:
        ours, peer = results.get(ours_key), results.get(peer_key)
        lines.append(f"| {label} | {number(ours, ours_key)} | {number(peer, peer_key)} | {number(ratio(ours, peer), '')} |")
    lines += ["", "| input | GFLOP per image | limit (images/s) | native CPU backend, share of limit | ONNX Runtime, share of limit |",
              "| --- | --- | --- | --- | --- |"]
    for side in (64, 224):
        flops = results.get(f"flops_per_image_{side}")
        shares = [results.get(f"{name}_share_of_limit_{side}") for name in ("native_cpu", "ort_native")]
        lines.append(f"| {side}x{side} | {number(flops and flops / 1e9, '')} | {number(results.get(f'physical_limit_img_s_{side}'), '')} | "
                     f"{percent(shares[0])} | {percent(shares[1])} |")
    lines += ["", "| target | value | bound | met |", "| --- | --- | --- | --- |"]
    for key, target in results["targets"].items():
        met = {True: "met", False: "not met", None: "not measured"}[target["met"]]
        comparison, bound = target["target"].split()
        lines.append(f"| {target['meaning']} | {number(target['value'], key)} | {comparison} {number(float(bound), key)} | {met} |")
    return "\n".join(lines) + "\n"


def main():
    if len(sys.argv) != 5:
        sys.exit("usage: python3 bench/results.py BENCH_DIR MODE STARTED_EPOCH LOAD_AT_START")
    bench_dir, mode, started, load_at_start = sys.argv[1:]
    results = {}
    for part in PARTS:
        with open(os.path.join(bench_dir, part)) as file:
            results.update(json.load(file))
    add_derived(results)
    results["machine"] = machine(mode, float(started), load_at_start)

    with open(os.path.join(bench_dir, "results.json"), "w") as file:
        json.dump(results, file, indent=2)
        file.write("\n")
    table = markdown(results)
    with open(os.path.join(bench_dir, "results.md"), "w") as file:
        file.write(table)
    print(table)
    if results.get("errors"):
        for failure in results["errors"]:
            print(f"error: {failure['part']} failed: {failure['error']}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
