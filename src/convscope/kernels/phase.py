"""Strided convolutions as stride-phase convolutions on shifted views (`shifted`, stride > 1).

With stride s and dilation d along an axis, tap k reads the padded input at o*s + k*d.
Write k*d = q*s + p (p = k*d mod s, its phase): the tap reads position o + q of the phase-p
subsampled input x_p[m] = x_padded[m*s + p]. So a strided convolution is a sum over the
phases of stride-1 convolutions of the subsampled inputs with the taps of that phase (the
taps of one phase are every s/gcd(s, d)-th tap, at q steps of d/gcd(s, d)), and no tap is
computed twice: the phases together hold the prod(K) taps once, with no zero padding of
the kernel (a 3x3 stride-2 kernel splits into 2x2, 2x1, 1x2 and 1x1 phase kernels).

The input is split into its phases once (one copy, the size of the padded input); on each
phase's flat line the taps are strided views, as in `shifted`. Columns for a chunk of
positions are copied phase after phase into one buffer whose rows, per group, are
(phase, channel, tap); the weight is reordered to match once per call. Then:

* forward: W' @ columns, on the grid of phase positions, cropped to the outputs;
* weight gradient: dL/dy on that grid times the columns, scattered back to the taps;
* input gradient: W'^T @ dL/dy, each row added back onto its phase's line at its tap's
  offset (the input gradient of each stride-phase convolution, a transposed stride-1
  convolution, as contiguous runs), then the phases interleaved back into the input.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ._chunks import chunk_size, chunks, chunks_on_threads, on_grid
from ._parallel import over_channels
from .im2col import pad_channel_major


def _axis_phases(K, s, d):
    """[(p, q0, q step, taps)] of one axis: the taps k with k*d = q*s + p, by phase p."""
    by_phase = {}
    for k in range(K):
        by_phase.setdefault((k * d) % s, []).append(k)
    out = []
    for p, taps in sorted(by_phase.items()):
        q = [(k * d) // s for k in taps]
        out.append((p, q[0], q[1] - q[0] if len(q) > 1 else 1, taps))
    return out


class Plan:
    """The phases of a convolution's taps, its grid of positions and its reordered rows."""

    def __init__(self, K, stride, dilation, out_size, C_in_g):
        self.K, self.stride, self.dilation, self.out_size = K, stride, dilation, out_size
        # grid of phase positions per axis: the outputs plus the largest tap offset q
        self.Q = tuple(o + ((k - 1) * d) // s for o, k, d, s in zip(out_size, K, dilation,
                                                                     stride))
        self.step = [math.prod(self.Q[i + 1:]) for i in range(len(K))]
        self.span = sum(((k - 1) * d // s) * st for k, d, s, st in
                        zip(K, dilation, stride, self.step))
        self.phases = []  # (flat phase index, base offset, counts, view steps, taps, rows)
        r = 0
        for axes in itertools.product(*(_axis_phases(k, s, d) for k, s, d in
                                        zip(K, stride, dilation))):
            p = 0
            for (pi, *_), s in zip(axes, stride):
                p = p * s + pi
            base = sum(q0 * st for (_, q0, _, _), st in zip(axes, self.step))
            steps = tuple(qs * st for (_, _, qs, _), st in zip(axes, self.step))
            taps = tuple(t for *_, t in axes)
            counts = tuple(len(t) for t in taps)
            rows = C_in_g * math.prod(counts)
            self.phases.append((p, base, counts, steps, taps, slice(r, r + rows)))
            r += rows
        self.CK = r  # = C_in_g * prod(K): every tap once

    def weight(self, w):
        """w (C_out, C_in/G, *K) with its taps in (phase, channel, tap) order: (C_out, CK)."""
        return np.concatenate([w[np.ix_(range(w.shape[0]), range(w.shape[1]), *taps)]
                               .reshape(w.shape[0], -1) for *_, taps, _ in self.phases],
                              axis=1)

    def unweight(self, wr, w_shape):
        """The inverse of `weight`: (C_out, CK) back to (C_out, C_in/G, *K)."""
        w = np.empty(w_shape, dtype=wr.dtype)
        for _, _, counts, _, taps, rows in self.phases:
            w[np.ix_(range(w_shape[0]), range(w_shape[1]), *taps)] = \
                wr[:, rows].reshape(w_shape[0], w_shape[1], *counts)
        return w


def split(x, pads, plan):
    """x (N, C, *S) padded and split into its phases: (prod(stride), C, N * prod(Q))."""
    N, C, *S = x.shape
    stride, Q = plan.stride, plan.Q
    before = [b for b, _ in pads]
    after = [q * s - n - b for q, s, n, b in zip(Q, stride, S, before)]
    crop = tuple(slice(max(-b, 0), n + min(a, 0)) for n, b, a in zip(S, before, after))
    xp = pad_channel_major(x[(slice(None), slice(None)) + crop],
                           [(max(b, 0), max(a, 0)) for b, a in zip(before, after)])
    n = len(S)
    v = xp.reshape(C, N, *(z for q, s in zip(Q, stride) for z in (q, s)))
    v = v.transpose(*(3 + 2 * i for i in range(n)), 0, 1, *(2 + 2 * i for i in range(n)))
    return np.ascontiguousarray(v).reshape(math.prod(stride), C, N * math.prod(Q))


def merge(lines, in_shape, pads, plan):
    """The adjoint of `split`: phase lines (prod(stride), C, N * prod(Q)) -> (N, C, *S)."""
    N, C, *S = in_shape
    stride, Q = plan.stride, plan.Q
    n = len(S)
    v = lines.reshape(*stride, C, N, *Q)
    v = v.transpose(n, n + 1, *(z for i in range(n) for z in (n + 2 + i, i)))
    xp = v.reshape(C, N, *(q * s for q, s in zip(Q, stride)))
    gx = np.zeros((C, N, *S), dtype=lines.dtype)
    src, dst = [slice(None), slice(None)], [slice(None), slice(None)]
    for size, (b, _), full in zip(S, pads, xp.shape[2:]):
        lo, hi = max(b, 0), min(b + size, full)
        src.append(slice(lo, max(hi, lo)))
        dst.append(slice(lo - b, lo - b + max(hi - lo, 0)))
    gx[tuple(dst)] = xp[tuple(src)]
    return gx.transpose(1, 0, *range(2, n + 2))


def _views(lines, plan, positions, groups):
    """Per phase: its rows and the view (G, C_in/G, *counts, positions) of its taps."""
    item = lines.itemsize
    out = []
    for p, base, counts, steps, _, rows in plan.phases:
        line = lines[p, :, base:]
        view = as_strided(line, shape=(line.shape[0], *counts, positions),
                          strides=(line.strides[0], *(s * item for s in steps), item),
                          writeable=False)
        out.append((rows, view.reshape(groups, -1, *counts, positions)))
    return out


def fill(buf, views, l0, t):
    """The columns of positions [l0, l0 + t) into buf (G, CK, t), phase after phase."""
    for rows, view in views:
        dst = buf[:, rows]
        dst.reshape(view.shape[:-1] + (t,))[...] = view[..., l0:l0 + t]


def _filler(views, plan, groups):
    """fill(b, l0, t) of the `_chunks` loops: the phase columns into b (G * CK, t)."""
    def fill_phases(b, l0, t):
        fill(b.reshape(groups, plan.CK, t), views, l0, t)
    return fill_phases


def _chunks(views, plan, positions, groups, T, dtype):
    """`_chunks.chunks` over the phase columns: (l0, t, b (G, CK, t))."""
    for l0, t, b in chunks(_filler(views, plan, groups), groups * plan.CK, positions, T,
                           dtype):
        yield l0, t, b.reshape(groups, plan.CK, t)


def forward(x, w, stride, pads, dilation, groups, out_size):
    """y (N, C_out, *O), a view of the phase grid; the phase lines kept for dW."""
    N, C = x.shape[:2]
    C_out, C_in_g, *K = w.shape
    G = groups
    plan = Plan(K, stride, dilation, out_size, C_in_g)
    lines = split(x, pads, plan)
    positions = N * math.prod(plan.Q) - plan.span
    views = _views(lines, plan, positions, G)
    wr = plan.weight(w).reshape(G, C_out // G, plan.CK)
    y = np.empty((C_out, N * math.prod(plan.Q)), dtype=x.dtype)
    T = min(positions, chunk_size(C * math.prod(K), x.itemsize))

    def product(l0, t, b):
        np.matmul(wr, b.reshape(G, plan.CK, t), out=y[:, l0:l0 + t].reshape(G, C_out // G, t))

    chunks_on_threads(_filler(views, plan, G), G * plan.CK, positions, T, x.dtype, product)
    y = y.reshape(C_out, N, *plan.Q)[(slice(None), slice(None))
                                      + tuple(slice(0, o) for o in out_size)]
    return y.transpose(1, 0, *range(2, y.ndim)), (lines, plan)


def backward_weight(x, saved, gy, w_shape, stride, pads, dilation, groups):
    """dL/dW: sum over chunks of dY_chunk @ columns_chunk^T, taps scattered back."""
    N, C = x.shape[:2]
    C_out, C_in_g, *K = w_shape
    G = groups
    if saved is None:
        plan = Plan(K, stride, dilation, gy.shape[2:], C_in_g)
        lines = split(x, pads, plan)
    else:
        lines, plan = saved
    positions = N * math.prod(plan.Q) - plan.span
    views = _views(lines, plan, positions, G)
    gline = on_grid(gy, plan.Q).reshape(G, C_out // G, -1)
    gw = np.zeros((G, C_out // G, plan.CK), dtype=gy.dtype)
    T = min(positions, chunk_size(C * math.prod(K), x.itemsize))
    for l0, t, b in _chunks(views, plan, positions, G, T, x.dtype):
        gw += np.matmul(gline[:, :, l0:l0 + t], b.transpose(0, 2, 1))
    return plan.unweight(gw.reshape(C_out, plan.CK), w_shape)


def backward_input(gy, w, in_shape, stride, pads, dilation, groups):
    """dL/dx: W'^T @ dL/dy per chunk, each row added onto its phase's line at its tap's
    offset, then the phases merged back into the input."""
    N, C, *S = in_shape
    C_out, C_in_g, *K = w.shape
    G = groups
    plan = Plan(K, stride, dilation, gy.shape[2:], C_in_g)
    positions = N * math.prod(plan.Q) - plan.span
    gline = on_grid(gy, plan.Q).reshape(G, C_out // G, -1)
    lines = np.zeros((math.prod(stride), C, N * math.prod(plan.Q)), dtype=gy.dtype)
    wt = np.ascontiguousarray(plan.weight(w).reshape(G, C_out // G, plan.CK)
                              .transpose(0, 2, 1))
    # (phase, rows, [(tap index within the phase's block, offset on the line)])
    targets = []
    for p, base, counts, steps, _, rows in plan.phases:
        offs = [base + sum(j * s for j, s in zip(js, steps))
                for js in itertools.product(*(range(c) for c in counts))]
        targets.append((p, rows, counts, offs))
    T = min(positions, chunk_size(C * math.prod(K), gy.itemsize))
    buf = np.empty(G * plan.CK * T, dtype=gy.dtype)
    for l0 in range(0, positions, T):
        t = min(T, positions - l0)
        gc = buf[:G * plan.CK * t].reshape(G, plan.CK, t)
        np.matmul(wt, gline[:, :, l0:l0 + t], out=gc)

        def add(g0, g1, gc=gc, l0=l0, t=t):
            for p, rows, counts, offs in targets:
                block = gc[g0:g1, rows].reshape(g1 - g0, C_in_g, len(offs), t)
                dst = lines[p].reshape(G, C_in_g, -1)[g0:g1]
                for j, off in enumerate(offs):
                    dst[:, :, l0 + off:l0 + off + t] += block[:, :, j]

        if G > 1:
            over_channels(add, G, G * plan.CK * t)
        else:
            add(0, 1)
    return merge(lines, in_shape, pads, plan)
