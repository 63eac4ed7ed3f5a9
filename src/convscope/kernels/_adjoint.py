"""The input gradient of a stride-1 convolution is a convolution (the adjoint, written once).

For y = conv(x, w) with stride 1, dilation d and padding (b, a) per axis::

    dL/dx = conv(dL/dy, w', padding (d(K-1) - b, d(K-1) - a), dilation d)

where w' swaps each group's input and output channels and flips every kernel axis: output
position o received x[o + k*d - b] * w[k], so input position i collects dy[i - k*d + b] *
w[k], a correlation with the reversed kernel. Fast forward algorithms serve their own
backward pass this way.
"""

from __future__ import annotations

import numpy as np


def flipped_weight(w, groups):
    """w' (C_in, C_out/G, *K) from w (C_out, C_in/G, *K): per group in<->out, taps reversed."""
    C_out, C_in_g, *K = w.shape
    wg = w.reshape(groups, C_out // groups, C_in_g, *K).swapaxes(1, 2)
    wg = wg[(Ellipsis,) + (slice(None, None, -1),) * len(K)]
    return np.ascontiguousarray(wg).reshape(groups * C_in_g, C_out // groups, *K)


def adjoint_pads(w_shape, pads, dilation):
    """The padding of the adjoint convolution, or None where it would be negative."""
    K = w_shape[2:]
    out = tuple((d * (k - 1) - b, d * (k - 1) - a) for k, (b, a), d in zip(K, pads, dilation))
    return None if any(b < 0 or a < 0 for b, a in out) else out


def input_grad(forward, gy, w, in_shape, pads, dilation, groups):
    """dL/dx of a stride-1 convolution through `forward` (a kernel's forward function), or
    None when the adjoint padding would be negative (padding wider than the kernel)."""
    pads2 = adjoint_pads(w.shape, pads, dilation)
    if pads2 is None:
        return None
    n = len(pads)
    gx, _ = forward(gy, flipped_weight(w, groups), (1,) * n, pads2, dilation, groups,
                    tuple(in_shape[2:]))
    return gx
