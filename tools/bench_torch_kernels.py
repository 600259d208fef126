"""Times the kernels `pt2 bench kernels` times, in PyTorch eager, and prints JSON.

Usage: python tools/bench_torch_kernels.py --threads 2
Prints {"matmul_512": seconds, "matmul_2048": seconds, "conv3x3": seconds} (medians).
"""
import argparse
import json
import statistics
import time

import torch


def median_time(fn, repeats):
    # warm up for a quarter second (caches, allocator, clock), as pt2's bench does
    start = time.perf_counter()
    while time.perf_counter() - start < 0.25:
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    out = {}
    for n, reps in ((512, 50), (2048, 10)):
        a, b = torch.randn(n, n), torch.randn(n, n)
        out[f"matmul_{n}"] = median_time(lambda: torch.mm(a, b), reps)
    x = torch.randn(8, 64, 56, 56)
    w = torch.randn(64, 64, 3, 3)
    bias = torch.randn(64)
    out["conv3x3"] = median_time(
        lambda: torch.ops.aten.convolution(x, w, bias, [1, 1], [1, 1], [1, 1], False, [0, 0], 1), 30
    )
    print(json.dumps(out))


if __name__ == "__main__":
    with torch.inference_mode():
        main()
