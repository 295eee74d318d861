#!/usr/bin/env python3
"""Measure the machine's float32 matrix multiply rate with numpy's BLAS (sgemm).

Multiplies two 2048 x 2048 float32 matrices repeatedly on all cores for at
least MIN_SECONDS and reports the best rate of any one product, counting
2 * n^3 FLOPs per product. It is a measured ceiling, not the data-sheet peak:
a well-tuned sgemm reaches close to the cores' fused multiply-add limit.

Run it with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset: some machines set
them to work around old OpenBLAS bugs, and they make a current OpenBLAS pick a
slower kernel. Prints one JSON object on stdout.

Usage: python3 bench/peak_flops.py [MIN_SECONDS]
"""
import json
import sys
import time

import numpy as np

SIZE = 2048


def blas_info():
    """Return the BLAS library, its kernel and threads, if threadpoolctl is installed."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return {"blas": "unknown (pip install threadpoolctl to record it)"}
    for pool in threadpool_info():
        if pool.get("user_api") == "blas":
            return {"blas": f"{pool.get('internal_api')} {pool.get('version')}",
                    "blas_kernel": pool.get("architecture"), "blas_threads": pool.get("num_threads")}
    return {"blas": "not found"}


def main():
    min_seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 5.0
    rng = np.random.default_rng(0)
    a = rng.standard_normal((SIZE, SIZE), dtype=np.float32)
    b = rng.standard_normal((SIZE, SIZE), dtype=np.float32)
    out = np.empty_like(a)
    np.matmul(a, b, out=out)

    best = float("inf")
    started = time.perf_counter()
    while time.perf_counter() - started < min_seconds:
        begin = time.perf_counter()
        np.matmul(a, b, out=out)
        best = min(best, time.perf_counter() - begin)
    rate = 2 * SIZE**3 / best
    print(f"sgemm {SIZE}x{SIZE}: {rate / 1e9:.1f} GFLOP/s", file=sys.stderr)
    print(json.dumps({"peak_sgemm_flop_s": rate, "numpy_version": np.__version__, **blas_info()}))


if __name__ == "__main__":
    main()
