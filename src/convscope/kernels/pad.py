"""Padding of the trailing dimensions, forward and backward, for every fill mode.

Modes follow PyTorch's `F.pad`: 'constant' (a fill value; a negative amount crops),
'reflect' (mirror without repeating the edge), 'replicate' (repeat the edge) and 'circular'
(wrap around). The non-constant modes are index maps, so their gradient adds each padded
position's gradient back onto the input position it copies.
"""

from __future__ import annotations

import numpy as np

_NUMPY_MODE = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}
MODES = ("constant", *_NUMPY_MODE)


def pad(x, pads, mode="constant", value=0.0):
    """Pad the last len(pads) axes of x; pads[i] = (before, after) for axis -len(pads)+i."""
    lead = x.ndim - len(pads)
    if mode == "constant":
        grow = [(0, 0)] * lead + [(max(b, 0), max(a, 0)) for b, a in pads]
        out = np.pad(x, grow, mode="constant", constant_values=value) if any(
            b or a for b, a in grow) else x
        crop = (slice(None),) * lead + tuple(
            slice(-b if b < 0 else 0, a if a < 0 else None) for b, a in pads)
        return out[crop]
    return np.pad(x, [(0, 0)] * lead + [tuple(p) for p in pads], mode=_NUMPY_MODE[mode])


def pad_backward(g, in_shape, pads, mode="constant"):
    """The gradient of `pad` with respect to its input, of shape `in_shape`."""
    lead = len(in_shape) - len(pads)
    if mode == "constant":
        # the input's values sit at [b : b + S] in the (grown, then cropped) output
        gx = np.zeros(in_shape, dtype=g.dtype)
        src, dst = [slice(None)] * lead, [slice(None)] * lead
        for (b, a), s in zip(pads, in_shape[lead:]):
            src.append(slice(max(b, 0), max(b, 0) + s + min(b, 0) + min(a, 0)))
            dst.append(slice(-min(b, 0), s + min(a, 0)))
        gx[tuple(dst)] = g[tuple(src)]
        return gx
    for axis in range(lead, len(in_shape)):
        b, a = pads[axis - lead]
        if not (b or a):
            continue
        size = in_shape[axis]
        # index map: which input position each padded position copies
        source = np.pad(np.arange(size), (b, a), mode=_NUMPY_MODE[mode])
        moved = np.moveaxis(g, axis, 0)
        acc = moved[b:b + size].copy()  # the interior maps onto itself
        for i in (*range(b), *range(b + size, b + size + a)):  # the padded rows only
            acc[source[i]] += moved[i]
        g = np.moveaxis(acc, 0, axis)
    return g
