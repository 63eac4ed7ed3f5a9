"""Convolution as unfold + matrix product (im2col), forward and backward, any rank.

Layout. Inputs are (N, C, *S). Inside, the columns are kept channel-major,
``cols[c, *k, n, *o] = x_padded[n, c, o*s + k*d]``, so that

* the forward pass is one matrix product per group, W (C_out/G, C_in/G*K) @ cols
  (C_in/G*K, N*L), whose result (C_out, N, *O) is returned as an (N, C_out, *O) view;
* an activation map that arrives in that channel-major memory layout (any output of this
  module, and the elementwise ops that follow it) is unfolded with contiguous copies.

The unfold loops over the kernel offsets, not over pixels (Chainer's im2col_nd): each offset
copies one strided slice of the padded input, so Python does prod(K) iterations and NumPy
does the rest. The fold (col2im) is the same loop with ``+=``.

Gradients are convolutions: the input gradient is the fold of W^T @ dY (a transposed
convolution), and the weight gradient is dY @ cols^T.

Large layers. Columns are prod(K) times the input; above `CHUNKED_ABOVE` bytes they are
never made all at once: the batch (or, for one large image, its rows along the first
spatial axis) is taken in chunks whose columns fit `CHUNK_BYTES`, each unfolded into one
reused buffer and consumed by its matrix product while it is still in the cache. The
backward passes recompute each chunk's columns instead of keeping them. Measured (one
thread, CPU time, this machine's 32 MB L3): conv3d batch 2 16->32 16x64x64 69 -> 44 ms,
3x3 64->64 56x56 batch 8 19 -> 13 ms, conv1d batch 32 64->64 L=4096 k5 61 -> 45 ms; layers
whose columns fit the L3 cache gain nothing and keep the one-shot path.

Without a weight gradient to keep the columns for (`forward_values`: inference, or a
frozen layer), a strided layer on several threads never makes them all: each thread takes
chunks of whole images, unfolds a chunk into its own buffer and multiplies it at once, with
BLAS on one thread (`_forward_images`).

Strided layers (1-3 spatial dimensions) unfold and fold with `im2col_jit`'s compiled loops,
which write each column row once straight from the input (no padded copy, no strided
slice copies) and give the same bits. Measured [h17b] (float32, one thread, CPU time, min
of 8 alternating calls in one process, AMD EPYC AVX2 shared with other jobs; NumPy ->
compiled, unfold / fold, ms): 64 channels 56x56 batch 8 3x3 stride 2 3.5/5.7 -> 2.3/2.7;
3 channels 224x224 batch 8 7x7 stride 2 14.4/19.1 -> 13.5/8.0. Whole images are unfolded
from a scratch copy of each padded plane split into its stride phases along the last axis,
so that every column row is one contiguous run (unfold, one thread, min of 20 calls, each
variant in its own processes, AMD EPYC AVX2, ms: 64 channels 2.5-2.7 -> 1.6-2.2, the
3-channel 7x7 layer 9.0 -> 4.1); the rows of one image (a chunk) are read in place. At
stride 1 the NumPy
loops' whole-slice copies win (conv3d 16 channels 16x64x64 batch 2 3x3x3: 41/46 -> 47/52;
32 channels 14x14 batch 128: 3.8/7.7 -> 5.9/5.3; conv1d 64 channels L=4096 k5: 31/15 ->
35/41), so they keep them.
"""

from __future__ import annotations

import math

import numpy as np

from . import im2col_jit
from ._parallel import OneBlasThread, over_channels, take_all
from ._windows import interior, offsets

#: Columns above this size (bytes) are made chunk by chunk, never all at once.
CHUNKED_ABOVE = 32 << 20
#: The columns of one chunk (bytes): a few MB, in the L3 cache.
CHUNK_BYTES = 4 << 20


def pad_channel_major(x, pads):
    """x (N, C, *S) zero-padded into a new (C, N, *Sp) array."""
    N, C, *S = x.shape
    Sp = [s + b + a for s, (b, a) in zip(S, pads)]
    buf = np.zeros((C, N, *Sp), dtype=x.dtype)
    inner = interior(S, [b for b, _ in pads])
    xt = x.transpose(1, 0, *range(2, x.ndim))

    def copy(c0, c1):
        buf[(slice(c0, c1), slice(None)) + inner] = xt[c0:c1]

    over_channels(copy, C, buf.size)
    return buf


def compiled(stride, kernel_size) -> bool:
    """Whether the unfold and the fold run `im2col_jit`'s compiled loops: strided layers
    of 1-3 spatial dimensions (see the module docstring for the measurements)."""
    return len(kernel_size) <= 3 and any(s > 1 for s in stride)


def unfold(x, kernel_size, stride, dilation, pads, out_size):
    """Columns (C, *K, N, *O) of x (N, C, *S), zero-padded by `pads`."""
    if compiled(stride, kernel_size):
        return im2col_jit.unfold(x, kernel_size, stride, dilation, pads, out_size)
    N, C = x.shape[:2]
    if any(b or a for b, a in pads):
        xp = pad_channel_major(x, pads)  # (C, N, *Sp)
    else:
        xp = x.transpose(1, 0, *range(2, x.ndim))  # a view
    cols = np.empty((C, *kernel_size, N, *out_size), dtype=x.dtype)
    windows = offsets(kernel_size, stride, dilation, out_size)

    def copy(c0, c1):  # channels [c0, c1): independent of the other ranges
        for k, win in windows:
            cols[(slice(c0, c1),) + k] = xp[(slice(c0, c1), slice(None)) + win]

    over_channels(copy, C, cols.size)
    return cols


def fold(cols, in_shape, kernel_size, stride, dilation, pads, out_size):
    """The adjoint of `unfold`: sum columns (C, *K, N, *O) back into an (N, C, *S) array."""
    if compiled(stride, kernel_size):
        return im2col_jit.fold(cols, in_shape, kernel_size, stride, dilation, pads, out_size)
    N, C, *S = in_shape
    Sp = [s + b + a for s, (b, a) in zip(S, pads)]
    xp = np.zeros((C, N, *Sp), dtype=cols.dtype)
    windows = offsets(kernel_size, stride, dilation, out_size)

    def add(c0, c1):
        for k, win in windows:
            xp[(slice(c0, c1), slice(None)) + win] += cols[(slice(c0, c1),) + k]

    over_channels(add, C, cols.size)
    inner = interior(S, [b for b, _ in pads])
    return xp[(slice(None), slice(None)) + inner].transpose(1, 0, *range(2, len(in_shape)))


def forward(x, w, stride, pads, dilation, groups, out_size):
    """y (N, C_out, *O) and the columns (kept for the weight gradient unless chunked)."""
    if _chunked(x.shape, w.shape, out_size, x.itemsize):
        return _forward_chunked(x, w, stride, pads, dilation, groups, out_size), None
    N = x.shape[0]
    C_out, C_in_g, *K = w.shape
    G = groups
    cols = unfold(x, K, stride, dilation, pads, out_size)
    L = N * math.prod(out_size)
    CK = C_in_g * math.prod(K)
    y = np.matmul(w.reshape(G, C_out // G, CK), cols.reshape(G, CK, L))  # (G, C_out/G, N*L)
    y = y.reshape(C_out, N, *out_size)
    return y.transpose(1, 0, *range(2, y.ndim)), cols


def forward_values(x, w, stride, pads, dilation, groups, out_size):
    """y of `forward` alone, where no weight gradient will need the columns. A strided
    layer runs `_forward_images`; any other, `forward`."""
    if (compiled(stride, w.shape[2:])
            and not _chunked(x.shape, w.shape, out_size, x.itemsize)):
        return _forward_images(x, w, stride, pads, dilation, groups, out_size)
    return forward(x, w, stride, pads, dilation, groups, out_size)[0]


#: Bytes of columns per chunk of images in `_forward_images`: about a core's L2 cache.
IMAGES_CHUNK_BYTES = 1 << 20
#: ... and at least this many chunks where there are as many images (work for the threads;
#: fixed, not the number of threads: the chunks, and so the bits, do not depend on it).
IMAGES_MIN_CHUNKS = 4


def _forward_images(x, w, stride, pads, dilation, groups, out_size):
    """`forward_values` of a strided layer with the threads each taking chunks of whole
    images (fixed by the shape, `IMAGES_*`: the same bits on any number of threads): a
    thread unfolds a chunk's columns (compiled) into its own buffer and multiplies them at
    once, with BLAS on one thread, while they are still in its cache. One unfold on all
    threads, then one product on all of BLAS's, writes every column to memory and reads it
    back (14 MB for a 3x3 stride-2 64->128 layer at 56x56, batch 8). Measured on that layer
    (forward, min of 40 calls, each variant in its own processes, 2 threads, AMD EPYC
    AVX2, ms): 6.8-7.1 -> 6.1-6.6; the columns written into one array kept for the weight
    gradient instead of a reused buffer, no gain (6.7-7.1)."""
    N = x.shape[0]
    C_out, C_in_g, *K = w.shape
    G = groups
    CK = C_in_g * math.prod(K)
    L = math.prod(out_size)
    y = np.empty((C_out, N, *out_size), dtype=x.dtype)
    per_image = x.shape[1] * math.prod(K) * L * x.itemsize
    b = max(1, min(IMAGES_CHUNK_BYTES // per_image, -(-N // IMAGES_MIN_CHUNKS)))
    wg = w.reshape(G, C_out // G, CK)
    yg = y.reshape(G, C_out // G, N, L)
    unfold_images = im2col_jit.image_unfolder(x, K, stride, dilation, pads)

    def share(take):
        buf = np.empty(x.shape[1] * math.prod(K) * b * L, dtype=x.dtype)
        while (i := take()) is not None:
            n0, n1 = i * b, min(N, (i + 1) * b)
            cols = buf[:CK * G * (n1 - n0) * L].reshape(x.shape[1], *K, n1 - n0, *out_size)
            unfold_images(cols, n0, n1)
            cg = cols.reshape(G, CK, n1 - n0, L)
            for g in range(G):
                np.matmul(wg[g], _view(cg[g], (CK, (n1 - n0) * L)),
                          out=_view(yg[g, :, n0:n1], (C_out // G, (n1 - n0) * L)))

    with OneBlasThread():  # on one thread too: OpenBLAS's threaded and one-thread
        # products of a chunk can differ in the last bit
        take_all(share, -(-N // b), N * x.shape[1] * math.prod(K) * L)
    return y.transpose(1, 0, *range(2, y.ndim))


# -- chunks of columns for large layers ----------------------------------------------------
def _chunked(x_shape, w_shape, out_size, itemsize) -> bool:
    cols = x_shape[0] * x_shape[1] * math.prod(w_shape[2:]) * math.prod(out_size)
    return cols * itemsize > CHUNKED_ABOVE


def _chunks(N, out_size, ck, itemsize):
    """(batch index or slice, first row, end row) of output chunks whose columns (ck rows
    per output position) fit CHUNK_BYTES: whole images when one fits, else rows along the
    first spatial axis of one image."""
    per_row = ck * math.prod(out_size[1:]) * itemsize
    per_image = per_row * out_size[0]
    if per_image <= CHUNK_BYTES:
        b = max(1, CHUNK_BYTES // max(per_image, 1))
        return [(slice(n0, min(N, n0 + b)), 0, out_size[0]) for n0 in range(0, N, b)]
    r = max(1, CHUNK_BYTES // per_row)
    return [(n, o0, min(out_size[0], o0 + r)) for n in range(N)
            for o0 in range(0, out_size[0], r)]


def _view(a, shape):
    """a reshaped without a copy (the chunk products write into the result through it)."""
    v = a.view()
    v.shape = shape
    return v


def _chunk_cols(xp, buf, kernel_size, stride, dilation, out_size, chunk):
    """The columns (C, *K, *chunk shape) of one chunk of a padded (C, N, *Sp) input, in buf;
    the chunk shape is (b, *O) for a slice of images, (rows, *O[1:]) for rows of one.

    xp may instead be a `_Padding` (x and its pads, not padded): the compiled unfold
    then writes the chunk's columns straight from x."""
    sel, r0, r1 = chunk
    C = xp.shape[0] if not isinstance(xp, _Padding) else xp.x.shape[1]
    size = (r1 - r0, *out_size[1:])
    shape = size if isinstance(sel, int) else (sel.stop - sel.start, *out_size)
    cols = buf[:C * math.prod(kernel_size) * math.prod(shape)].reshape(C, *kernel_size, *shape)
    if isinstance(xp, _Padding):
        n0 = sel if isinstance(sel, int) else sel.start
        cols8 = cols if not isinstance(sel, int) else cols.reshape(
            C, *kernel_size, 1, *shape)
        im2col_jit.unfold_into(xp.x, cols8, kernel_size, stride, dilation, xp.pads, n0,
                               (r0,) + (0,) * (len(out_size) - 1))
        return cols, None
    shift = r0 * stride[0]
    windows = [(k, (slice(w0.start + shift, w0.stop + shift, w0.step), *rest))
               for k, (w0, *rest) in offsets(kernel_size, stride, dilation, size)]

    def copy(c0, c1):
        for k, win in windows:
            cols[(slice(c0, c1),) + k] = xp[(slice(c0, c1), sel) + win]

    over_channels(copy, C, cols.size)
    return cols, windows


def _chunk_buffer(C, K, N, out_size, dtype):
    ck = C * math.prod(K)
    chunks = _chunks(N, out_size, ck, np.dtype(dtype).itemsize)
    most = max((r1 - r0) * (1 if isinstance(sel, int) else sel.stop - sel.start)
               for sel, r0, r1 in chunks)
    return chunks, np.empty(ck * most * math.prod(out_size[1:]), dtype=dtype)


class _Padding:
    """x with the padding the compiled unfold applies as it reads (no padded copy)."""

    def __init__(self, x, pads):
        self.x, self.pads = x, pads


def _padded(x, pads, stride=(1,), kernel_size=(1,)):
    if compiled(stride, kernel_size):
        return _Padding(x, pads)
    if any(b or a for b, a in pads):
        return pad_channel_major(x, pads)  # (C, N, *Sp)
    return x.transpose(1, 0, *range(2, x.ndim))  # a view


def _forward_chunked(x, w, stride, pads, dilation, groups, out_size):
    N, C = x.shape[:2]
    C_out, C_in_g, *K = w.shape
    G = groups
    CK = C_in_g * math.prod(K)
    xp = _padded(x, pads, stride, K)
    wg = w.reshape(G, C_out // G, CK)
    y = np.empty((C_out, N, *out_size), dtype=x.dtype)
    chunks, buf = _chunk_buffer(C, K, N, out_size, x.dtype)
    for chunk in chunks:
        cols, _ = _chunk_cols(xp, buf, K, stride, dilation, out_size, chunk)
        sel, r0, r1 = chunk
        dst = y[:, sel, r0:r1]
        L = math.prod(dst.shape[1:])
        np.matmul(wg, cols.reshape(G, CK, L), out=_view(dst, (G, C_out // G, L)))
    return y.transpose(1, 0, *range(2, y.ndim))


def _gy_chunk(gy_cm, chunk, groups):
    """dY of one chunk as (G, C_out/G, L) (a copy where its memory is not in that order)."""
    sel, r0, r1 = chunk
    g = gy_cm[:, sel, r0:r1]
    return g.reshape(groups, g.shape[0] // groups, math.prod(g.shape[1:]))


def _backward_weight_chunked(x, gy, w_shape, stride, pads, dilation, groups):
    N, C = x.shape[:2]
    C_out, C_in_g, *K = w_shape
    G = groups
    CK = C_in_g * math.prod(K)
    xp = _padded(x, pads, stride, K)
    gy_cm = gy.transpose(1, 0, *range(2, gy.ndim))
    gw = np.zeros((G, C_out // G, CK), dtype=gy.dtype)
    chunks, buf = _chunk_buffer(C, K, N, gy.shape[2:], x.dtype)
    for chunk in chunks:
        cols, _ = _chunk_cols(xp, buf, K, stride, dilation, gy.shape[2:], chunk)
        g = _gy_chunk(gy_cm, chunk, G)
        gw += np.matmul(g, cols.reshape(G, CK, g.shape[-1]).transpose(0, 2, 1))
    return gw.reshape(w_shape)


def _backward_input_chunked(gy, w, in_shape, stride, pads, dilation, groups):
    N, C, *S = in_shape
    C_out, C_in_g, *K = w.shape
    G = groups
    CK = C_in_g * math.prod(K)
    out_size = gy.shape[2:]
    Sp = [s + b + a for s, (b, a) in zip(S, pads)]
    if compiled(stride, K):  # the compiled fold adds into the unpadded gradient
        Sp, pads_used = S, [(0, 0)] * len(S)
    else:
        pads_used = pads
    gxp = np.zeros((C, N, *Sp), dtype=gy.dtype)
    wt = w.reshape(G, C_out // G, CK).transpose(0, 2, 1)
    gy_cm = gy.transpose(1, 0, *range(2, gy.ndim))
    chunks, buf = _chunk_buffer(C, K, N, out_size, gy.dtype)
    for chunk in chunks:
        sel, r0, r1 = chunk
        g = _gy_chunk(gy_cm, chunk, G)
        L = g.shape[-1]
        gcols = np.matmul(wt, g, out=_view(buf[:C * math.prod(K) * L], (G, CK, L)))
        size = (r1 - r0, *out_size[1:])
        shape = size if isinstance(sel, int) else (sel.stop - sel.start, *out_size)
        gcols = gcols.reshape(C, *K, *shape)
        if compiled(stride, K):
            im2col_jit.fold_into(gcols if not isinstance(sel, int) else
                                 gcols.reshape(C, *K, 1, *shape), gxp, K, stride, dilation,
                                 pads, sel if isinstance(sel, int) else sel.start,
                                 (r0,) + (0,) * (len(out_size) - 1))
            continue
        shift = r0 * stride[0]
        windows = [(k, (slice(w0.start + shift, w0.stop + shift, w0.step), *rest))
                   for k, (w0, *rest) in offsets(K, stride, dilation, size)]

        def add(c0, c1):
            for k, win in windows:
                gxp[(slice(c0, c1), sel) + win] += gcols[(slice(c0, c1),) + k]

        over_channels(add, C, gcols.size)
    inner = interior(S, [b for b, _ in pads_used])
    return gxp[(slice(None), slice(None)) + inner].transpose(1, 0, *range(2, len(in_shape)))


def _channel_major(gy, groups):
    """dY (N, C_out, *O) as (G, C_out/G, N*L); free when gy is already channel-major."""
    C_out = gy.shape[1]
    t = gy.transpose(1, 0, *range(2, gy.ndim))
    return t.reshape(groups, C_out // groups, gy.shape[0] * math.prod(gy.shape[2:]))


def backward_input(gy, w, in_shape, stride, pads, dilation, groups):
    """dL/dx (N, C_in, *S) from dL/dy: fold(W^T @ dY), a transposed convolution."""
    if _chunked(in_shape, w.shape, gy.shape[2:], gy.itemsize):
        return _backward_input_chunked(gy, w, in_shape, stride, pads, dilation, groups)
    C_out, C_in_g, *K = w.shape
    G = groups
    out_size = gy.shape[2:]
    wg = w.reshape(G, C_out // G, C_in_g * math.prod(K))
    gcols = np.matmul(wg.transpose(0, 2, 1), _channel_major(gy, G))  # (G, C_in/G*K, N*L)
    gcols = gcols.reshape(C_in_g * G, *K, gy.shape[0], *out_size)
    return fold(gcols, in_shape, K, stride, dilation, pads, out_size)


def supports(x_shape, w_shape, stride, pads, dilation, groups):
    """None: im2col applies to every convolution."""
    return None


def backward_weight(x, cols, gy, w_shape, stride, pads, dilation, groups):
    """dL/dW (C_out, C_in/G, *K) = dY @ cols^T, per group; cols are the forward pass's
    columns when it kept them, else x is unfolded again."""
    if cols is None:
        if _chunked(x.shape, w_shape, gy.shape[2:], x.itemsize):
            return _backward_weight_chunked(x, gy, w_shape, stride, pads, dilation, groups)
        cols = unfold(x, w_shape[2:], stride, dilation, pads, gy.shape[2:])
    G = groups
    N, C_out = gy.shape[:2]
    CK = math.prod(w_shape[1:])
    L = math.prod(gy.shape[2:])
    if (G == 1 and CK <= PER_IMAGE_MAX_ROWS
            and N * C_out * CK * gy.itemsize <= PER_IMAGE_MAX_BYTES):
        # one product per image, dY[n] (C_out x L) @ cols[:, n]^T (L x CK), then the sum
        # over the images: both operands are strided views in either layout of dY
        gyn = gy.reshape(N, C_out, L)
        return np.matmul(gyn, cols.reshape(CK, N, L).transpose(1, 2, 0)).sum(0).reshape(
            w_shape)
    gyc = _channel_major(gy, G)  # (G, C_out/G, N*L)
    colsg = cols.reshape(G, CK, gyc.shape[-1])  # (G, C_in/G*K, N*L)
    gw = np.matmul(gyc, colsg.transpose(0, 2, 1))
    return gw.reshape(w_shape)


#: The weight gradient of a layer with at most this many column rows (C_in/G x kernel
#: taps) is one product per image, summed: a (C_out x N*L) @ (N*L x CK) product with a
#: short CK runs far below BLAS's speed (2 threads, ms, one product / per image, dY in
#: NCHW and channel-major memory: 1->32 3x3 28x28 batch 128 (CK 9) 2.8, 1.9 / 1.2, 0.7;
#: 3->32 3x3 32x32 batch 128 (27) 7.0, 5.1 / 3.7, 3.6; the 3->64 7x7 stride-2 stem at
#: 224x224 batch 8 (147) 26.4, 21.5 / 21.7, 21.8; 32->64 3x3 14x14 batch 128 (288)
#: 9.7, 7.9 / 14.3, 14.3).
PER_IMAGE_MAX_ROWS = 128
#: ... and whose per-image products (N x C_out x CK) take at most this many bytes.
PER_IMAGE_MAX_BYTES = 32 << 20
