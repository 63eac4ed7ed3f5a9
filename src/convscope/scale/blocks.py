"""The block layout: where the blocks start, what each one owns, and a check of every block.

`plan_tiles` turns the chain's geometry (`halo.tile_geometry`) into block starts (multiples
of the alignment A, at least as large as the halo, a short last block joined to its
neighbour) and checks, before anything runs, that each block's slice computes exactly the
outputs it owns (`halo` explains the rule); a block that cannot raises a ValueError naming
it. Output unit o belongs to the block that holds input position o * J.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction

from .halo import AxisGeometry, Window, ceil_div, tile_geometry
from .layergraph import as_layer_graph

__all__ = ["TilePlan", "plan_tiles"]


def _tuple(value, n: int) -> tuple:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * n


@dataclass(frozen=True)
class TilePlan:
    """Where the blocks are, per spatial axis.

    Attributes:
        shape: the input's spatial shape.  out_shape: the output's.
        starts: per axis the block starts in the input, then the input size.
        out_starts: per axis the first output each block owns, then the output size.
        halo: per axis (left, right).  geometry: per axis `AxisGeometry`.
    """

    shape: tuple
    out_shape: tuple
    starts: tuple
    out_starts: tuple
    halo: tuple
    geometry: tuple = field(repr=False)

    @property
    def chunks(self) -> tuple:
        return tuple(tuple(b - a for a, b in zip(s, s[1:])) for s in self.starts)

    @property
    def out_chunks(self) -> tuple:
        return tuple(tuple(b - a for a, b in zip(s, s[1:])) for s in self.out_starts)

    def block_slice(self, axis: int, k: int) -> tuple[int, int]:
        """The input positions [s, t) block k holds along `axis`, halo included."""
        return _block_slice(self.starts[axis], self.halo[axis], k)


def _block_slice(bounds, halo, k: int) -> tuple[int, int]:
    """[s, t) of block k for block bounds (starts, then the size) and a (left, right) halo;
    a lone block borrows nothing."""
    n = bounds[-1]
    if len(bounds) == 2:
        return 0, n
    return max(bounds[k] - halo[0], 0), min(bounds[k + 1] + halo[1], n)


def _owned(start: int, jump: Fraction) -> int:
    """The first output whose anchor o*J lies at or after input `start`."""
    return math.ceil(Fraction(start) / jump)


def plan_tiles(layers, shape, chunks, *, halo=None, starts=None,
               func: str = "plan_tiles") -> TilePlan:
    """Lay blocks over an input of spatial `shape` for a chain of layers or a branched graph.

    Args:
        layers: `model_layers(model)` (a list, or a `LayerGraph`).
        shape: the spatial input shape.
        chunks: the wished block size, an int or one per axis; rounded up to a multiple of
            the alignment and to at least the halo; a last block shorter than half of it
            joins its neighbour.
        halo, starts: override the derived halo ((left, right) per axis) or the block starts
            (per axis, from 0, without the end) -- to show that less does not work.

    Every block is checked: its slice must compute the outputs it owns exactly, else a
    ValueError says which block and how much it lacks.
    """
    ndim = len(shape)
    layers = as_layer_graph(layers)
    geometry = tile_geometry(layers, ndim)
    chunks = _tuple(chunks, ndim)
    if len(chunks) != ndim or not all(isinstance(c, int) and c >= 1 for c in chunks):
        raise ValueError(f"{func}: chunks must be a positive int or {ndim} positive ints "
                         f"(one per spatial axis), got chunks={chunks!r}")
    halos = tuple(g.halo for g in geometry) if halo is None else tuple(map(tuple, halo))
    all_starts, all_out, out_shape = [], [], []
    for axis, (g, n, c) in enumerate(zip(geometry, shape, chunks)):
        sizes = layers.sizes(axis, n, func)
        if starts is None:
            A = g.alignment
            step = max(A * ceil_div(c, A), A * ceil_div(max(halos[axis] + (A,)), A))
            while True:
                bounds, owned, failure = _axis_blocks(layers, sizes, g, halos[axis], step)
                _check_circular(layers, axis, len(bounds) - 1, n, func)
                # a block at the border too small for a layer there, or one that owns only
                # outputs no input reaches (output_padding), joins its neighbour; one block
                # spanning the axis cannot grow further (its failure is raised below)
                if (failure is None or halo is not None or len(bounds) == 2
                        or failure[0] not in (0, len(bounds) - 2)):
                    break
                step = min(2 * step, A * ceil_div(n, A))
        else:
            bounds, owned, failure = _axis_blocks(layers, sizes, g, halos[axis], None,
                                                  tuple(starts[axis]))
        if failure is not None:
            raise ValueError(f"{func}: along spatial axis {axis}, {failure[1]}")
        _check_circular(layers, axis, len(bounds) - 1, n, func)
        all_starts.append(bounds)
        all_out.append(owned)
        out_shape.append(sizes[-1])
    return TilePlan(tuple(shape), tuple(out_shape), tuple(all_starts), tuple(all_out),
                    halos, geometry)


def _axis_blocks(layers, sizes, g: AxisGeometry, halo, step, starts=None):
    """Block bounds, owned output starts and the first failing block (index, why) or None,
    along one axis of input size sizes[0]."""
    n, n_out = sizes[0], sizes[-1]
    if starts is None:
        starts = list(range(0, n, step))
        least = max(halo + (g.alignment, step // 2))
        # a last block shorter than half a block (or than the halo), or one owning no
        # output, joins its neighbour
        while len(starts) > 1 and (n - starts[-1] < least or _owned(starts[-1], g.jump)
                                   >= n_out):
            starts.pop()
    bounds = tuple(starts) + (n,)
    owned = tuple(_owned(b, g.jump) for b in starts) + (n_out,)
    for k in range(len(starts)):
        s, t = _block_slice(bounds, halo, k)
        lo, hi, why = _block_chain(layers, sizes, s, t, g)
        if why is None and not (lo <= owned[k] and owned[k + 1] <= hi):
            why = (f"block {k} holds inputs [{s}, {t}) and can compute outputs "
                   f"[{lo}, {hi}) exactly, but owns [{owned[k]}, {owned[k + 1]}): the halo "
                   f"{tuple(halo)} is too small or the block start is off the alignment "
                   f"{g.alignment}")
        elif why is not None:
            why = f"block {k} (inputs [{s}, {t}) of {n}) {why}; use larger chunks"
        if why is not None:
            return bounds, owned, (k, why)
    return bounds, owned, None


def _block_chain(layers, sizes, s: int, t: int, g) -> tuple[int, int, str | None]:
    """The exact outputs [lo, hi) of a block holding inputs [s, t), or why it cannot run.
    `layers` is a `LayerGraph`, `sizes` its tensors' sizes: a layer that joins tensors
    computes the positions all of them hold."""
    axis = g.axis
    ranges = [(s, t)]
    for k, layer in enumerate(layers):
        s, t = layers.joined(ranges, k)
        n = sizes[layers.reads[k][0]]
        if t <= s:
            ranges.append((s, s))
            continue
        if isinstance(layer, Window):
            crop = layer.crop(axis, s, t, n)
            if not crop.fits:
                return s, s, f"is too small for layer {layer.name!r} there"
            ranges.append((crop.lo, crop.hi))
        else:
            ranges.append(layer.valid(axis, s, t, n))
    return (*ranges[-1], None)


def _check_circular(layers, axis: int, blocks: int, n: int, func: str) -> None:
    for layer in layers:
        if (isinstance(layer, Window) and layer.padding_mode == "circular"
                and any(layer.pads[axis]) and blocks > 1):
            raise ValueError(
                f"{func}: layer {layer.name!r} pads circularly, wrapping spatial axis {axis} "
                f"around the image, so it can be tiled only with one block along that axis; "
                f"got {blocks} blocks: use a chunk of at least {n} there")
