"""Tiled inference at scale: the default model's convolutional part over a 16,384 x 16,384
image (and a 1-D signal and a 3-D volume), on a LocalCluster of 1 and 2 worker processes.

For each case and worker count it writes the input as a .npy file, runs `convscope apply`'s
path (`scale.io.read_array` -> `scale.apply_tiled` -> `scale.io.write_array` to .npy) and
reports:

- pixels per second (input pixels over the wall time of the tiled run and the write),
- each worker's peak memory (the worker process's peak resident set, `ru_maxrss`, read in
  the worker after the run) against the input's and the output's size,
- the halo overhead per axis, (c + left + right) / c for an interior block of size c, and
  the read amplification: the inputs all blocks read (halos included) over the input size,
- that the tiled output equals the whole-image output on a corner small enough to run whole.

Usage:
    python benchmarks/scale.py                        # the full run (16k x 16k; long)
    python benchmarks/scale.py --quick                # small sizes, a minute or two
    python benchmarks/scale.py --size 4096 --workers 1 2 --chunk 1024 --json out.json
    python benchmarks/scale.py --cases 2d --workers 2      # the 16k image, 2 workers only

The model: the trained run in runs/baseline when it exists (--checkpoint), else the
default `fashion_cnn` with seeded random weights (the speed does not depend on the values).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time

import numpy as np

from convscope import models, nn
from convscope.scale import apply_tiled, conv_part, io, model_layers, plan_tiles


def _peak_rss_mib() -> float:
    """This process's peak resident set size, VmHWM of /proc/self/status (ru_maxrss would
    carry the parent's peak across the fork + exec that starts a worker)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _default_model(checkpoint):
    if checkpoint and os.path.exists(checkpoint):
        from convscope import training
        model = training.model_from_checkpoint(training.load_checkpoint(checkpoint))
        return conv_part(model.eval()), "fashion_cnn (trained, runs/baseline)"
    model = models.fashion_cnn(rng=np.random.default_rng(0))
    return conv_part(model.eval()), "fashion_cnn (seeded random weights)"


def _signal_model():
    model = models.signal_cnn(rng=np.random.default_rng(0))
    return conv_part(model.eval()), "signal_cnn"


def _volume_model():
    rng = np.random.default_rng(0)
    layers, c = [], 1
    for w in (8, 16):  # fashion_cnn's block in 3-D: conv 3 'same' -> pool 2 -> BN -> ReLU
        layers += [nn.Conv3d(c, w, 3, padding=1, bias=False, rng=rng), nn.MaxPool3d(2),
                   nn.BatchNorm3d(w), nn.ReLU()]
        c = w
    return nn.Sequential(*layers).eval(), "3-D conv stack (1 -> 8 -> 16)"


def _write_input(path, shape, chunk_rows=256, seed=0):
    """A random float32 .npy of `shape` (C, *spatial), written a slab at a time."""
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=shape)
    rng = np.random.default_rng(seed)
    for start in range(0, shape[1], chunk_rows):
        stop = min(start + chunk_rows, shape[1])
        out[:, start:stop] = rng.standard_normal((shape[0], stop - start) + shape[2:],
                                                 dtype=np.float32)
    out.flush()
    del out


def _worker_peak():
    return _peak_rss_mib()


def run_case(name, model, shape, chunk, workers, folder, progress):
    """One case on a fresh LocalCluster of `workers` processes; returns the row."""
    from distributed import Client, LocalCluster
    path = os.path.join(folder, f"{name}-in.npy")
    if not os.path.exists(path):
        _write_input(path, shape)
    out = os.path.join(folder, f"{name}-out.npy")
    rank = len(shape) - 1
    plan = plan_tiles(model_layers(model), shape[1:], chunk)
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                           dashboard_address=":0", worker_dashboard_address=":0",
                           memory_limit=0)
    client = Client(cluster)
    try:
        baseline = client.run(_worker_peak)
        x = io.read_array(path, chunks=(-1,) + (chunk,) * rank)
        y = apply_tiled(model, x, chunks=chunk, client=client)
        start = time.perf_counter()
        io.write_array(y, out, client, progress=progress)
        seconds = time.perf_counter() - start
        peaks = client.run(_worker_peak)
    finally:
        client.close()
        cluster.close()
    pixels = int(np.prod(shape[1:]))
    in_mib = pixels * shape[0] * 4 / 2 ** 20
    out_mib = int(np.prod(y.shape)) * 4 / 2 ** 20
    overhead, reads = [], 0
    for axis, (chunks, (left, right)) in enumerate(zip(plan.chunks, plan.halo)):
        c = chunks[0]
        overhead.append(round((c + left + right) / c, 4) if len(chunks) > 1 else 1.0)
    for index in np.ndindex(*(len(c) for c in plan.chunks)):
        size = 1
        for axis, k in enumerate(index):
            s, t = plan.block_slice(axis, k)
            size *= t - s
        reads += size
    check = _check_corner(model, path, shape, chunk)
    os.remove(out)
    return {
        "case": name, "input_shape": list(shape), "output_shape": list(y.shape),
        "chunk": chunk, "blocks": [len(c) for c in plan.chunks], "workers": workers,
        "seconds": round(seconds, 2), "pixels_per_second": round(pixels / seconds),
        "input_mib": round(in_mib, 1), "output_mib": round(out_mib, 1),
        "worker_peak_mib": [round(p, 1) for p in peaks.values()],
        "worker_start_mib": [round(p, 1) for p in baseline.values()],
        "halo": [list(h) for h in plan.halo], "alignment": [g.alignment for g in plan.geometry],
        "halo_overhead_per_axis": overhead, "read_amplification": round(reads / pixels, 4),
        "corner_max_abs_diff": check,
    }


def _check_corner(model, path, shape, chunk):
    """Tiled (blocks of chunk / 2) == whole on a corner of 1.5 blocks a side (float32)."""
    side = tuple(min(s, chunk + chunk // 2) for s in shape[1:])
    corner = np.load(path, mmap_mode="r")[(slice(None),) + tuple(slice(0, s) for s in side)]
    corner = np.array(corner)[None]
    whole = model(corner)
    whole = getattr(whole, "data", whole) if not isinstance(whole, np.ndarray) else whole
    tiled = apply_tiled(model, corner, chunks=chunk // 2).compute(scheduler="threads")
    return float(np.max(np.abs(tiled - whole)))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=16384,
                        help="side of the 2-D image (default: 16384)")
    parser.add_argument("--size-1d", type=int, default=2 ** 24,
                        help="length of the 1-D signal (default: 16777216)")
    parser.add_argument("--size-3d", type=int, default=256,
                        help="side of the 3-D volume (default: 256)")
    parser.add_argument("--chunk", type=int, default=512,
                        help="2-D block side (default: 512: a worker peaks near 0.2 GiB with "
                             "the default model); 1-D uses chunk^2 / 4, 3-D chunk / 16")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2],
                        help="worker counts to run (default: 1 2)")
    parser.add_argument("--cases", nargs="+", default=["2d", "1d", "3d"],
                        choices=["2d", "1d", "3d"], help="cases (default: all)")
    parser.add_argument("--checkpoint", default="runs/baseline",
                        help="trained run for the 2-D model (default: runs/baseline, "
                             "random weights if missing)")
    parser.add_argument("--quick", action="store_true",
                        help="small sizes unless given: 2-D 2048, 1-D 2^20, 3-D 64 "
                             "(default: off)")
    parser.add_argument("--dir", default=None,
                        help="folder for the input and output files (default: a temporary "
                             "folder, removed after)")
    parser.add_argument("--json", default=None, help="write the rows here (default: none)")
    parser.add_argument("--no-progress", dest="progress", action="store_false",
                        help="no progress bars (default: shown)")
    args = parser.parse_args(argv)
    if args.quick:  # small defaults; sizes given on the command line still win
        for name, small in (("size", 2048), ("size_1d", 2 ** 20), ("size_3d", 64)):
            if getattr(args, name) == parser.get_default(name):
                setattr(args, name, small)
    cases = {
        "2d": (_default_model(args.checkpoint), (1, args.size, args.size), args.chunk),
        "1d": (_signal_model(), (1, args.size_1d), args.chunk ** 2 // 4),
        "3d": (_volume_model(), (1,) + (args.size_3d,) * 3, max(args.chunk // 16, 16)),
    }
    rows = []
    with tempfile.TemporaryDirectory(dir=args.dir) as folder:
        for name in args.cases:
            (model, label), shape, chunk = cases[name]
            print(f"== {name}: {label}, input {shape}, chunk {chunk}", file=sys.stderr)
            for workers in args.workers:
                row = run_case(name, model, shape, chunk, workers, folder, args.progress)
                row["model"] = label
                rows.append(row)
                print(json.dumps(row), flush=True)
            os.remove(os.path.join(folder, f"{name}-in.npy"))
    print()
    print(table(rows))
    if args.json:
        from convscope.io import atomic_write_text
        atomic_write_text(args.json, json.dumps(rows, indent=1) + "\n")


def table(rows) -> str:
    """The rows as the README's Markdown table."""
    lines = ["| case | input | chunk | workers | blocks | s | Mpixel/s | input MiB | "
             "output MiB | peak MiB per worker | halo (c+h)/c per axis | reads | "
             "max abs diff |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['case']} | {'x'.join(map(str, r['input_shape'][1:]))} | {r['chunk']} | "
            f"{r['workers']} | "
            f"{'x'.join(map(str, r['blocks']))} | {r['seconds']} | "
            f"{r['pixels_per_second'] / 1e6:.2f} | {r['input_mib']:,.0f} | "
            f"{r['output_mib']:,.0f} | {', '.join(f'{p:,.0f}' for p in r['worker_peak_mib'])}"
            f" | {', '.join(map(str, r['halo_overhead_per_axis']))} | "
            f"{r['read_amplification']} | {r['corner_max_abs_diff']:.1e} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
