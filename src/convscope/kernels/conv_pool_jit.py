"""A thin first layer and its 2x2 max pooling as one compiled pass: `conv2d_max_pool2d` of a
convolution with few input values per window (C_in x K_h x K_w <= `MAX_ROWS`: a grayscale
or RGB image's 3x3 layer), stride 1, dilation 1, groups 1.

im2col runs such a layer as a product with a short inner dimension (9 for the default
model's 1->32 layer), whose (N, C_out, H, W) output, four times the pooled map, is written
to memory and read again by the pooling; backwards, the pooling writes the unpooled dL/dy
(three zeros in four) and the weight gradient reads it again with the columns. Here the
pooled map is computed directly, and the unpooled map is never stored:

* the input is zero-padded and split into its 2x2 *phases*, xph[n, c, rp, cp, i, j] =
  x_padded[n, c, 2i + rp, 2j + cp] (a quarter of the padded plane each, read from the cache
  by every filter);
* conv output (2 oh + a, 2 ow + e), the pooling window's tap k = 2a + e, reads tap (kh, kw)
  at phase ((a + kh) % 2, (e + kw) % 2), position (oh + (a + kh) // 2, ow + (e + kw) // 2):
  one fixed flat offset from (oh, ow) on the phases' I x J grid, so each (tap, k) is one
  vector loop over the whole grid (the grid's extra columns computed and dropped, as
  `depthwise_jit` does), the taps summed in kernel order (c, kh, kw) into four
  accumulators, one per window tap;
* forward: per filter and image, the four accumulators (plus the bias), then the first
  largest of each window (a NaN wins, `pool_jit`'s rule) and its tap as uint8;
* weight gradient: per filter, dL/dy is never unpooled into memory; dL/dw[co, c, kh, kw]
  = sum over images, windows and taps k of (g if arg == k else 0) times the phase value
  the tap read, summed over the grid in float32 lanes, the lanes then summed in float64;
* the input gradient (a first layer's input rarely needs one) unpools dL/dy and runs
  im2col's.

The filters are split over the threads (`_parallel.over_channels`): each filter's outputs
and weight gradient are one thread's, so the results are the same bits for any number of
threads. They are not the bits of the unfused convolution then pooling: the sums run in
another order (rounding-level differences, as between any two algorithms). Where the
weight gradient comes out not finite (an input that is not finite; a zero gradient times
an infinite input counts, as in im2col's product), it is recomputed unfused.

Measured: see `MAX_ROWS`.
"""

from __future__ import annotations

import numpy as np

from . import _planes, im2col, pool_jit
from ._parallel import CHANNEL_BLOCK, over_channels

#: Most values per window (C_in x K_h x K_w) the fused pass takes; wider layers run their
#: convolution's algorithm, then the pooling (their products are long enough for BLAS).
#: Measured (2026-12-07, AMD EPYC AVX-512, 2 threads; `F.conv2d_max_pool2d` forward, then
#: the weight gradient, 'same' padding, 32 MB of other data touched before each call as in
#: a training step; 40 alternating calls in one process, medians, ms; unfused -> fused):
#: 1->32 3x3 28x28 batch 128 9.6/9.5 -> 2.2/2.5 (the default model's first layer; mins
#: 4.6/4.9 -> 1.8/1.9); 3->32 3x3 32x32 batch 128 7.6/14.3 -> 5.5/7.7; 1->32 5x5 28x28
#: batch 128 13.7/15.8 -> 3.6/7.2; 3->64 3x3 64x64 batch 32 13.6/14.4 -> 7.1/10.9. On
#: warm caches (the same call repeated) the weight gradient alone is slower fused (1->32:
#: 3.3 against 2.8 ms on one thread; 3->32: 10.4 against 6.4), the forward pass even.
#: Each side in its own processes (1->32, three alternating pairs, medians of 40):
#: unfused 3.75-8.59 / 5.0-9.4 ms, fused 2.1-2.5 / 2.4-2.7 ms.
MAX_ROWS = 27
#: Bytes of the weight gradient's float32 lanes per thread (taps x images x grid), which
#: sets how many images one vector loop spans.
GRID_BYTES = 32 << 10


def supports(x_shape, w_shape, stride, pads, dilation, groups) -> bool:
    """Whether `forward` applies: a 2-D convolution, stride 1, dilation 1, groups 1, padding
    >= 0, at most `MAX_ROWS` values per window, a conv output of at least 2 x 2."""
    if len(w_shape) != 4 or groups != 1 or w_shape[1] * w_shape[2] * w_shape[3] > MAX_ROWS:
        return False
    if any(s != 1 for s in stride) or any(d != 1 for d in dilation):
        return False
    if any(p < 0 for pair in pads for p in pair) or x_shape[0] == 0:
        return False
    out = [x_shape[2 + i] + pads[i][0] + pads[i][1] - w_shape[2 + i] + 1 for i in range(2)]
    return min(out) >= 2


def _compiled():
    from . import conv_pool_kernels
    return conv_pool_kernels


# -- the driver ------------------------------------------------------------------------------
def _phases(x, pads):
    """(xph, I, J): x zero-padded and split into its 2x2 phases, xph[c, rp, cp, (n I + i) J
    + j] = x_padded[n, c, 2i + rp, 2j + cp], C-contiguous, with a zero margin after the last
    image for the taps' offsets: each phase one strided copy of x."""
    N, C, H, W = x.shape
    (pt, pb), (pl, pr) = pads
    I, J = -(-(H + pt + pb) // 2), -(-(W + pl + pr) // 2)
    xph = np.zeros((C, 2, 2, N * I * J + I * J), dtype=x.dtype)
    grid = xph[..., :N * I * J].reshape(C, 2, 2, N, I, J)
    xt = x.transpose(1, 0, 2, 3)
    for rp in range(2):
        i0, i1 = _inside(rp, pt, H, I)
        for cp in range(2):
            j0, j1 = _inside(cp, pl, W, J)
            grid[:, rp, cp, :, i0:i1, j0:j1] = xt[:, :, 2 * i0 + rp - pt::2,
                                                   2 * j0 + cp - pl::2][:, :, :i1 - i0,
                                                                        :j1 - j0]
    return xph, I, J


def _inside(phase, before, size, count):
    """[i0, i1): the phase positions i (padded index 2i + phase) that hold x's values."""
    i0 = max(0, -((phase - before) // 2))  # 2 i0 + phase >= before
    i1 = min(count, (before + size - 1 - phase) // 2 + 1)
    return i0, max(i0, i1)


def _starts(C, KH, KW, I, J, Lp):
    """starts[k, (c, kh, kw)]: the flat offset in `_phases`' array (each phase Lp long) that
    window tap k = 2a + e's kernel tap (c, kh, kw) reads at the first grid position."""
    a, e, c, kh, kw = np.meshgrid(range(2), range(2), range(C), range(KH), range(KW),
                                  indexing="ij")
    s, t = a + kh, e + kw
    starts = ((c * 2 + (s & 1)) * 2 + (t & 1)) * Lp + (s >> 1) * J + (t >> 1)
    return starts.reshape(4, C * KH * KW).astype(np.int64)


def _images(I, J):
    """Images per vector loop: about `GRID_BYTES` of float32 per window tap."""
    return max(1, GRID_BYTES // (16 * I * J))


def forward(x, w, b, pads):
    """(y, arg, saved): max_pool2d(conv2d(x, w, b, padding=pads), 2) of a layer `supports`
    takes, y and arg (uint8: the tap kh * 2 + kw of each maximum) as channel-major views of
    (C_out, N, OH, OW) memory (as `winograd_jit.forward_max_pool` gives them); saved is
    what `backward_weight` reads."""
    C_out = w.shape[0]
    N, _, H, W = x.shape
    (pt, pb), (pl, pr) = pads
    OH, OW = (H + pt + pb - w.shape[2] + 1) // 2, (W + pl + pr - w.shape[3] + 1) // 2
    xph, I, J = _phases(x, pads)
    nb = _images(I, J)
    wk = np.ascontiguousarray(w, dtype=x.dtype)
    bk = (np.zeros(0, dtype=x.dtype) if b is None
          else np.ascontiguousarray(b, dtype=x.dtype))
    y = np.empty((C_out, N, OH, OW), dtype=x.dtype)
    arg = np.empty((C_out, N, OH, OW), dtype=np.uint8)
    starts = _starts(*w.shape[1:], I, J, xph.shape[-1])
    kernel = _compiled().forward
    over_channels(lambda c0, c1: kernel(xph.reshape(-1), starts, wk.reshape(C_out, -1), bk,
                                        y, arg, c0, c1, I, J, nb),
                  C_out, xph.size * C_out, CHANNEL_BLOCK)
    return y.transpose(1, 0, 2, 3), arg.transpose(1, 0, 2, 3), (xph, I, J, nb)


def backward_weight(g, arg, saved, x, w_shape, pads):
    """dL/dw (C_out, C_in, K_h, K_w) of `forward` from the pooled dL/dy g (N, C_out, OH,
    OW) and `forward`'s arg; recomputed unfused (unpooled dL/dy, im2col's product) where it
    comes out not finite."""
    xph, I, J, nb = saved
    gb = _planes.like(g, True, rank=2)  # (C_out, N, OH, OW)
    ab = _planes.like(arg, True, rank=2)
    gw = np.empty(w_shape, dtype=np.float64)
    kernel = _compiled().backward_weight
    over_channels(lambda c0, c1: kernel(xph, gb, ab, gw, c0, c1, I, J, nb), w_shape[0],
                  xph.size * w_shape[0], CHANNEL_BLOCK)
    if not np.isfinite(gw).all():
        gy = unpool(g, arg, x.shape[:1] + w_shape[:1] + _conv_size(x.shape, w_shape, pads))
        return im2col.backward_weight(x, None, gy, w_shape, (1, 1), pads, (1, 1), 1)
    return gw.astype(g.dtype)


def backward_input(g, arg, w, x_shape, pads):
    """dL/dx of `forward`: dL/dy unpooled, then im2col's input gradient."""
    gy = unpool(g, arg, x_shape[:1] + w.shape[:1] + _conv_size(x_shape, w.shape, pads))
    return im2col.backward_input(gy, w, x_shape, (1, 1), pads, (1, 1), 1)


def unpool(g, arg, conv_shape):
    """dL/dy of the convolution (`conv_shape`) from the pooled dL/dy and arg."""
    return pool_jit.max_pool_backward(g, pool_jit.pool_saved_2x2(arg, conv_shape))


def _conv_size(x_shape, w_shape, pads):
    return tuple(x_shape[2 + i] + pads[i][0] + pads[i][1] - w_shape[2 + i] + 1
                 for i in range(2))
