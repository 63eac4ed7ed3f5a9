"""The readable reference: slide each filter over the input, as the lecture describes.

For every output position the filter (C_in/G x K_h x K_w for 2D) is laid over the matching
patch of the padded input and one dot product gives one value of the activation map. The
loop runs over output positions; the dot product runs over channels and kernel offsets (and,
at once, over the batch and the filters). It is slow on purpose: tests and teaching use it.

Backward passes visit the same positions: each output value's gradient flows back into the
patch it came from (input gradient) and into the filter that made it (weight gradient).
"""

from __future__ import annotations

import itertools

import numpy as np

from ._windows import interior


def _patch(o, kernel_size, stride, dilation):
    """The slices of the padded input that output position `o` sees."""
    return tuple(slice(oi * s, oi * s + d * (k - 1) + 1, d)
                 for oi, k, s, d in zip(o, kernel_size, stride, dilation))


def _pad(x, pads):
    return np.pad(x, [(0, 0), (0, 0)] + [tuple(p) for p in pads])


def forward(x, w, stride, pads, dilation, groups, out_size):
    """y[n, f, o] = sum over (c, k) of w[f, c, k] * x_padded[n, g*C_in/G + c, o*s + k*d]."""
    N, C_in = x.shape[:2]
    C_out, C_in_g, *K = w.shape
    G = groups
    xp = _pad(x, pads)
    # (G, C_out/G, C_in/G, *K): filter f of group g
    wg = w.reshape(G, C_out // G, C_in_g * int(np.prod(K)))
    y = np.zeros((N, G, C_out // G, *out_size), dtype=x.dtype)
    for o in itertools.product(*(range(n) for n in out_size)):
        patch = xp[(slice(None), slice(None)) + _patch(o, K, stride, dilation)]
        patch = patch.reshape(N, G, wg.shape[-1])  # (N, G, C_in/G * prod(K))
        # one dot product per (image, filter): the filter's C_in/G x K volume with the patch
        y[(slice(None), slice(None), slice(None)) + o] = np.einsum("ngk,gfk->ngf", patch, wg)
    return y.reshape(N, C_out, *out_size), None


def backward_input(gy, w, in_shape, stride, pads, dilation, groups):
    """Each output's gradient times its filter, added back onto the patch it came from."""
    N, C_in, *S = in_shape
    C_out, C_in_g, *K = w.shape
    G = groups
    out_size = gy.shape[2:]
    gxp = np.zeros((N, C_in, *(s + b + a for s, (b, a) in zip(S, pads))), dtype=gy.dtype)
    wg = w.reshape(G, C_out // G, C_in_g, *K)
    gyg = gy.reshape(N, G, C_out // G, *out_size)
    for o in itertools.product(*(range(n) for n in out_size)):
        g = gyg[(slice(None), slice(None), slice(None)) + o]  # (N, G, C_out/G)
        contrib = np.einsum("ngf,gf...->ng...", g, wg)  # (N, G, C_in/G, *K)
        index = (slice(None), slice(None)) + _patch(o, K, stride, dilation)
        gxp[index] += contrib.reshape(N, C_in, *K)
    return gxp[(slice(None), slice(None)) + interior(S, [b for b, _ in pads])]


def supports(x_shape, w_shape, stride, pads, dilation, groups):
    """None: the reference applies to every convolution."""
    return None


def backward_weight(x, saved, gy, w_shape, stride, pads, dilation, groups):
    """Each output's gradient times the patch it saw, summed over images and positions."""
    N, C_in = x.shape[:2]
    C_out, C_in_g, *K = w_shape
    G = groups
    xp = _pad(x, pads)
    gw = np.zeros((G, C_out // G, C_in_g, *K), dtype=gy.dtype)
    gyg = gy.reshape(N, G, C_out // G, *gy.shape[2:])
    for o in itertools.product(*(range(n) for n in gy.shape[2:])):
        patch = xp[(slice(None), slice(None)) + _patch(o, K, stride, dilation)]
        patch = patch.reshape(N, G, C_in_g, *K)
        g = gyg[(slice(None), slice(None), slice(None)) + o]  # (N, G, C_out/G)
        gw += np.einsum("ngf,ng...->gf...", g, patch)
    return gw.reshape(w_shape)
