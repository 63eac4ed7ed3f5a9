"""Receptive fields: size r, jump j and effective padding P through a stack of layers.

Araujo, Norris & Sim, "Computing Receptive Fields of Convolutional Neural Networks" (Distill,
2019). Along one axis a unit of layer l sees r_l inputs, adjacent units are j_l inputs apart
(the jump, or effective stride), and the field of the first unit starts P_l inputs before the
first input (the effective padding). Through a layer with kernel K, stride S, dilation d and
padding p_b before:

    r_l = r_{l-1} + (d(K-1)+1 - 1) * j_{l-1}
    j_l = j_{l-1} * S
    P_l = P_{l-1} + p_b * j_{l-1}

so L stacked KxK stride-1 layers see the lecture's 1 + L(K-1).

Example:
    >>> rf_stack([(3, 1, 1, 1)] * 4, ndim=1).size
    (9,)
"""

from __future__ import annotations

from typing import NamedTuple

from .._args import check_int, int_per_axis, show
from .sizes import kernel_extent, layer_tuples

__all__ = ["ReceptiveField", "rf_identity", "rf_layer", "rf_merge", "rf_stack"]


# -- receptive fields ------------------------------------------------------------------------

class ReceptiveField(NamedTuple):
    """Receptive field of one unit of a layer, per spatial axis (Araujo et al. 2019).

    Attributes:
        size: r, how many inputs one unit sees, per axis.
        jump: j, the distance in inputs between adjacent units (effective stride).
        padding: P, the effective padding: the field of unit 0 spans inputs [-P, r - P - 1],
            and the field of unit i is centred at i * j - P + (r - 1) / 2.
        aligned: False when branches joined upstream disagree in jump or centre.
    """

    size: tuple[int, ...]
    jump: tuple[int, ...]
    padding: tuple[int, ...]
    aligned: bool = True

    @property
    def ndim(self) -> int:
        return len(self.size)

    def center(self, index: int, axis: int = 0) -> float:
        """Input coordinate of the centre of the field of unit `index` along `axis`."""
        r, j, p = self.size[axis], self.jump[axis], self.padding[axis]
        return index * j - p + (r - 1) / 2


def _check_ndim(func: str, ndim) -> int:
    ndim = check_int(ndim, func=func, arg="ndim")
    if ndim > 64:
        raise ValueError(f"{func}: ndim must be at most 64 spatial axes, got ndim={ndim}")
    return ndim


def _check_field(func: str, arg: str, field) -> ReceptiveField:
    if not isinstance(field, ReceptiveField):
        raise TypeError(f"{func}: {arg} must be a ReceptiveField (see rf_identity), got "
                        f"{arg}={show(field)}")
    return field


def rf_identity(ndim: int) -> ReceptiveField:
    """The input itself: every unit sees one input, jump 1, no padding."""
    ndim = _check_ndim("rf_identity", ndim)
    return ReceptiveField((1,) * ndim, (1,) * ndim, (0,) * ndim)


def rf_layer(field: ReceptiveField, kernel_size, stride=1, padding_before=0, dilation=1
             ) -> ReceptiveField:
    """The receptive field after one convolution or pooling layer.

    Per axis, with K_eff = d(K-1) + 1:

        r' = r + (K_eff - 1) * j,    j' = j * S,    P' = P + p_b * j.

    Args: `kernel_size`, `stride`, `padding_before` (the padding added before the input,
    p_b, as resolved for that input size) and `dilation` are one int for every axis or one
    per axis.

    Example:
        >>> rf_layer(rf_identity(2), 7, stride=2, padding_before=3)
        ReceptiveField(size=(7, 7), jump=(2, 2), padding=(3, 3), aligned=True)
    """
    func = "rf_layer"
    n = _check_field(func, "field", field).ndim
    ks = int_per_axis(kernel_size, n, func=func, arg="kernel_size", minimum=1)
    ss = int_per_axis(stride, n, func=func, arg="stride", minimum=1)
    ps = int_per_axis(padding_before, n, func=func, arg="padding_before", minimum=0)
    ds = int_per_axis(dilation, n, func=func, arg="dilation", minimum=1)
    size = tuple(r + (kernel_extent(k, d) - 1) * j
                 for r, j, k, d in zip(field.size, field.jump, ks, ds))
    jump = tuple(j * s for j, s in zip(field.jump, ss))
    padding = tuple(p + pb * j for p, j, pb in zip(field.padding, field.jump, ps))
    return ReceptiveField(size, jump, padding, field.aligned)


def rf_merge(fields) -> ReceptiveField:
    """The receptive field where branches join (a residual addition or a concatenation).

    Per axis the result is the largest field over the branches. The branches are aligned
    when they share the jump and the centre of unit 0, (r - 1)/2 - P, so that every output
    unit combines fields centred on the same input point; as in Araujo et al.'s library,
    an unaligned join is reported (aligned=False), taking the widest branch's values.

    Example:
        >>> a = rf_layer(rf_identity(1), 3, padding_before=1)
        >>> rf_merge([a, rf_identity(1)])
        ReceptiveField(size=(3,), jump=(1,), padding=(1,), aligned=True)
    """
    if isinstance(fields, (str, bytes, ReceptiveField)) or not hasattr(fields, "__iter__"):
        raise TypeError(f"rf_merge: fields must be a sequence of ReceptiveFields, got "
                        f"fields={show(fields)}")
    fields = [_check_field("rf_merge", f"fields[{i}]", f) for i, f in enumerate(fields)]
    if not fields:
        raise ValueError("rf_merge: needs at least one field, got none")
    n = fields[0].ndim
    if any(f.ndim != n for f in fields):
        raise ValueError(f"rf_merge: fields must have the same number of axes, got "
                         f"{[f.ndim for f in fields]}")
    aligned = all(f.aligned for f in fields)
    size, jump, padding = [], [], []
    for axis in range(n):
        jumps = {f.jump[axis] for f in fields}
        # Twice the centre, to compare ints: 2 * ((r - 1)/2 - P) = r - 1 - 2P.
        centres = {f.size[axis] - 1 - 2 * f.padding[axis] for f in fields}
        aligned = aligned and len(jumps) == 1 and len(centres) == 1
        widest = max(fields, key=lambda f: f.size[axis])
        size.append(widest.size[axis])
        jump.append(widest.jump[axis])
        padding.append(widest.padding[axis])
    return ReceptiveField(tuple(size), tuple(jump), tuple(padding), aligned)


def rf_stack(layers, ndim: int = 2) -> ReceptiveField:
    """The receptive field at the end of a chain of (kernel_size, stride, padding_before,
    dilation) layers, starting from the input.

    Example:
        >>> rf_stack([(3, 1, 1, 1)] * 3, ndim=2).size    # 1 + L(K-1) = 7
        (7, 7)
    """
    field = rf_identity(_check_ndim("rf_stack", ndim))
    fields = "(kernel_size, stride, padding_before, dilation)"
    for i, layer in enumerate(layer_tuples(layers, func="rf_stack", fields=fields)):
        try:
            field = rf_layer(field, *layer)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"rf_stack: layers[{i}]: {exc}") from None
    return field
