"""Single convolution layers, convscope against PyTorch, each library in its own process.

Why separate processes: when both libraries run in one process, whichever runs second waits
on the other's spinning BLAS/OpenMP threads, and single-layer ratios move by 2-10x. Here the
parent starts one short-lived worker per (library, layer, round), alternating which library
goes first from round to round; every worker uses the same number of threads (BLAS, OpenMP
and convscope's own), runs one warm-up call and `--inner` timed calls, and reports their
median and the peak memory the layer added (Linux VmHWM, reset before each measurement).
The parent prints the CPU model and the BLAS kernel (threadpoolctl), then, per layer, the
median over rounds of the times of convscope, PyTorch with NCHW tensors and PyTorch with
channels_last tensors and weights (its fastest CPU layout; oneDNN converts NCHW inputs),
the ratios against both PyTorch columns, GFLOP/s
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
    python benchmarks/conv_layers.py --layers pool,norm,depthwise   # the non-GEMM layers
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

from _machine import blas, cpu_model

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
# (name, operation, batch, channels, spatial size, kernel, stride, padding): not convolutions
OPS = [
    ("max pool 2x2 32 28x28", "max_pool", 128, 32, (28, 28), 2, 2, 0),
    ("max pool 3x3 s2 64 112x112", "max_pool", 8, 64, (112, 112), 3, 2, 1),
    ("avg pool 3x3 s1 p1 64 56x56", "avg_pool", 8, 64, (56, 56), 3, 1, 1),
    ("batch norm + ReLU 64 14x14", "batch_norm_relu", 128, 64, (14, 14), 0, 0, 0),
]
HERE = os.path.dirname(os.path.abspath(__file__))


def out_size(layer):
    if isinstance(layer[1], str):  # OPS
        _, op, _, _, size, k, s, p = layer
        if op == "batch_norm_relu":
            return size
    else:
        _, _, _, _, size, k, s, p, _ = layer
    return tuple((n + 2 * p - k) // s + 1 for n in size)


def layer(index: int):
    """LAYERS, then OPS, by one index."""
    return LAYERS[index] if index < len(LAYERS) else OPS[index - len(LAYERS)]


def flops(layer) -> float:
    """Forward FLOPs of the direct algorithm: one multiply-add per tap per output value
    (NaN for pooling and batch norm)."""
    if isinstance(layer[1], str):
        return float("nan")
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
    """Time one layer in this process: library 'convscope', 'torch' (NCHW tensors) or
    'torch-cl' (channels_last tensors and weights: PyTorch's fastest layout on CPU; 1-D
    layers have none and run NCHW)."""
    if index >= len(LAYERS):
        return op_worker(library, index, inner)
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
        tx, tw, tg = (_torch_layout(torch, torch.from_numpy(a), library) for a in (x, w, gy))

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


def _torch_layout(torch, t, library):
    """t in channels_last memory for 'torch-cl' (4-D and 5-D tensors), else as it is."""
    if library != "torch-cl" or t.dim() < 4:
        return t
    fmt = torch.channels_last if t.dim() == 4 else torch.channels_last_3d
    return t.contiguous(memory_format=fmt)


def op_worker(library: str, index: int, inner: int) -> dict:
    """`worker` for an entry of OPS: max / average pooling or batch norm + ReLU (training
    mode, affine)."""
    from convscope._memory import reuse_freed_memory
    reuse_freed_memory()
    import numpy as np
    name, op, N, C, size, k, s, p = OPS[index - len(LAYERS)]
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, C, *size)).astype(np.float32)
    gamma = rng.random(C).astype(np.float32) + 0.5
    beta = rng.standard_normal(C).astype(np.float32)
    gy = rng.standard_normal((N, C, *out_size(OPS[index - len(LAYERS)]))).astype(np.float32)
    if library == "convscope":
        from convscope import Tensor
        import convscope.functional as F
        fns = {"max_pool": lambda t: F.max_pool2d(t, k, s, p),
               "avg_pool": lambda t: F.avg_pool2d(t, k, s, p),
               "batch_norm_relu": lambda t: F.batch_norm_relu(
                   t, np.zeros(C, np.float32), np.ones(C, np.float32), gamma, beta, True)}
        fn = fns[op]

        def forward():
            return np.asarray(fn(x))

        def both():
            xt = Tensor(x, requires_grad=True)
            fn(xt).backward(gy)
            return (xt.grad,)
    else:
        import torch
        torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
        TF = torch.nn.functional
        tx, tg = (_torch_layout(torch, torch.from_numpy(a), library) for a in (x, gy))
        tgamma, tbeta = torch.from_numpy(gamma), torch.from_numpy(beta)
        fns = {"max_pool": lambda t: TF.max_pool2d(t, k, s, p),
               "avg_pool": lambda t: TF.avg_pool2d(t, k, s, p),
               "batch_norm_relu": lambda t: TF.relu(TF.batch_norm(
                   t, torch.zeros(C), torch.ones(C), tgamma, tbeta, True))}
        fn = fns[op]

        def forward():
            with torch.no_grad():
                return fn(tx).numpy()

        def both():
            xr = tx.detach().requires_grad_()
            fn(xr).backward(tg)
            return (xr.grad.numpy(),)

    tb, mb = _measure(both, inner)
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
    return {"gflops": 2 * n ** 3 / t / 1e9, "blas": blas()}


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
    everything = LAYERS + OPS
    chosen = [i for i, entry in enumerate(everything)
              if not wanted or any(w in entry[0] for w in wanted)]
    if not chosen:
        p.error(f"--layers {args.layers!r} matches none of: "
                + "; ".join(entry[0] for entry in everything))
    env = child_env(args.threads, args.keep_openblas_env)
    common = ["--inner", str(args.inner), "--clock", args.clock]
    if args.algorithm:
        common += ["--algorithm", args.algorithm]
    ceiling = run_child(["--worker", "matmul", "0", *common], env)
    print(f"CPU: {cpu_model()}\nBLAS: {ceiling['blas']}\n")
    print(f"{time.strftime('%Y-%m-%d')}: {args.threads} threads per library, each in its own "
          f"process; {args.clock} time, median over {args.rounds} round(s) of the median of "
          f"{args.inner} calls; "
          f"float32; convscope algorithm={args.algorithm or 'default'}; "
          f"float32 matmul ceiling {ceiling['gflops']:.0f} GFLOP/s. "
          f"Times in ms, memory = peak MiB added by one call. torch: NCHW tensors; torch-cl: "
          f"channels_last tensors and weights (1-D layers: NCHW). Ratios: convscope / "
          f"torch and convscope / torch-cl.\n")
    print("| layer | cs fwd | torch fwd | torch-cl fwd | ratio | ratio cl | cs GFLOP/s | "
          "cs fwd+bwd | torch fwd+bwd | torch-cl fwd+bwd | ratio | ratio cl | cs GFLOP/s | "
          "cs MiB | torch MiB |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    ratios = {"f": [], "b": [], "f_cl": [], "b_cl": []}
    libraries = ("convscope", "torch", "torch-cl")
    for i in chosen:
        runs = {lib: [] for lib in libraries}
        for r in range(args.rounds):
            order = libraries[r % 3:] + libraries[:r % 3]  # who goes first rotates
            for library in order:
                runs[library].append(run_child(["--worker", library, str(i), *common], env))
        cs_check = runs["convscope"][0]["check"]
        for lib in libraries[1:]:
            th_check = runs[lib][0]["check"]
            if not all(math.isclose(a, b, rel_tol=1e-3) for a, b in zip(cs_check, th_check)):
                raise RuntimeError(f"{everything[i][0]}: results differ from {lib}'s "
                                   f"({cs_check} vs {th_check})")
        med = {lib: {key: statistics.median(run[key] for run in rs)
                     for key in ("forward", "both", "mem_both")} for lib, rs in runs.items()}
        cs, th, cl = med["convscope"], med["torch"], med["torch-cl"]
        fl = flops(everything[i])
        rf, rb = cs["forward"] / th["forward"], cs["both"] / th["both"]
        rfc, rbc = cs["forward"] / cl["forward"], cs["both"] / cl["both"]
        for key, v in (("f", rf), ("b", rb), ("f_cl", rfc), ("b_cl", rbc)):
            ratios[key].append(v)
        gf = "-" if math.isnan(fl) else f"{fl / cs['forward'] / 1e9:.0f}"
        gb = "-" if math.isnan(fl) else f"{3 * fl / cs['both'] / 1e9:.0f}"
        print(f"| {everything[i][0]} | {1e3 * cs['forward']:.2f} | {1e3 * th['forward']:.2f} | "
              f"{1e3 * cl['forward']:.2f} | {rf:.2f}x | {rfc:.2f}x | {gf} | "
              f"{1e3 * cs['both']:.2f} | {1e3 * th['both']:.2f} | {1e3 * cl['both']:.2f} | "
              f"{rb:.2f}x | {rbc:.2f}x | {gb} | {cs['mem_both']:.0f} | "
              f"{th['mem_both']:.0f} |", flush=True)
    print(f"| **geometric mean** | | | | **{geomean(ratios['f']):.2f}x** | "
          f"**{geomean(ratios['f_cl']):.2f}x** | | | | | **{geomean(ratios['b']):.2f}x** | "
          f"**{geomean(ratios['b_cl']):.2f}x** | | | |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
