"""`convscope apply`: a trained model's convolutional part over an image of any size.

Thin: load the run's checkpoint or the model file (`sources.resolve`), take the fully
convolutional part (a chain or a branched graph), read the input lazily, call
`scale.apply_tiled`, write the result block by block.
"""

from __future__ import annotations

import os
import sys
import time

from ._source import MODEL_HELP, add_source_arguments, source_from_args


def register(subparsers) -> None:
    """Add the `apply` subcommand."""
    p = subparsers.add_parser(
        "apply", help="run a trained model's convolutional part over a large image, tiled",
        description="Run the fully convolutional part of a trained model (the layers before "
                    "Flatten / Linear) over an image too large for memory, block by block "
                    "on Dask, with exactly the result of the whole-image run. Reads .npy "
                    "(memory-mapped in each task), Zarr or an image file; writes .npy or "
                    "Zarr (Zarr chunks = the output blocks), atomically.",
        epilog="Input layout: (H, W) or (C, H, W) or (N, C, H, W) for a 2-D model. "
               "Example: convscope apply runs/baseline big.npy features.zarr --workers 2")
    p.add_argument("model", metavar="RUN_OR_MODEL", help=MODEL_HELP)
    p.add_argument("input", metavar="INPUT", help="a .npy file, a .zarr array or an image")
    p.add_argument("output", metavar="OUTPUT", help="a .npy file or a .zarr folder to write")
    p.add_argument("--chunk", type=int, default=2048,
                   help="block size along each spatial axis, rounded up to the model's "
                        "alignment; smaller blocks need less memory per worker (default: "
                        "2048)")
    p.add_argument("--scheduler", metavar="ADDRESS", default=None,
                   help="address of a running Dask scheduler, e.g. tcp://host:8786 "
                        "(default: none: local)")
    p.add_argument("--workers", type=int, default=0, metavar="N",
                   help="start a local cluster of N worker processes (default: 0: Dask's "
                        "threads in this process)")
    p.add_argument("--no-normalize", dest="normalize", action="store_false",
                   help="feed the input as it is (default: scale 8-bit input to [0, 1] and "
                        "normalise with the training data set's mean and std, as in training; "
                        "a model file: with --mean/--std or --dataset's, if given)")
    p.add_argument("--no-progress", dest="progress", action="store_false",
                   help="no progress bar (default: a progress bar on stderr)")
    add_source_arguments(p, images=False, input_shape=False, labels=False)
    p.set_defaults(func=run)


def _normalize(x, source, rank: int):
    """8-bit input to [0, 1], then (x - mean) / std of the source (the run's training data
    set, or a model file's --mean/--std), per channel (the axis before the `rank` spatial
    ones)."""
    import numpy as np

    if x.dtype == np.uint8:
        x = x.astype(np.float32) / 255
    if source.mean is None:
        return x
    mean = np.asarray(source.mean, np.float32).reshape((-1,) + (1,) * rank)
    std = np.asarray(source.std, np.float32).reshape((-1,) + (1,) * rank)
    channels = x.shape[-rank - 1]
    if mean.shape[0] not in (1, channels):
        trained = (f"was trained on {mean.shape[0]}-channel {source.config.dataset}"
                   if source.config is not None else f"has {mean.shape[0]} --mean values")
        raise ValueError(f"apply: the model {trained}, the input has {channels} channels")
    return (x - mean) / std


def run(args) -> int:
    from .._optional import require
    from ..scale import conv_part, io
    from ..scale.cluster import local_cluster
    from ..scale.halo import model_layers, model_rank
    from ..scale.tiled import apply_tiled

    if args.chunk < 1:
        raise ValueError(f"--chunk must be a positive int, got {args.chunk}")
    if args.workers < 0:
        raise ValueError(f"--workers must be >= 0, got {args.workers}")
    if args.scheduler and args.workers:
        raise ValueError("give --scheduler ADDRESS or --workers N, not both")
    if not args.output.rstrip("/").lower().endswith((".npy", ".zarr")):
        raise ValueError(f"OUTPUT must end in .npy or .zarr, got {args.output}")
    if os.path.abspath(args.input) == os.path.abspath(args.output):
        raise ValueError(f"OUTPUT must differ from INPUT, got {args.output} for both")
    if args.output.rstrip("/").lower().endswith(".zarr"):
        require("zarr", "convscope apply (writing a .zarr OUTPUT)")
    source = source_from_args(args, args.model, "apply")
    part = conv_part(source.model)
    rank = model_rank(model_layers(part, "apply"), "apply")
    ndim = io.read_array(args.input).ndim
    if ndim not in (rank, rank + 1, rank + 2):
        raise ValueError(f"INPUT {args.input} has {ndim} dimensions; the model is {rank}-D, "
                         f"so it must have {rank} to {rank + 2}")
    # read in the blocks apply_tiled will use: one image, all channels, chunk x chunk
    leading = (1,) * (ndim - rank - 1) + (-1,) * (ndim > rank)
    x = io.read_array(args.input, chunks=leading + (args.chunk,) * rank)
    if x.ndim == rank:
        x = x[None]
    if args.normalize:
        x = _normalize(x, source, rank)
    client = cluster = None
    try:
        if args.scheduler:
            client = require("distributed", "convscope apply --scheduler").Client(
                args.scheduler)
        elif args.workers:  # one kernel thread and one BLAS thread per worker
            client = local_cluster(args.workers)
            cluster = client.cluster
        y = apply_tiled(part, x, chunks=args.chunk, client=client)
        print(f"apply: {args.input} {tuple(x.shape)} -> {args.output} {tuple(y.shape)} "
              f"{y.dtype}, {y.numblocks} blocks", file=sys.stderr)
        start = time.perf_counter()
        io.write_array(y, args.output, client, progress=args.progress)
        seconds = time.perf_counter() - start
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
    pixels = 1
    for s in x.shape[-rank:]:
        pixels *= s
    print(f"wrote {args.output} in {seconds:.1f} s ({pixels * x.shape[0] / seconds:,.0f} "
          f"input pixels/s)")
    return 0
