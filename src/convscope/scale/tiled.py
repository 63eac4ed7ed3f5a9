"""`apply_tiled`: a model's fully convolutional part over a Dask array of any size, exactly.

Each block gets its halo from `map_overlap` (boundary='none': nothing is invented at the
image border) and runs the chain layer by layer with the rule of `halo`: at an edge inside
the image a layer computes only the outputs whose windows it holds (no padding there), at
the true border it pads as the whole-image run does. The block then keeps the outputs it
owns, so the blocks of the result fit together with no seam and no blending.
"""

from __future__ import annotations

import numpy as np

from .. import functional as F
from .._optional import require
from .. import nn
from ..autograd import Tensor, no_grad
from .blocks import plan_tiles
from .halo import Pointwise, Transposed, Window, model_layers, model_rank
from .layergraph import as_layer_graph

__all__ = ["apply_tiled", "run_block"]


def _array(value) -> np.ndarray:
    return value.data if isinstance(value, Tensor) else value


def _param(p):
    return None if p is None else p.data


def _flat_pads(pads) -> tuple:
    """Per-axis (before, after) pairs as F.pad's flat list, last axis first."""
    return tuple(v for pair in reversed(pads) for v in pair)


def _run_window(layer: Window, x: np.ndarray, ranges, sizes):
    """One windowed layer on a block holding global positions `ranges` [(s, t), ...] of
    inputs of `sizes` (see `Window.crop`); returns the output and its global ranges."""
    n = len(ranges)
    crops = [layer.crop(axis, s, t, size) for axis, ((s, t), size) in
             enumerate(zip(ranges, sizes))]
    for axis, (c, (s, _)) in enumerate(zip(crops, ranges)):
        if not c.fits:
            raise ValueError(f"apply_tiled: a block holding [{s}, ...) along spatial axis "
                             f"{axis} is too small for layer {layer.name!r}")
    x = x[(slice(None), slice(None), *(slice(c.start - s, c.stop - s)
                                       for c, (s, _) in zip(crops, ranges)))]
    m = layer.module
    if layer.aligned:  # the layer's own symmetric padding on a stride-aligned crop
        y = getattr(F, f"avg_pool{n}d")(x, layer.kernel_size, layer.stride,
                                       tuple(c.before for c in crops), layer.ceil_mode, False)
    else:  # padding at the true border only, then the layer without padding
        if any(c.before or c.after for c in crops):
            mode = layer.padding_mode if layer.kind in ("conv", "pad") else "zeros"
            x = F.pad(x, _flat_pads([(c.before, c.after) for c in crops]),
                      mode="constant" if mode == "zeros" else mode,
                      value=-np.inf if layer.kind == "max" else layer.value)
        if layer.kind == "pad":
            y = x
        elif layer.kind == "conv":
            y = F.conv(x, _param(m.weight), _param(m.bias), layer.stride, 0, layer.dilation,
                       m.groups)
        elif layer.kind == "max":
            y = getattr(F, f"max_pool{n}d")(x, layer.kernel_size, layer.stride, 0,
                                           layer.dilation, layer.ceil_mode)
        else:
            y = getattr(F, f"avg_pool{n}d")(x, layer.kernel_size, layer.stride, 0,
                                           layer.ceil_mode, layer.count_include_pad)
    keep = tuple(slice(c.offset, c.offset + c.hi - c.lo) for c in crops)
    return y[(slice(None), slice(None), *keep)], [(c.lo, c.hi) for c in crops]


def _run_transposed(layer: Transposed, x: np.ndarray, ranges, sizes):
    """A transposed convolution without padding over the whole slice, then the outputs
    whose every input lies in the slice (see `Transposed.valid`)."""
    keep, out, extra = [], [], []
    for axis, ((s, t), size) in enumerate(zip(ranges, sizes)):
        S, pb = layer.stride[axis], layer.pads[axis][0]
        lo, hi = layer.valid(axis, s, t, size)
        first = s * S - pb  # the global output of the crop's position 0
        # at the right border the output may run past the last input's reach (PyTorch's
        # output_padding beyond the padding): those positions hold the bias only
        extra.append(max(layer.output_padding[axis] - layer.pads[axis][1], 0)
                     if t == size else 0)
        keep.append(slice(lo - first, hi - first))
        out.append((lo, hi))
    m = layer.module
    y = F.conv_transpose(x, _param(m.weight), _param(m.bias), layer.stride, 0, tuple(extra),
                         m.groups, layer.dilation)
    return y[(slice(None), slice(None), *keep)], out


def run_block(layers, x: np.ndarray, ranges, shape) -> tuple[np.ndarray, list]:
    """Run a chain of layers or a branched graph (`model_layers`) on one block.

    Args:
        layers: the chain, or a `LayerGraph`.  x: (N, C, *spatial), the block with its halo.
        ranges: per spatial axis the global input positions [s, t) that x holds.
        shape: the whole input's spatial shape.

    A layer that joins tensors (`nn.Add`, `nn.Mul`, `nn.Concat`) gets each of them cropped
    to the positions all of them hold. Returns the block's exact outputs and their global
    ranges per axis.
    """
    graph = as_layer_graph(layers)
    last = graph.last_reads()
    # per tensor: the array, its global ranges per axis and its spatial sizes
    values = [(x, [tuple(r) for r in ranges], list(shape))] + [None] * len(graph)
    with no_grad():
        for k, layer in enumerate(graph):
            reads = graph.reads[k]
            x, ranges, sizes = values[reads[0]]
            if len(reads) > 1:
                ranges = [graph.joined([values[i][1][axis] if i in reads else None
                                        for i in range(len(values))], k)
                          for axis in range(len(ranges))]
                xs = [_crop(values[i][0], values[i][1], ranges) for i in reads]
                x = _array(layer.module(*xs))
            elif isinstance(layer, Pointwise):
                x = _array(layer.module(x))
            else:
                run = _run_window if isinstance(layer, Window) else _run_transposed
                new_sizes = [layer.out_size(axis, n) for axis, n in enumerate(sizes)]
                x, ranges = run(layer, x, ranges, sizes)
                sizes = new_sizes
            values[k + 1] = (x, ranges, sizes)
            for i in set(reads):
                if last[i] == k:
                    values[i] = None
    x, ranges, _ = values[-1]
    return x, ranges


def _crop(x: np.ndarray, have, want) -> np.ndarray:
    """The part of block `x` (holding global ranges `have` per axis) at ranges `want`."""
    return x[(slice(None), slice(None), *(slice(a - s, e - s) for (s, _), (a, e) in
                                          zip(have, want)))]


def _block(x, layers=None, plan=None, cast=None, block_id=None):
    """The map_overlap task: block `block_id` of the overlapped input -> its owned output."""
    spatial = block_id[2:]
    ranges = [plan.block_slice(axis, k) for axis, k in enumerate(spatial)]
    got = x.shape[2:]
    if got != tuple(t - s for s, t in ranges):
        raise RuntimeError(f"apply_tiled: block {block_id} arrived with spatial shape {got}, "
                           f"expected the slices {ranges}")
    y, out = run_block(layers, np.asarray(x, dtype=cast), ranges, plan.shape)
    keep = []
    for axis, (k, (lo, hi)) in enumerate(zip(spatial, out)):
        a, e = plan.out_starts[axis][k], plan.out_starts[axis][k + 1]
        if not lo <= a <= e <= hi:
            raise RuntimeError(f"apply_tiled: block {block_id} computed outputs [{lo}, {hi}) "
                               f"along spatial axis {axis} but owns [{a}, {e})")
        keep.append(slice(a - lo, e - lo))
    return y[(slice(None), slice(None), *keep)]


def _dtype(model, image) -> np.dtype:
    """The model's float type (its parameters'), else the image's if it is a float."""
    for p in model.parameters():
        return p.data.dtype
    if image.dtype in (np.float32, np.float64):
        return np.dtype(image.dtype)
    return np.dtype(np.float32)


def _out_channels(layers, channels: int) -> int:
    """Channels of the output: a convolution sets them, a concatenation adds its inputs',
    pooling, activations, batch norm and elementwise joins keep them."""
    graph = as_layer_graph(layers)
    counts = [channels]
    for layer, reads in zip(graph, graph.reads):
        m = layer.module
        if isinstance(m, nn.Concat):
            counts.append(sum(counts[i] for i in reads))
        elif hasattr(m, "out_channels"):
            counts.append(m.out_channels)
        else:
            counts.append(max(counts[i] for i in reads))
    return counts[-1]


def apply_tiled(model, image, chunks=2048, client=None, **overrides):
    """Run a model's fully convolutional part over a Dask array block by block, exactly.

    The result equals ``model(image)`` on the whole image (to rounding: each output is the
    same sum; exactly with integer-valued float64 data), whatever the size.

    Args:
        model: an nn.Sequential of convolutions (any padding mode; circular needs one block
            along its axes), transposed convolutions, max / average pooling (ceil_mode and
            count_include_pad included), padding, activations, batch norm and dropout in
            eval mode; or a branched `nn.Graph` of these with one input and one output,
            joined by `nn.Add`, `nn.Mul` and `nn.Concat` (along channels): its halo is the
            union over every path (`LayerGraph.need`).
            Flatten, Linear, global pooling and batch norm in training mode raise a
            NotTileableError naming the layer (see `conv_part`).
        image: a Dask or NumPy array (N, C, *spatial) or (C, *spatial).
        chunks: block size per spatial axis (int or one per axis, default 2048), rounded up
            to a multiple of the alignment A and to at least the halo.
        client: a distributed.Client: the model is sent to its workers once (scattered)
            instead of inside every task. Without it the array computes on any scheduler
            (Dask's local threads by default).
        overrides: `halo=` or `starts=` for `plan_tiles` (to study what fails).

    Returns:
        A lazy Dask array (N, C_out, *out_spatial) (or without N, as the input), chunked
        as the plan's owned output blocks; its shape and chunks are those computed.

    Example:
        >>> import numpy as np
        >>> from convscope import nn
        >>> model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        >>> x = np.random.default_rng(0).standard_normal((1, 1, 50, 37)).astype(np.float32)
        >>> y = apply_tiled(model, x, chunks=16)
        >>> y.chunks[2:]
        ((8, 8, 9), (8, 10))
        >>> bool(np.allclose(y.compute(), model(x).data, atol=1e-6))
        True
    """
    da = require("dask.array", "apply_tiled")
    func = "apply_tiled"
    layers = model_layers(model, func)
    rank = model_rank(layers, func)
    if not hasattr(image, "ndim") or not hasattr(image, "shape"):
        raise TypeError(f"{func}: image must be a Dask or NumPy array, got "
                        f"{type(image).__name__}")
    if image.ndim not in (rank + 1, rank + 2):
        raise ValueError(f"{func}: the model has {rank} spatial dimensions, so image must "
                         f"be (N, C, *spatial) or (C, *spatial) with {rank + 2} or "
                         f"{rank + 1} dimensions, got shape {tuple(image.shape)}")
    if any(s == 0 for s in image.shape):
        raise ValueError(f"{func}: image has an empty dimension, shape {tuple(image.shape)}")
    batched = image.ndim == rank + 2
    x = image if isinstance(image, da.Array) else da.from_array(image, chunks=-1)
    if not batched:
        x = x[None]
    first = next((layer.module for layer in layers if hasattr(layer.module, "in_channels")),
                 None)
    if first is not None and x.shape[1] != first.in_channels:
        raise ValueError(f"{func}: the model's first convolution wants "
                         f"{first.in_channels} channels, got image with {x.shape[1]} "
                         f"(shape {tuple(image.shape)})")
    dtype = _dtype(model, image)
    plan = plan_tiles(layers, tuple(x.shape[2:]), chunks, func=func, **overrides)
    x = x.rechunk((x.chunks[0], -1, *plan.chunks))
    out_channels = _out_channels(layers, x.shape[1])
    depth = {0: 0, 1: 0}
    for axis, (halo, starts) in enumerate(zip(plan.halo, plan.starts)):
        depth[axis + 2] = (0, 0) if len(starts) == 2 else tuple(halo)
    if client is not None:
        [layers] = client.scatter([layers], broadcast=True)
    out_chunks = (x.chunks[0], (out_channels,), *plan.out_chunks)
    y = da.map_overlap(_block, x, depth=depth, boundary="none", trim=False,
                       allow_rechunk=False, chunks=out_chunks, dtype=dtype,
                       meta=np.empty((0,) * x.ndim, dtype=dtype),
                       layers=layers, plan=plan, cast=dtype)
    return y if batched else y[0]
