"""The tiling arithmetic: which layers can be tiled, their interval maps, the halo, the alignment.

A model's fully convolutional part is a chain of layers, each of which maps a range of
positions of its input to a range of positions of its output, axis by axis. Running a block
of the image through the chain equals running the whole image when

1. every layer, at a block edge **inside** the image, sees the real neighbouring values the
   whole-image run sees there (the block carries a halo of neighbours), and computes only
   the outputs whose windows lie inside what it holds (no padding at an interior edge), and
2. every layer, at the **true** image border, pads exactly as the whole-image run does
   (zeros, reflect, replicate; circular only when one block spans the axis).

This module holds the per-axis interval arithmetic behind that rule (`Window`,
`Transposed`, `Pointwise`) and the geometry of a chain (`tile_geometry`: receptive field r,
jump J, effective padding P, alignment A, halo); `blocks.plan_tiles` lays the blocks out
and `tiled.apply_tiled` runs them.

The rule, per axis, for a layer with kernel K, stride S, dilation d and padding (p_b, p_a)
(span k = d(K-1) + 1) that holds the positions [s, t) of its input, out of [0, n):

    first output  lo = 0                      at the left border (s = 0; pad p_b there)
                     = ceil((s + p_b) / S)    inside (window lo starts at lo*S - p_b >= s)
    last output+1 hi = n_out                  at the right border (t = n; pad p_a there)
                     = floor((t + p_b - k) / S) + 1   inside (window ends <= t)

Back through the chain, one block's outputs [a, e) need the inputs [a*J - P, (e-1)*J - P + r)
(Araujo et al.'s field of unit i starts at i*J - P and is r long), so with block starts
b that are multiples of J the halo is exactly

    left  = P,        right = max(r - J - P, 0)

and one pixel less on either side loses the block's first or last output. Block starts are
multiples of the alignment A, the least common multiple of the cumulative strides of all
layers (for a chain of downsampling layers, the largest one, J itself): then every block
boundary falls on a whole position of every layer, and every block needs the same halo.
(Rounding the left halo up to A, or taking r - 1 - P on the right, also works but reads
more than needed: the blocks here start their crop anywhere, only their *ownership*
boundaries must be aligned.)

Transposed convolutions (upsampling: a fractional jump) and average pooling that excludes
its padding from the divisor (`count_include_pad=False` with padding; computed with the
layer's own symmetric padding on a stride-aligned crop) follow the same interval rule with
their own formulas (`Transposed.valid`, `Window.valid`); `tile_geometry` derives their halo
by running the exact back-propagation of needed ranges (`need`) through the chain.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from fractions import Fraction
from typing import NamedTuple

from .. import arith, nn
from .layergraph import LayerGraph, as_layer_graph

__all__ = ["Window", "Transposed", "Pointwise", "model_layers", "conv_part", "AxisGeometry",
           "tile_geometry", "NotTileableError", "Crop", "model_rank", "ceil_div"]

_POINTWISE = (nn.ReLU, nn.LeakyReLU, nn.GELU, nn.Sigmoid, nn.Tanh, nn.Identity, nn.Dropout,
              nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.Clip, nn.Hardsigmoid,
              nn.Hardswish)
# positionwise when they act along channels / broadcast a per-channel constant (checked)
_JOINS = (nn.Add, nn.Mul, nn.Concat, nn.Softmax)
_CONVS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
_CONV_TS = (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)
_MAX = (nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d)
_AVG = (nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d)


class NotTileableError(ValueError):
    """A layer of the model mixes positions across the whole image (or is random), so no
    block can compute its part of the output alone."""


def ceil_div(a: int, b: int) -> int:
    """ceil(a / b) for ints, exactly."""
    return -(-a // b)


def _tuple(value, n: int) -> tuple:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * n


def _rank_of_name(module) -> int:
    """1, 2 or 3 from a class named ...1d / ...2d / ...3d."""
    return int(type(module).__name__[-2])


# -- layers as interval maps -------------------------------------------------------------------
class Crop(NamedTuple):
    """One windowed layer's work on one block along one axis (global positions).

    The block uses its inputs [start, stop), pads them by (before, after), runs the layer
    without further padding (or, `Window.aligned`, with its own) and keeps its outputs from
    `offset` on: the global outputs [lo, hi). `fits` is False when the block is too small
    for the layer there (a reflection longer than the crop, a window longer than it).
    """

    start: int
    stop: int
    before: int
    after: int
    lo: int
    hi: int
    offset: int
    fits: bool


@dataclass(frozen=True)
class Pointwise:
    """A layer that keeps every position (activation, batch norm in eval mode, dropout in
    eval mode, softmax over channels) or joins tensors position by position (`nn.Add`,
    `nn.Mul`, `nn.Concat` along channels): output range = input range."""

    name: str
    module: object

    def out_size(self, axis: int, n: int) -> int:
        return n

    def valid(self, axis: int, s: int, t: int, n: int) -> tuple[int, int]:
        return s, t

    def need(self, axis: int, a: int, e: int) -> tuple[int, int]:
        return a, e

    def scale(self, axis: int) -> Fraction:
        """Input positions per output position along `axis` (S; 1/S when upsampling)."""
        return Fraction(1)


@dataclass(frozen=True)
class Window:
    """A sliding-window layer: convolution, max pooling or average pooling.

    `kind` is 'conv', 'max', 'avg' or 'pad' (`nn.Pad`: a 1-wide window that only pads,
    with `value` in 'zeros' mode); `pads` one (before, after) pair per axis. `aligned`
    (average pooling with count_include_pad=False and padding) means the block runs the
    layer with its own symmetric padding on a crop starting at a multiple of the stride.
    """

    name: str
    module: object
    kind: str
    kernel_size: tuple
    stride: tuple
    dilation: tuple
    pads: tuple
    padding_mode: str = "zeros"
    ceil_mode: bool = False
    count_include_pad: bool = True
    value: float = 0.0

    @property
    def aligned(self) -> bool:
        return self.kind == "avg" and not self.count_include_pad and any(
            p for pair in self.pads for p in pair)

    def span(self, axis: int) -> int:
        return self.dilation[axis] * (self.kernel_size[axis] - 1) + 1

    def scale(self, axis: int) -> Fraction:
        return Fraction(self.stride[axis])

    def out_size(self, axis: int, n: int) -> int:
        K, S, d = self.kernel_size[axis], self.stride[axis], self.dilation[axis]
        if self.kind in ("conv", "pad"):
            return arith.conv_output_size(n, K, S, self.pads[axis], d)
        return arith.pool_output_size(n, K, S, self.pads[axis], d, self.ceil_mode)

    def valid(self, axis: int, s: int, t: int, n: int) -> tuple[int, int]:
        """The outputs [lo, hi) computable exactly from inputs [s, t) of [0, n)."""
        S, pb, k = self.stride[axis], self.pads[axis][0], self.span(axis)
        if s == 0:
            lo = 0
        elif self.aligned:  # crop from c = the first multiple of S in the slice
            lo = ceil_div(s, S) + ceil_div(pb, S)
        else:
            lo = ceil_div(s + pb, S)
        hi = self.out_size(axis, n) if t == n else (t + pb - k) // S + 1
        return lo, hi

    def need(self, axis: int, a: int, e: int) -> tuple[int, int]:
        """The inputs [s, t) that `valid` needs, away from the borders, for outputs [a, e)."""
        S, pb, k = self.stride[axis], self.pads[axis][0], self.span(axis)
        start = (a - ceil_div(pb, S)) * S if self.aligned else a * S - pb
        return start, (e - 1) * S - pb + k


    def crop(self, axis: int, s: int, t: int, n: int) -> Crop:
        """How a block holding inputs [s, t) of [0, n) computes its outputs [lo, hi): the
        part of the block to use, the padding around it (the true border's only; for an
        `aligned` layer the layer's own symmetric padding) and where output lo lands."""
        S, (pb, pa), k = self.stride[axis], self.pads[axis], self.span(axis)
        lo, hi = self.valid(axis, s, t, n)
        stop = n if t == n else (hi - 1) * S - pb + k
        if self.aligned:
            start = 0 if s == 0 else ceil_div(s, S) * S
            return Crop(start, stop, pb, pa, lo, hi, lo - start // S, True)
        start = 0 if s == 0 else lo * S - pb
        before, after = (pb if s == 0 else 0), (pa if t == n else 0)
        offset = 0
        short = k - (stop - start + before + after)
        if short > 0 and s > 0:  # a lone partial window (ceil_mode): widen to the left
            steps = ceil_div(short, S)
            start, offset = start - steps * S, steps
        if lo >= hi:  # nothing to compute here
            return Crop(start, stop, before, after, lo, hi, offset, True)
        fits = start >= s and stop - start + before + after >= k
        if self.padding_mode == "reflect":
            fits = fits and stop - start > max(before, after)
        if self.padding_mode == "circular" and (before or after):
            fits = fits and s == 0 and t == n
        return Crop(start, stop, before, after, lo, hi, offset, fits)


@dataclass(frozen=True)
class Transposed:
    """A transposed convolution: output o gathers inputs i with i*S + k*d = o + p_b."""

    name: str
    module: object
    kernel_size: tuple
    stride: tuple
    dilation: tuple
    pads: tuple
    output_padding: tuple

    def span(self, axis: int) -> int:
        return self.dilation[axis] * (self.kernel_size[axis] - 1) + 1

    def scale(self, axis: int) -> Fraction:
        return Fraction(1, self.stride[axis])

    def out_size(self, axis: int, n: int) -> int:
        return arith.conv_transpose_output_size(
            n, self.kernel_size[axis], self.stride[axis], self.pads[axis],
            self.output_padding[axis], self.dilation[axis])

    def valid(self, axis: int, s: int, t: int, n: int) -> tuple[int, int]:
        """Outputs whose every input lies in [s, t) (and that the crop's own transposed
        convolution produces: positions s*S - p_b ... (t-1)*S + k - 1 - p_b)."""
        S, pb, k = self.stride[axis], self.pads[axis][0], self.span(axis)
        lo = 0 if s == 0 else max((s - 1) * S + k - pb, s * S - pb)
        hi = self.out_size(axis, n) if t == n else min(t * S - pb, (t - 1) * S + k - pb)
        return lo, hi

    def need(self, axis: int, a: int, e: int) -> tuple[int, int]:
        S, pb, k = self.stride[axis], self.pads[axis][0], self.span(axis)
        start = min((a + pb - k) // S + 1, (a + pb) // S)
        stop = max(ceil_div(e + pb, S), ceil_div(e + pb - k, S) + 1)
        return start, stop


# -- from a model to its layers -----------------------------------------------------------------
def _padding_pairs(module, n: int) -> tuple:
    """The module's padding as n explicit (before, after) pairs (its 'same' split: the odd
    pixel after, as PyTorch does)."""
    padding = module.padding
    if isinstance(padding, str) or not isinstance(padding, (tuple, list)):
        padding = (padding,) * n
    K, d = _tuple(module.kernel_size, n), _tuple(getattr(module, "dilation", 1), n)
    return tuple(arith.resolve_padding(p, 1, K[i], 1, d[i]) for i, p in enumerate(padding))


def _classify(name: str, module, func: str):
    """The interval map of one leaf module, or NotTileableError naming it."""
    where = f"{func}: layer {name!r} ({type(module).__name__})"
    if isinstance(module, _POINTWISE):
        if isinstance(module, nn.Dropout) and module.training and module.p > 0:
            raise NotTileableError(f"{where} is in training mode and drops positions at "
                                   f"random; call model.eval() first")
        if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)) and (
                module.training or module.running_mean is None):
            raise NotTileableError(f"{where} normalises with statistics of the whole batch "
                                   f"(training mode or track_running_stats=False), which no "
                                   f"block can compute alone; call model.eval() first")
        return Pointwise(name, module)
    if isinstance(module, _CONVS + _CONV_TS):
        n = len(module.kernel_size)
        pads = _padding_pairs(module, n)
        if isinstance(module, _CONV_TS):
            return Transposed(name, module, tuple(module.kernel_size), tuple(module.stride),
                              tuple(module.dilation), pads, tuple(module.output_padding))
        return Window(name, module, "conv", tuple(module.kernel_size), tuple(module.stride),
                      tuple(module.dilation), pads, module.padding_mode)
    if isinstance(module, _MAX + _AVG):
        n = _rank_of_name(module)
        K = _tuple(module.kernel_size, n)
        S = _tuple(module.stride if module.stride is not None else module.kernel_size, n)
        p = _tuple(module.padding, n)
        if isinstance(module, _MAX):
            return Window(name, module, "max", K, S, _tuple(module.dilation, n),
                          tuple((q, q) for q in p), ceil_mode=bool(module.ceil_mode))
        return Window(name, module, "avg", K, S, (1,) * n, tuple((q, q) for q in p),
                      ceil_mode=bool(module.ceil_mode),
                      count_include_pad=bool(module.count_include_pad))
    if isinstance(module, _JOINS):
        _check_join(name, module, where)
        return Pointwise(name, module)
    if isinstance(module, nn.Pad):
        return _pad_window(name, module, where)
    reason = {nn.Linear: "mixes all positions of its input (a fully connected layer)",
              nn.Flatten: "turns the positions into features",
              nn.Reshape: "rearranges the positions", nn.Squeeze: "removes an axis",
              nn.Unsqueeze: "adds an axis",
              }.get(type(module), "is not a convolution, pooling, activation or batch norm")
    if type(module).__name__.startswith("AdaptiveAvgPool"):
        reason = "pools over the whole image (global / adaptive pooling)"
    raise NotTileableError(f"{where} cannot be tiled: it {reason}; tile the fully "
                           f"convolutional part, convscope.scale.conv_part(model)")


def _check_join(name: str, module, where: str) -> None:
    """A join or softmax is positionwise only along channels (dim 1) and with a constant
    that is one value per channel at most; otherwise NotTileableError."""
    if isinstance(module, (nn.Concat, nn.Softmax)):
        if module.dim != 1:
            what = "joins" if isinstance(module, nn.Concat) else "normalises"
            raise NotTileableError(f"{where} cannot be tiled: it {what} along dim="
                                   f"{module.dim}, not along channels (dim=1)")
        return
    c = module.constant
    if c is not None and c.ndim >= 2 and any(s != 1 for s in c.shape[-(c.ndim - 1):][1:]):
        raise NotTileableError(f"{where} cannot be tiled: its constant of shape "
                               f"{tuple(c.shape)} differs from position to position")


def _pad_window(name: str, module, where: str) -> Window:
    """`nn.Pad` as a 1-wide window padding every axis F.pad's list names (last axis first);
    `_fit_pads` keeps the model's spatial axes once its rank is known."""
    pad = tuple(module.pad)
    if any(p < 0 for p in pad):
        raise NotTileableError(f"{where} cannot be tiled: negative padding crops the image")
    pairs = tuple((pad[2 * i], pad[2 * i + 1]) for i in range(len(pad) // 2))[::-1]
    n = len(pairs)
    mode = {"constant": "zeros"}.get(module.mode, module.mode)
    return Window(name, module, "pad", (1,) * n, (1,) * n, (1,) * n, pairs, mode,
                  value=float(module.value))


def _fit_pads(layers, rank: int, func: str) -> list:
    """The `nn.Pad` windows with one pair per spatial axis: missing leading axes unpadded;
    padding of the batch or channel axes is NotTileableError."""
    out = []
    for layer in layers:
        if isinstance(layer, Window) and layer.kind == "pad" and len(layer.pads) != rank:
            pairs = ((0, 0),) * (rank - len(layer.pads)) + layer.pads
            if any(p for pair in pairs[:-rank] for p in pair):
                raise NotTileableError(f"{func}: layer {layer.name!r} (Pad) cannot be tiled: "
                                       f"it pads the batch or channel axis "
                                       f"(pad={layer.module.pad})")
            pairs = pairs[-rank:]
            layer = dataclasses.replace(layer, kernel_size=(1,) * rank, stride=(1,) * rank,
                                        dilation=(1,) * rank, pads=pairs)
        out.append(layer)
    return out


def _leaves(model, prefix: str, func: str):
    """(name, module) of every layer in order; only Sequential containers are opened."""
    if isinstance(model, nn.Sequential):
        for name, child in model.named_children():
            yield from _leaves(child, f"{prefix}.{name}" if prefix else name, func)
    elif isinstance(model, nn.Module) and any(True for _ in model.children()) and not (
            isinstance(model, _POINTWISE + _CONVS + _CONV_TS + _MAX + _AVG)):
        raise NotTileableError(f"{func}: model part {prefix or 'model'!r} "
                               f"({type(model).__name__}) is not an nn.Sequential, so the "
                               f"order of its layers is unknown; tile an nn.Sequential")
    elif isinstance(model, nn.Module):
        yield prefix or type(model).__name__, model
    else:
        raise TypeError(f"{func}: model must be a convscope nn.Module, got "
                        f"{type(model).__name__}")


def _dot(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _build(model, prefix: str, src: int, layers: list, reads: list, func: str) -> int:
    """Append the interval maps of `model`, reading tensor `src`, to `layers` / `reads`
    (Sequentials and `nn.Graph`s opened, names as in `named_modules`); its output tensor."""
    if isinstance(model, nn.Graph):
        if len(model.inputs) != 1 or len(model.outputs) != 1:
            raise NotTileableError(f"{func}: graph {prefix or 'model'!r} has inputs "
                                   f"{list(model.inputs)} and outputs {list(model.outputs)}; "
                                   f"a tiled graph has one of each")
        tensors = {model.inputs[0]: src}
        for node in model.nodes:
            name = _dot(prefix, model.module_names[node.name])
            srcs = tuple(tensors[i] for i in node.inputs)
            if len(srcs) == 1:
                tensors[node.name] = _build(node.module, name, srcs[0], layers, reads, func)
                continue
            if any(True for _ in node.module.children()):
                raise NotTileableError(f"{func}: node {node.name!r} reads {len(srcs)} tensors "
                                       f"with a container ({type(node.module).__name__}); "
                                       f"a join must be one layer (nn.Add, nn.Concat, ...)")
            layers.append(_classify(name, node.module, func))
            reads.append(srcs)
            tensors[node.name] = len(layers)
        return tensors[model.outputs[0]]
    if isinstance(model, nn.Sequential):
        for name, child in model.named_children():
            src = _build(child, _dot(prefix, name), src, layers, reads, func)
        return src
    for name, module in _leaves(model, prefix, func):
        layers.append(_classify(name, module, func))
        reads.append((src,))
        src = len(layers)
    return src


def _prune(layers: list, reads: list, out: int):
    """Only the layers the output tensor `out` depends on, renumbered."""
    wanted = {out}
    for k in range(len(layers) - 1, -1, -1):
        if k + 1 in wanted:
            wanted.update(reads[k])
    keep = [k for k in range(len(layers)) if k + 1 in wanted]
    number = {0: 0, **{k + 1: i + 1 for i, k in enumerate(keep)}}
    return [layers[k] for k in keep], [tuple(number[i] for i in reads[k]) for k in keep]


def model_layers(model, func: str = "model_layers"):
    """The interval maps of `model`: a list (the chain) for an nn.Sequential of tileable
    layers or one layer; a `LayerGraph` (a sequence of the maps, with what each reads) for a
    branched model, an `nn.Graph` with one input and one output. Raises NotTileableError
    naming the first layer that cannot be tiled.

    Example:
        >>> from convscope import nn
        >>> [type(l).__name__ for l in model_layers(nn.Sequential(nn.Conv2d(1, 2, 3),
        ...                                                         nn.ReLU()))]
        ['Window', 'Pointwise']
    """
    layers, reads = [], []
    out = _build(model, "", 0, layers, reads, func)
    layers, reads = _prune(layers, reads, out)
    pads = [layer for layer in layers if isinstance(layer, Window) and layer.kind == "pad"]
    ranks = {len(layer.kernel_size) for layer in layers
             if not isinstance(layer, Pointwise) and layer not in pads}
    if pads and len(ranks) == 1:
        layers = _fit_pads(layers, next(iter(ranks)), func)
    graph = LayerGraph(layers, reads)
    return list(layers) if graph.is_chain else graph


def _graph_conv_part(model):
    """conv_part of an `nn.Graph`: the nodes before the first one that cannot be tiled,
    those that the tensor it reads depends on, as a graph whose output is that tensor."""
    nodes = list(model.nodes)
    cut = None
    for i, node in enumerate(nodes):
        if isinstance(node.module, (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d,
                                    nn.Dropout)):
            continue
        try:
            _build(node.module, node.name, 0, [], [], "conv_part") if len(node.inputs) == 1 \
                else _classify(node.name, node.module, "conv_part")
        except NotTileableError:
            cut = i
            break
    if cut is None:
        return model
    node = nodes[cut]
    where = f"conv_part: node {node.name!r} ({type(node.module).__name__})"
    if len(node.inputs) != 1 or node.inputs[0] in model.inputs:
        raise NotTileableError(f"{where} cannot be tiled and reads "
                               f"{', '.join(node.inputs)}, so the model has no fully "
                               f"convolutional part ending in one tensor")
    wanted = {node.inputs[0]}
    for earlier in reversed(nodes[:cut]):
        if earlier.name in wanted:
            wanted.update(earlier.inputs)
    return nn.Graph(list(model.inputs), [n for n in nodes[:cut] if n.name in wanted],
                    [node.inputs[0]])


def conv_part(model):
    """The leading layers of an nn.Sequential up to (without) the first one that cannot be
    tiled (Flatten, Linear, global pooling): the model's fully convolutional part. For an
    `nn.Graph`, the nodes (in topological order) before the first one that cannot be tiled,
    as an `nn.Graph` whose output is the tensor that node reads (the whole graph when every
    node can be tiled).

    Batch norm and dropout count as tileable (apply the part in eval mode). Nested
    Sequentials are opened; the result is a flat nn.Sequential sharing the layers.

    Example:
        >>> from convscope import models
        >>> part = conv_part(models.fashion_cnn(widths=(4, 8)))
        >>> [type(m).__name__ for m in part][-2:]
        ['BatchNorm2d', 'ReLU']
    """
    if isinstance(model, nn.Graph):
        return _graph_conv_part(model)
    from collections import OrderedDict
    kept = OrderedDict()
    for name, module in _leaves(model, "", "conv_part"):
        if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.Dropout)):
            kept[name] = module
            continue
        try:
            _classify(name, module, "conv_part")
        except NotTileableError:
            break
        kept[name] = module
    if not kept:
        first = next(iter(_leaves(model, "", "conv_part")), ("?", model))
        raise NotTileableError(f"conv_part: the first layer {first[0]!r} "
                               f"({type(first[1]).__name__}) cannot be tiled, so the model "
                               f"has no fully convolutional part")
    return nn.Sequential(OrderedDict((k.replace(".", "_"), m) for k, m in kept.items()))


def model_rank(layers, func: str = "model_rank") -> int:
    """The number of spatial axes of the chain's windowed layers."""
    windows = [layer for layer in layers if not isinstance(layer, Pointwise)]
    ranks = {len(layer.kernel_size) for layer in windows
                                      if getattr(layer, "kind", None) != "pad"} or {
        len(layer.kernel_size) for layer in windows}
    if not ranks:  # batch norm names its rank (1d takes (N, C, L))
        ranks = {_rank_of_name(layer.module) for layer in layers
                 if type(layer.module).__name__.startswith("BatchNorm")}
    if len(ranks) > 1:
        raise ValueError(f"{func}: the model mixes layers of {sorted(ranks)} spatial "
                         f"dimensions")
    if not ranks:
        raise ValueError(f"{func}: the model has no convolution or pooling layer, so its "
                         f"number of spatial dimensions is unknown")
    return ranks.pop()


# -- the geometry of a chain -------------------------------------------------------------------
@dataclass(frozen=True)
class AxisGeometry:
    """The tiling arithmetic of a chain along one axis.

    Attributes:
        axis: the spatial axis (0 for the first).
        receptive_field: r, the inputs output unit 0 depends on (away from borders).
        jump: J, input positions per output position (a Fraction: < 1 when upsampling).
        effective_padding: P, unit 0's field starts P inputs before input 0.
        alignment: A, block starts are multiples of A (lcm of every layer's cumulative
            stride's numerator; the largest cumulative stride for a downsampling chain).
        halo: (left, right) input positions a block borrows from its neighbours; for
            chains of convolutions and pooling (P, max(r - J - P, 0)).
    """

    axis: int
    receptive_field: int
    jump: Fraction
    effective_padding: int
    alignment: int
    halo: tuple[int, int]


def tile_geometry(layers, ndim: int) -> tuple[AxisGeometry, ...]:
    """r, J, P, A and the halo of a chain of interval maps (`model_layers`), or of a
    `LayerGraph`, per axis.

    Derived by back-propagating needed ranges (`need`) for the block [0, A) (every aligned
    block is this one shifted): halo = (-start, stop - A); unit 0 needs [-P, r - P). In a
    graph the needed range of a tensor read by several layers is the union of their needs
    (the largest need over every path), and A is the lcm over every tensor's stride.

    Example:
        >>> from convscope import nn
        >>> m = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.MaxPool2d(2))
        >>> g = tile_geometry(model_layers(m), 2)[0]
        >>> g.receptive_field, g.jump, g.effective_padding, g.alignment, g.halo
        (4, Fraction(2, 1), 1, 2, (1, 1))
    """
    graph = as_layer_graph(layers)
    out = []
    for axis in range(ndim):
        jumps = graph.jumps(axis, "tile_geometry")
        jump, alignment = jumps[-1], graph.alignment(axis, "tile_geometry")
        per_block = Fraction(alignment) / jump  # outputs of one aligned block
        start, stop = graph.need(axis, 0, int(per_block))
        unit_start, unit_stop = graph.need(axis, 0, 1)
        out.append(AxisGeometry(axis, unit_stop - unit_start, jump, -unit_start, alignment,
                                (max(-start, 0), max(stop - alignment, 0))))
    return tuple(out)
