"""A branched model's tileable part as a graph of interval maps: which layer reads which.

A chain is the special case where every layer reads the one before. In a branched model
(an `nn.Graph`: residual additions, concatenations, a tensor read by several layers) a
tensor's needed range is the **union over paths**: back from the output, every reader asks
its input for the positions it needs (`need`), and a tensor read by several layers must
hold the widest of their requests. Forward, a layer that joins tensors (`Add`, `Mul`,
`Concat` along channels) can compute only the positions every operand holds, so its
operands are cropped to the intersection of their ranges. The same rule keeps a tiled run
exact, as for a chain (see `halo`).

Tensors are numbered: 0 is the input, k + 1 the output of layer k; the last layer's output
is the graph's output (every other layer feeds it).

Example:
    >>> from convscope.scale.halo import Pointwise
    >>> g = LayerGraph([Pointwise("a", None), Pointwise("b", None), Pointwise("add", None)],
    ...                [(0,), (1,), (1, 2)])
    >>> g.need(0, 10, 20), g.reads[2]
    ((10, 20), (1, 2))
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction

__all__ = ["LayerGraph", "as_layer_graph"]


class LayerGraph(Sequence):
    """Interval maps in topological order (a sequence of them) and the tensors each reads.

    Args:
        layers: the interval maps (`halo.Window`, `halo.Transposed`, `halo.Pointwise`).
        reads: per layer the tensor numbers it reads (0 = the input, k + 1 = layer k's
            output), each smaller than its own number: a topological order.
    """

    def __init__(self, layers, reads):
        layers, reads = list(layers), [tuple(r) for r in reads]
        if len(layers) != len(reads):
            raise ValueError(f"LayerGraph: {len(layers)} layers but {len(reads)} read lists")
        for k, r in enumerate(reads):
            if not r or any(not isinstance(i, int) or not 0 <= i <= k for i in r):
                raise ValueError(f"LayerGraph: layer {k} must read tensors among 0..{k} (the "
                                 f"input and earlier layers), got {r}")
        self.layers = tuple(layers)
        self.reads = tuple(reads)

    @classmethod
    def chain(cls, layers) -> "LayerGraph":
        """Each layer reads the one before."""
        layers = list(layers)
        return cls(layers, [(k,) for k in range(len(layers))])

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, index):
        return self.layers[index]

    def __repr__(self) -> str:
        names = ["input"] + [layer.name for layer in self.layers]
        return "LayerGraph(" + ", ".join(
            f"{layer.name}({', '.join(names[i] for i in r)})"
            for layer, r in zip(self.layers, self.reads)) + ")"

    @property
    def is_chain(self) -> bool:
        return all(r == (k,) for k, r in enumerate(self.reads))

    def last_reads(self) -> list[int]:
        """Per tensor the last layer that reads it (-1: none, the output)."""
        last = [-1] * (len(self.layers) + 1)
        for k, r in enumerate(self.reads):
            for i in r:
                last[i] = k
        return last

    def sizes(self, axis: int, n: int, func: str) -> list[int]:
        """Per tensor its size along `axis` for an input of size `n`; a ValueError naming
        the layer for a join of tensors of different sizes and for what the whole-image run
        refuses (no output, a reflection or a wrap longer than the map the layer gets)."""
        from .halo import Window

        sizes = [n]
        for layer, r in zip(self.layers, self.reads):
            got = {sizes[i] for i in r}
            if len(got) != 1:
                raise ValueError(f"{func}: layer {layer.name!r} joins tensors of sizes "
                                 f"{[sizes[i] for i in r]} along spatial axis {axis}")
            m = sizes[r[0]]
            if isinstance(layer, Window) and layer.padding_mode in ("reflect", "circular"):
                pads = layer.pads[axis]
                reflect = layer.padding_mode == "reflect"
                if (max(pads) >= m) if reflect else (max(pads) > m):
                    rule = "smaller than" if reflect else "at most"
                    raise ValueError(
                        f"{func}: layer {layer.name!r} pads by {layer.padding_mode} padding "
                        f"{tuple(pads)} along spatial axis {axis}, which must be {rule} the "
                        f"map it gets, got a map of {m} (input size {n}); give a larger "
                        f"input or less padding")
            try:
                sizes.append(layer.out_size(axis, sizes[r[0]]))
            except ValueError as exc:
                raise ValueError(f"{func}: layer {layer.name!r} gets no output from an input "
                                 f"of {sizes[r[0]]} along spatial axis {axis} ({exc})") from None
        return sizes

    def jumps(self, axis: int, func: str) -> list[Fraction]:
        """Per tensor the input positions per position along `axis` (the cumulative stride;
        a fraction after upsampling). Every path into a join must agree: otherwise the
        blocks could not share one alignment (a ValueError naming the layer)."""
        jumps = [Fraction(1)]
        for layer, r in zip(self.layers, self.reads):
            got = {jumps[i] for i in r}
            if len(got) != 1:
                raise ValueError(f"{func}: layer {layer.name!r} joins paths with different "
                                 f"strides ({', '.join(str(jumps[i]) for i in r)} input "
                                 f"positions per position) along spatial axis {axis}, so no "
                                 f"block layout fits both")
            jumps.append(jumps[r[0]] * layer.scale(axis))
        return jumps

    def alignment(self, axis: int, func: str) -> int:
        """The least common multiple of every tensor's cumulative stride numerator."""
        return math.lcm(*(j.numerator for j in self.jumps(axis, func)))

    def need(self, axis: int, a: int, e: int) -> tuple[int, int]:
        """The input positions [s, t) the outputs [a, e) need, away from the borders: the
        union over every path of each layer's `need`."""
        needs: list = [None] * (len(self.layers) + 1)
        needs[-1] = (a, e)
        for k in range(len(self.layers) - 1, -1, -1):
            if needs[k + 1] is None:
                continue
            s, t = self.layers[k].need(axis, *needs[k + 1])
            for i in self.reads[k]:
                old = needs[i]
                needs[i] = (s, t) if old is None else (min(old[0], s), max(old[1], t))
        return needs[0] if needs[0] is not None else (a, e)

    def joined(self, ranges, k: int) -> tuple[int, int]:
        """The positions [s, t) every tensor layer k reads holds: the intersection."""
        got = [ranges[i] for i in self.reads[k]]
        return max(s for s, _ in got), min(t for _, t in got)


def as_layer_graph(layers) -> LayerGraph:
    """`layers` itself when a LayerGraph, else the chain of the sequence `layers`."""
    return layers if isinstance(layers, LayerGraph) else LayerGraph.chain(layers)
