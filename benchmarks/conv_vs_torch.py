"""Time single convolution layers, convscope against PyTorch, forward and forward+backward.

Shapes are those of the default models (batch 128): the first layer 1->32 at 28x28, 32->32
at 28x28, 32->64 at 14x14 with stride 1 and 2, 64->64 at 14x14, a 3-D 16->16 at 8x16x16 and a
1-D 64->64 at L=1024, all with 3x3(x3) kernels and padding 1. Each time is the best of
`--repeat` runs after one warm-up run; forward+backward computes the gradients of the input,
the weight and the bias for an upstream gradient of ones. The script prints a Markdown table.

Usage:
    python benchmarks/conv_vs_torch.py [--threads 2] [--repeat 5] [--batch 128]
        [--algorithm im2col]
"""

from __future__ import annotations

import argparse
import sys

from _threads import THREADS as _THREADS  # noqa: E402  (before NumPy)

from convscope._memory import reuse_freed_memory  # noqa: E402

reuse_freed_memory()  # for both libraries: glibc malloc keeps freed blocks

import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

import convscope.functional as F  # noqa: E402
from convscope import Tensor  # noqa: E402

# (label, C_in, C_out, spatial size, stride)
CASES = [
    ("2D 1->32, 28x28", 1, 32, (28, 28), 1),
    ("2D 32->32, 28x28", 32, 32, (28, 28), 1),
    ("2D 32->64, 14x14", 32, 64, (14, 14), 1),
    ("2D 32->64, 14x14, stride 2", 32, 64, (14, 14), 2),
    ("2D 64->64, 14x14", 64, 64, (14, 14), 1),
    ("3D 16->16, 8x16x16", 16, 16, (8, 16, 16), 1),
    ("1D 64->64, L=1024", 64, 64, (1024,), 1),
]


def best_time(fn, repeat: int) -> float:
    fn()  # warm-up: first-touch allocations, BLAS start-up
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def bench(c_in, c_out, size, stride, batch, repeat, algorithm):
    n = len(size)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, c_in, *size)).astype(np.float32)
    w = (rng.standard_normal((c_out, c_in, *(3,) * n)) / np.sqrt(9 * c_in)).astype(np.float32)
    b = rng.standard_normal(c_out).astype(np.float32)
    ours = getattr(F, f"conv{n}d")
    theirs = getattr(torch.nn.functional, f"conv{n}d")

    def cs_forward():
        return ours(x, w, b, stride=stride, padding=1, algorithm=algorithm)

    def cs_backward():
        xt, wt, bt = (Tensor(a, requires_grad=True) for a in (x, w, b))
        y = ours(xt, wt, bt, stride=stride, padding=1, algorithm=algorithm)
        y.backward(np.ones(y.shape, np.float32))

    tx, tw, tb = (torch.from_numpy(a) for a in (x, w, b))

    def th_forward():
        with torch.no_grad():
            return theirs(tx, tw, tb, stride=stride, padding=1)

    def th_backward():
        xr, wr, br = (t.clone().requires_grad_() for t in (tx, tw, tb))
        y = theirs(xr, wr, br, stride=stride, padding=1)
        y.backward(torch.ones_like(y))

    # The outputs agree before they are timed.
    np.testing.assert_allclose(cs_forward(), th_forward().numpy(), rtol=1e-3, atol=1e-3)
    return [best_time(f, repeat) for f in (cs_forward, th_forward, cs_backward, th_backward)]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="convscope vs PyTorch, single conv layers")
    p.add_argument("--threads", type=int, default=2, help="threads for both (default: 2)")
    p.add_argument("--repeat", type=int, default=5, help="timed runs per case (default: 5)")
    p.add_argument("--batch", type=int, default=128, help="batch size (default: 128)")
    p.add_argument("--algorithm", default="im2col", help="convscope's algorithm (im2col)")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(f"batch {args.batch}, 3x3 kernels, padding 1, float32, {args.threads} threads, best "
          f"of {args.repeat}; convscope algorithm={args.algorithm}; times in ms\n")
    print("| layer | convscope fwd | PyTorch fwd | ratio | convscope fwd+bwd | "
          "PyTorch fwd+bwd | ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for label, c_in, c_out, size, stride in CASES:
        cf, tf, cb, tb = bench(c_in, c_out, size, stride, args.batch, args.repeat,
                               args.algorithm)
        print(f"| {label} | {1e3 * cf:.1f} | {1e3 * tf:.1f} | {cf / tf:.1f}x | "
              f"{1e3 * cb:.1f} | {1e3 * tb:.1f} | {cb / tb:.1f}x |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
