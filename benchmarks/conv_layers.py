"""Single convolution layers, convscope against PyTorch, each library in its own process.

Why separate processes: when both libraries run in one process, whichever runs second waits
on the other's spinning BLAS/OpenMP threads, and single-layer ratios move by 2-10x. Here the
parent starts one short-lived worker per (library, layer, round), alternating which library
goes first from round to round; every worker uses the same number of threads (BLAS, OpenMP
and convscope's own), runs one warm-up call and `--inner` timed calls, and reports their
median and the peak memory the layer added (Linux VmHWM, reset before each measurement).
The parent prints, per layer, the median over rounds of both times, the ratio, GFLOP/s
counted with the direct algorithm's FLOPs (2 N C_out prod(O) C_in/groups prod(K) forward,
three times that for forward + backward: the input and the weight gradients), peak memory,
the geometric means, and the machine's float32 matrix-product GFLOP/s, the ceiling for a
NumPy engine.

Benchmark machines may set OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, which pin OpenBLAS to a
slower kernel; the workers run without them (use --keep-openblas-env to keep them) and the
header says which kernel threadpoolctl reports.

Usage:
    python benchmarks/conv_layers.py                      # the whole table (a few minutes)
    python benchmarks/conv_layers.py --quick              # 1 round, 2 timed calls
    python benchmarks/conv_layers.py --layers resnet,3d --rounds 2
    python benchmarks/conv_layers.py --algorithm im2col   # convscope's algorithm
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time

# (name, batch, C_in, C_out, spatial size, kernel, stride, padding, groups)
LAYERS = [
    ("fashion 1->32 28x28", 128, 1, 32, (28, 28), 3, 1, 1, 1),
    ("fashion 32->64 14x14", 128, 32, 64, (14, 14), 3, 1, 1, 1),
    ("fashion 64->128 7x7", 128, 64, 128, (7, 7), 3, 1, 1, 1),
    ("resnet stem 3->64 224x224 k7 s2", 8, 3, 64, (224, 224), 7, 2, 3, 1),
    ("resnet 3x3 64 56x56", 8, 64, 64, (56, 56), 3, 1, 1, 1),
    ("resnet 3x3 128 28x28", 8, 128, 128, (28, 28), 3, 1, 1, 1),
    ("resnet 3x3 256 14x14", 8, 256, 256, (14, 14), 3, 1, 1, 1),
    ("resnet 3x3 512 7x7", 8, 512, 512, (7, 7), 3, 1, 1, 1),
    ("resnet 3x3 s2 64->128 56x56", 8, 64, 128, (56, 56), 3, 2, 1, 1),
    ("resnet 1x1 s2 256->512 14x14", 8, 256, 512, (14, 14), 1, 2, 0, 1),
    ("depthwise 3x3 128 56x56", 8, 128, 128, (56, 56), 3, 1, 1, 128),
    ("conv1d 64->64 L4096 k5", 32, 64, 64, (4096,), 5, 1, 2, 1),
    ("conv3d 16->32 16x64x64", 2, 16, 32, (16, 64, 64), 3, 1, 1, 1),
]
HERE = os.path.dirname(os.path.abspath(__file__))


def out_size(layer):
    _, _, _, _, size, k, s, p, _ = layer
    return tuple((n + 2 * p - k) // s + 1 for n in size)


def flops(layer) -> float:
    """Forward FLOPs of the direct algorithm: one multiply-add per tap per output value."""
    _, N, C_in, C_out, size, k, _, _, groups = layer
    return 2.0 * N * C_out * math.prod(out_size(layer)) * (C_in // groups) * k ** len(size)


# -- worker side: one library, one layer ---------------------------------------------------
def _rss_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


CLOCK = time.perf_counter  # --clock cpu: time.process_time (the worker's own CPU time)


def _measure(fn, inner: int):
    """(median seconds of `inner` calls after a warm-up, peak MiB above the RSS before).

    glibc keeps freed blocks here (see `reuse_freed_memory`), so the high-water mark of the
    resident set (VmHWM, reset first) minus the resident set before the first call is the
    most memory a call holds at once.
    """
    base = _rss_kib("VmRSS")
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # reset VmHWM to the current RSS
    except OSError:
        base = None
    fn()
    times = []
    for _ in range(inner):
        t0 = CLOCK()
        fn()
        times.append(CLOCK() - t0)
    peak = float("nan") if base is None else max(_rss_kib("VmHWM") - base, 0) / 1024
    return statistics.median(times), peak


def worker(library: str, index: int, inner: int, algorithm: str | None) -> dict:
    from convscope._memory import reuse_freed_memory
    reuse_freed_memory()  # for both libraries: glibc malloc keeps freed blocks
    import numpy as np
    name, N, C_in, C_out, size, k, s, p, groups = LAYERS[index]
    n = len(size)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, C_in, *size)).astype(np.float32)
    w = (rng.standard_normal((C_out, C_in // groups, *(k,) * n))
         / math.sqrt(k ** n * C_in / groups)).astype(np.float32)
    gy = rng.standard_normal((N, C_out, *out_size(LAYERS[index]))).astype(np.float32)
    if library == "convscope":
        from convscope import Tensor
        import convscope.functional as F
        conv = getattr(F, f"conv{n}d")
        kw = {} if algorithm is None else {"algorithm": algorithm}

        def forward():
            return np.asarray(conv(x, w, None, s, p, 1, groups, **kw))

        def both():
            xt, wt = Tensor(x, requires_grad=True), Tensor(w, requires_grad=True)
            conv(xt, wt, None, s, p, 1, groups, **kw).backward(gy)
            return xt.grad, wt.grad
    else:
        import torch
        torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
        conv = getattr(torch.nn.functional, f"conv{n}d")
        tx, tw, tg = (torch.from_numpy(a) for a in (x, w, gy))

        def forward():
            with torch.no_grad():
                return conv(tx, tw, None, s, p, 1, groups).numpy()

        def both():
            xr, wr = tx.detach().requires_grad_(), tw.detach().requires_grad_()
            conv(xr, wr, None, s, p, 1, groups).backward(tg)
            return xr.grad.numpy(), wr.grad.numpy()

    tb, mb = _measure(both, inner)  # first: its peak includes the forward pass's
    tf, mf = _measure(forward, inner)
    check = [float(np.sum(np.abs(forward()), dtype=np.float64))]
    check += [float(np.sum(np.abs(g), dtype=np.float64)) for g in both()]
    return {"forward": tf, "both": tb, "mem_forward": mf, "mem_both": mb, "check": check}


def matmul_worker(inner: int) -> dict:
    """float32 matrix-product GFLOP/s and the BLAS kernel threadpoolctl reports."""
    import numpy as np
    n = 2048
    a = np.random.default_rng(0).standard_normal((n, n)).astype(np.float32)
    t, _ = _measure(lambda: a @ a, max(inner, 3))
    try:
        import threadpoolctl
        info = threadpoolctl.threadpool_info()
        blas = ", ".join(f"{i.get('internal_api')} {i.get('version')} "
                         f"{i.get('architecture')} x{i.get('num_threads')}"
                         for i in info if i.get("user_api") == "blas")
    except ImportError:
        blas = "unknown (threadpoolctl not installed)"
    return {"gflops": 2 * n ** 3 / t / 1e9, "blas": blas}


# -- parent side -----------------------------------------------------------------------------
def child_env(threads: int, keep_openblas_env: bool) -> dict:
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                "CONVSCOPE_NUM_THREADS"):
        env[var] = str(threads)
    if not keep_openblas_env:
        env.pop("OPENBLAS_CORETYPE", None)
        env.pop("OPENBLAS_L2_SIZE", None)
    src = os.path.join(os.path.dirname(HERE), "src")
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    return env


def run_child(args: list[str], env: dict) -> dict:
    out = subprocess.run([sys.executable, os.path.abspath(__file__), *args], env=env,
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"worker {args} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def geomean(values) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, default=2, help="threads for both (default: 2)")
    p.add_argument("--rounds", type=int, default=3,
                   help="worker processes per library and layer; the table shows the "
                        "median (default: 3)")
    p.add_argument("--inner", type=int, default=5,
                   help="timed calls per worker after one warm-up (default: 5)")
    p.add_argument("--quick", action="store_true", help="--rounds 1 --inner 2")
    p.add_argument("--layers", default="",
                   help="comma-separated substrings of layer names to run (default: all)")
    p.add_argument("--algorithm", default=None,
                   help="convscope's algorithm (default: the library's default)")
    p.add_argument("--keep-openblas-env", action="store_true",
                   help="keep OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE in the workers "
                        "(default: unset)")
    p.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                   help="wall-clock time, or the worker's CPU time: steadier on a busy "
                        "machine, and with --threads 1 the same as the time alone "
                        "(default: wall)")
    p.add_argument("--worker", nargs=2, metavar=("LIBRARY", "INDEX"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    global CLOCK
    CLOCK = time.process_time if args.clock == "cpu" else time.perf_counter
    if args.worker:
        library, index = args.worker
        result = (matmul_worker(args.inner) if library == "matmul" else
                  worker(library, int(index), args.inner, args.algorithm))
        print(json.dumps(result))
        return 0
    if args.quick:
        args.rounds, args.inner = 1, 2
    wanted = [w.strip() for w in args.layers.split(",") if w.strip()]
    chosen = [i for i, layer in enumerate(LAYERS)
              if not wanted or any(w in layer[0] for w in wanted)]
    if not chosen:
        p.error(f"--layers {args.layers!r} matches none of: "
                + "; ".join(layer[0] for layer in LAYERS))
    env = child_env(args.threads, args.keep_openblas_env)
    common = ["--inner", str(args.inner), "--clock", args.clock]
    if args.algorithm:
        common += ["--algorithm", args.algorithm]
    ceiling = run_child(["--worker", "matmul", "0", *common], env)
    print(f"{time.strftime('%Y-%m-%d')}: {args.threads} threads per library, each in its own "
          f"process; {args.clock} time, median over {args.rounds} round(s) of the median of "
          f"{args.inner} calls; "
          f"float32; convscope algorithm={args.algorithm or 'default'}; BLAS: "
          f"{ceiling['blas']}; float32 matmul ceiling {ceiling['gflops']:.0f} GFLOP/s. "
          f"Times in ms, memory = peak MiB added by one call.\n")
    print("| layer | cs fwd | torch fwd | ratio | cs GFLOP/s | cs fwd+bwd | torch fwd+bwd | "
          "ratio | cs GFLOP/s | cs MiB | torch MiB |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    ratios_f, ratios_b = [], []
    for i in chosen:
        runs = {"convscope": [], "torch": []}
        for r in range(args.rounds):
            order = ("convscope", "torch") if r % 2 == 0 else ("torch", "convscope")
            for library in order:
                runs[library].append(run_child(["--worker", library, str(i), *common], env))
        cs_check, th_check = runs["convscope"][0]["check"], runs["torch"][0]["check"]
        if not all(math.isclose(a, b, rel_tol=1e-3) for a, b in zip(cs_check, th_check)):
            raise RuntimeError(f"{LAYERS[i][0]}: results differ ({cs_check} vs {th_check})")
        med = {lib: {key: statistics.median(run[key] for run in rs)
                     for key in ("forward", "both", "mem_both")} for lib, rs in runs.items()}
        cs, th = med["convscope"], med["torch"]
        fl = flops(LAYERS[i])
        rf, rb = cs["forward"] / th["forward"], cs["both"] / th["both"]
        ratios_f.append(rf)
        ratios_b.append(rb)
        print(f"| {LAYERS[i][0]} | {1e3 * cs['forward']:.2f} | {1e3 * th['forward']:.2f} | "
              f"{rf:.2f}x | {fl / cs['forward'] / 1e9:.0f} | {1e3 * cs['both']:.2f} | "
              f"{1e3 * th['both']:.2f} | {rb:.2f}x | {3 * fl / cs['both'] / 1e9:.0f} | "
              f"{cs['mem_both']:.0f} | {th['mem_both']:.0f} |", flush=True)
    print(f"| **geometric mean** | | | **{geomean(ratios_f):.2f}x** | | | | "
          f"**{geomean(ratios_b):.2f}x** | | | |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
