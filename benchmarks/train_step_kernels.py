"""One training step of the default model with the compiled kernels and with the NumPy
kernels they replace, alternating in one process (min over steps).

The NumPy side swaps the compiled pooling, batch norm (+ ReLU) and strided unfold back to
the NumPy kernels (`kernels.pool`, `kernels.norm`, `im2col`'s slice loops), the references
they are tested against. The step is `convscope.training.loop.train_epoch`'s: forward, cross
entropy, backward and an SGD update, on a batch of the default recipe's size.

Usage:
    python benchmarks/train_step_kernels.py                 # 20 steps each, 2 threads
    python benchmarks/train_step_kernels.py --steps 40 --threads 1 --clock cpu
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time

from _threads import THREADS  # noqa: F401  (before NumPy)
from _machine import blas, cpu_model

import numpy as np

import convscope.functional.normalization as normalization
import convscope.functional.pooling as pooling
from convscope import Tensor
from convscope import functional as F
from convscope import optim
from convscope.kernels import im2col, norm
from convscope.models import fashion_cnn


@contextlib.contextmanager
def numpy_kernels():
    """The functional layers on the NumPy kernels for the duration of the block."""
    saved = (pooling.pool_jit.supports, normalization.norm_kernel, im2col.compiled)
    pooling.pool_jit.supports = lambda ndim: False
    normalization.norm_kernel = norm
    im2col.compiled = lambda stride, kernel_size: False
    try:
        yield
    finally:
        pooling.pool_jit.supports, normalization.norm_kernel, im2col.compiled = saved


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=20, help="timed steps per side (default 20)")
    p.add_argument("--batch", type=int, default=128, help="batch size (default 128)")
    p.add_argument("--threads", type=int, default=2, help="threads (default 2)")
    p.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                   help="wall time, or the process's CPU time (steadier on a busy machine; "
                        "with --threads 1 the time alone)")
    args = p.parse_args(argv)
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    rng = np.random.default_rng(0)
    model = fashion_cnn(rng=np.random.default_rng(0))
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = rng.standard_normal((args.batch, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, args.batch)

    def step():
        loss = F.cross_entropy(model(Tensor(x)), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return float(loss.item())

    best = {"compiled": float("inf"), "numpy": float("inf")}
    step()  # compile (or load from the cache) the kernels
    with numpy_kernels():
        step()
    for i in range(2 * args.steps):
        side = "compiled" if i % 2 == 0 else "numpy"
        with numpy_kernels() if side == "numpy" else contextlib.nullcontext():
            t0 = clock()
            step()
            best[side] = min(best[side], clock() - t0)
    print(f"CPU: {cpu_model()}\nBLAS: {blas()}\n{args.threads} threads, batch {args.batch}, "
          f"min of {args.steps} alternating steps ({args.clock} time; noisy on a shared "
          f"machine)")
    print(f"NumPy kernels {1e3 * best['numpy']:.1f} ms, compiled {1e3 * best['compiled']:.1f} "
          f"ms per training step ({best['numpy'] / best['compiled']:.2f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
