"""`algorithm='auto'`: which kernel runs a convolution, decided by its shape.

The rules, in order, and the measurements behind them (this machine: 2 cores, OpenBLAS
SkylakeX kernel; `benchmarks/conv_layers.py` and single-thread CPU-time comparisons of the
algorithms on the same layers):

1. A 1x1 kernel runs `pointwise`: one matrix product per group and no unfold. It does the
   same product as im2col without the copy into columns (im2col's unfold of a 1x1 layer is
   a plain copy of the input).
2. A depthwise layer (groups == in_channels, one input channel per filter) runs
   `depthwise_jit`: compiled loops per channel over the plane split into its stride phases
   (each tap one vector loop over the whole plane), the channels split over the threads.
   im2col would run one tiny matrix product per group (C_out/G x K per group, e.g. 1 x 9)
   after a 9x unfold; the NumPy `depthwise` (stride 1: small products on `shifted`'s flat
   lines; strided: one whole-array multiply-add per tap) is the reference. Measured [h17b]
   (8x128x56x56 3x3 'same', float32, one thread, CPU time, min of 10 alternating calls in
   one process, AMD EPYC AVX2 shared with other jobs; NumPy `depthwise` -> the first
   compiled loop (one short loop per output row), forward / input gradient / weight
   gradient, ms): stride 1 7.4/7.5/8.8 -> 4.8/5.0/5.1; stride 2 6.6/9.8/8.2 -> 3.4/3.2/4.2.
   The phase-plane loops, measured against that row loop (2 threads, min of 40 calls, the
   median of 3-5 alternating processes, AMD EPYC AVX-512, ms): 8x128x56x56 3x3 stride 1
   2.0/2.6/2.7 -> 2.0/1.9/2.6 (the forward pass bound by reading x and writing y), stride 2
   2.2/1.9/2.3 -> 1.5/1.3/1.8; 8x32x112x112 3x3 multiplier 2 4.3/4.1/4.5 -> 3.3/3.0/3.9;
   4x64x28x28 5x5 0.75/0.82/0.73 -> 0.31/0.31/0.59.
   A layer with one input channel at stride 1 (a grayscale image's or a signal's first
   layer) is a depthwise layer too: one channel with C_out filters (the threads then split
   the images, and the filters for the weight gradient). Measured against im2col (2
   threads, medians of 15 calls, two alternating processes each, AMD EPYC AVX2; forward /
   forward + backward, ms): 1->32 3x3 28x28 batch 128 1.49-1.56/7.94-8.13 -> 1.33/5.59-5.67
   (`benchmarks/conv_layers.py`, 3 rounds); 1->32 5x5 28x28 batch 128 2.92-2.97/14.4-14.8
   -> 2.47-2.59/11.9-12.1; conv1d 1->64 k5 L4096 batch 32 3.42-3.72/24.3-24.5 ->
   2.28-2.40/7.85-8.17. At stride 2 it lost (1->64 7x7 224x224 batch 8: 6.0-6.2/25.1-25.3
   -> 9.4-9.5/32.7-32.9), so strided one-channel layers keep rules 3-4.
2a. A 2D 3x3 stride-1 layer (dilation 1, groups 1) runs a compiled Winograd kernel
   (`winograd_jit`, rules in `_winograd` below) when all of these hold (a 3D 3x3x3 layer
   with groups 1 too, `winograd_jit.forward3d`, its channels counted as 3 C_in, the tiles
   of every output depth slice counted, the error as `winograd_error` says: conv3d 16->32
   16x64x64 batch 2, forward, 2 threads, one process: F(4x4) 12.7 ms, F(2x2) 16.3,
   shifted 32.5; float32 error 2.5e-6 of the output's max. Forward / forward + backward,
   ms, im2col, shifted, F(2x2), F(4x4): 32 ch 16x32x32 b2 25.9/92.5, 17.2/62.6, 8.2/35.6,
   5.4/30.3; 64 ch 8x28x28 b1 10.9/36.9, 10.4/31.3, 6.6/23.9, 6.1/22.6 (F(2x2) picked: the
   error); 128 ch 4x14x14 b4 23.4/72.6, 22.3/67.8, 10.2/44.4, 7.6/39.4; 256 ch 2x7x7 b8
   19.1/56.6, 29.7/94.1, 17.7/71.9, 29.9/97.1 (before the weight gradient through the
   tiles; after it, 20.3/84.3, 34.6/112.3, 24.0/92.0, 32.6/144.8 on a noisier host: F(2x2)
   picked at 0.25 tiles per channel, 10% behind im2col); 256 ch 2x14x14 b4 51.1/159.1,
   52.9/169.3, 25.0/85.5 (F(2x2), 0.38 tiles per channel), 35.5/134.9. Each algorithm in
   its own process (`benchmarks/conv_layers.py --layers conv3d --algorithm A`, two
   alternating rounds, forward / forward + backward): the conv3d 16->32 layer F(4x4)
   13.7-16.3/53.4-59.7, shifted 41.3-44.2/153.7-154.7, im2col 64.0-66.2/197.8-222.6):
   * at least `WINOGRAD_MIN_CHANNELS` = 32 input channels: 3-channel inputs and thin
     layers have too little product to hide the transforms (not measured below 32; at 32,
     32->64 14x14 batch 128, F(4x4) is ahead of shifted by a little: 13.1/13.8/18.2 ms
     against 15.0/15.4/16.9, see below);
   * the tiles waste at most `WINOGRAD_MAX_WASTE` = 1.35 outputs computed per output kept
     (a 7x7 or 14x14 map with F(4x4): 1.31; a 5x5 map: 1.44, 3x3: 1.78);
   * the batch has at least `WINOGRAD_MIN_TILES_PER_CHANNEL` = 1/4 tile per channel
     (C_in + C_out): the transformed weights, alpha^2 C_out C_in (36 x 512 x 512 for a wide
     layer), are made once per call and read again by every chunk of tiles; with few tiles
     they cost more than the products save. Measured after the sparse formulas (2 threads,
     one process, forward / input gradient / weight gradient, ms; tiles per channel):
     256 ch 14x14 batch 8: im2col 11.1/12.1/10.1, F(2x2) (0.77) 9.5/10.3/11.8, F(4x4)
     (0.25) 8.3/9.5/11.8, and in separate processes forward + backward F(4x4) 26.2-30.2
     against F(2x2) 30.6-31.5; 256 ch 14x14 batch 4: im2col 7.3/6.5/5.6, F(2x2) (0.38)
     4.9/5.8/7.1, F(4x4) (0.13) 7.6/7.7/6.9; 512 ch 14x14 batch 8: im2col 39.2/41.9/40.6,
     F(2x2) (0.38) 23.8/26.5/43.2, F(4x4) (0.13) 29.6/32.7/43.0; 512 ch 7x7 batch 8:
     im2col 11.3/12.1/9.9, F(2x2) (0.13) 10.9/12.8/11.9, F(4x4) (0.03) 18.7/19.4/11.1.
     (It was 1/2 before the formulas: 512 ch 7x7 batch 8 im2col 21.0, F(2x2) 31.1, F(4x4)
     53.1 ms forward, single-thread CPU time on a loaded machine);
   * F(4x4) (2.25 multiplications per output and input channel against im2col's 9) when
     its float32 error stays within `WINOGRAD_MAX_ERROR` = 5e-6 of the output's max: the
     measured error grows with C_in, bounded by 3e-7 sqrt(C_in) (64: 2.4e-6, 128: 3.0e-6,
     256: 4.0e-6), so F(4x4) up to C_in = 277; else F(2x2) (4 multiplications; its error is
     im2col's, 3-7e-7).
   Measured (single-thread CPU time, min of 5 alternating calls in one process, this
   machine shared with other jobs, load average 11-14 on 2 cores: noisy; forward / input
   gradient / weight gradient, ms; batch 8 unless said): 32->64 14x14 batch 128 im2col
   15.4/19.2/17.6, shifted 15.0/15.4/16.9, F(2x2) 13.2/15.2/18.0, F(4x4) 13.1/13.8/18.2;
   64->128 7x7 batch 128 im2col 13.1/16.2/14.6, F(2x2) 12.8/14.1/14.9, F(4x4)
   10.6/11.6/13.4; 64 ch 56x56 im2col 28.6/31.4/33.1, shifted 26.4/26.4/26.9, F(2x2)
   18.8/19.1/32.6, F(4x4) 15.4/15.2/20.2; 128 ch 28x28 im2col 22.8/25.2/25.3, shifted
   24.0/24.1/24.7, F(2x2) 17.7/18.3/25.3, F(4x4) 14.7/14.5/15.9; 256 ch 14x14 im2col
   21.1/23.5/22.5, F(2x2) 18.0/18.5/22.7, F(4x4) 18.1/18.5/22.5; 512 ch 7x7 im2col
   21.0/23.2/20.9, F(2x2) 31.1/34.0/20.8, F(4x4) 53.1/56.0/20.7.
2b. A 1-D layer of 3 or 5 taps (stride 1, groups 1) with at least
   `WINOGRAD_1D_MIN_CHANNELS` = 8 input channels runs `winograd4_jit`'s 1-D kernels,
   F(4, 3) or F(4, 5) (1.5 or 2 multiplications per output and input channel instead of 3
   or 5), or F(2, 3) where F(4, ...)'s tiles waste more than `WINOGRAD_MAX_WASTE` (a very
   short output) or its error bound passes `WINOGRAD_MAX_ERROR` (it does not: the 1-D
   error stops growing near 256 channels, `winograd_error`). No minimum of tiles per
   channel: the transformed weights of a 1-D layer are alpha = 6 or 8 times the weights,
   not 36, and the forward pass won down to 0.06 tiles per channel. Measured (2 threads,
   `convscope bench --explain --backward`, best of 3-5 alternating rounds in one process;
   forward / input + weight gradient, ms; the best NumPy algorithm -> F(4, r)): 64->64 k5
   L4096 batch 32 shifted 38.6/92.8 -> 18.5/43.2; 128->128 k3 L1024 batch 32 shifted
   22.0/50.9 -> 11.9/26.3; 32->32 k5 L1024 batch 16 2.5/5.8 -> 1.4/2.8; 16->16 k5 L4096
   batch 16 3.4/8.5 -> 1.4/3.0; 8->64 k3 L4096 batch 8 im2col 1.75/4.3 -> 1.4/2.1; 256->256
   k3 L64 batch 8 im2col 1.32/2.49 -> 1.17/2.82 (the weight gradient im2col's below 2 tiles
   per channel, `winograd1d_jit.WEIGHT_GRAD_TILES_PER_CHANNEL`); 512->512 k3 L32 batch 8
   im2col 4.8/9.0 -> 3.9/10.0. Fewer than 8 input channels were not measured (a 1- or
   3-channel signal's first layer stays with rules 3-4). A dilated layer runs as the
   undilated convolution of its input's d phases, which costs copies of the input, the
   output and dL/dy: it needs 128 input channels with 3 taps, 64 with 5 (shifted ->
   F(4, r), same runs): 64 ch k3 d2 L4096 batch 16 14.5/34.9 -> 19.1/42.9, d8 15.8/38.9 ->
   17.6/39.7; 32 ch k3 d16 L2048 batch 8 1.9/3.8 -> 2.6/5.5; 128 ch k3 d2 L1024 batch 16
   11.4/25.5 -> 11.5/21.4; 256 ch k3 d2 L256 batch 16 9.7/20.9 -> 8.4/17.3; 64 ch k5 d2
   L4096 batch 16 19.9/50.7 -> 19.7/38.5; 128 ch k5 d4 L1024 batch 16 19.5/41.7 ->
   15.1/31.1.
3. A layer with a large enough output map runs `shifted` (the columns as views of the
   input's flat lines, copied only in cache-sized chunks of contiguous runs; no col2im; a
   stride > 1 splits the input into its stride phases first) when all of these hold:
   * prod(grid) / prod(output size) <= 1.35: it computes the product on every grid
     position; for stride 1 the grid is the input plus one shared gap of padding per row
     (1.04x at 56x56, 1.15x at 14x14, 1.31x at 7x7 for a 3x3 'same' layer), for a stride
     the outputs plus the largest tap offset d(K-1)//s per axis;
   * at least 64 rows in the columns (C_in/G prod(K)): a 1-channel 3x3 layer's columns are
     cheap for im2col too, and its weight gradient, one long product with 9 columns, is
     faster from im2col's kept columns (1->32 at 28x28 batch 128: 1.9 ms against 2.2);
   * at most 2^20 weights per group: the weight gradient of a wider layer comes from
     columns made again (im2col keeps its own from the forward pass), which costs more than
     the unfold it saves (512->512 3x3 at 7x7 batch 8: 5.5/7.2/4.2 ms with im2col, forward /
     input gradient / weight gradient, against 5.8/7.7/6.2);
   * with a stride > 1, at most 192 rows: the few-channel stems whose strided windows are
     slowest to unfold (ResNet's 3->64 7x7 stride 2 at 224x224, batch 8: 11.0/17.1/14.0
     -> 6.4/12.3/11.5 ms), not 3x3 stride-2 layers of 32 or 64 channels, whose columns
     im2col makes quickly (64->128 at 56x56: 4.1/4.8/2.7 -> 4.6/7.3/4.2).
   Measured (2 threads, SkylakeX kernel, min of 15-30 alternating calls in one process;
   im2col -> shifted, forward / input gradient / weight gradient, ms): 64->64 56x56
   batch 8 7.8/10.5/9.7 -> 5.8/5.8/6.1; 128->128 28x28 batch 8 6.7/7.9/5.4 -> 6.1/6.1/5.3;
   256->256 14x14 batch 8 5.6/7.0/4.3 -> 5.2/5.6/5.7; conv3d 16->32 16x64x64 batch 2
   32.2/39.9/32.8 -> 18.1/23.4/18.0; conv1d 64->64 L=4096 k5 batch 32 22.5/23.4/29.1 ->
   18.3/18.0/25.1; 32->64 14x14 batch 128 5.3/7.7/3.8 -> 3.9/5.1/3.7; 64->128 7x7 batch
   128 3.3/5.8/2.8 -> 3.4/4.6/3.2.
4. Everything else runs `im2col`. The NumPy Winograd kernels (`winograd2`, `winograd4`,
   the readable references of rule 2a's) do 2.25x (F(4x4, 3x3)) to 4x fewer
   multiplications in the matrix product, but in NumPy each of their transforms is a
   separate pass over an array as large as the expanded tiles; in single-thread CPU time
   on the 3x3 layers of the benchmark table they measured 1.2-2.3x slower than im2col
   (e.g. 256 channels 14x14 batch 8: im2col 10.4 ms, F(2x2) 13.4 ms, F(4x4) 20.6 ms;
   64->128 7x7 batch 128: 7.3, 17.5, 25.0 ms), so they stay opt-in.
"""

from __future__ import annotations

import math

from . import phase, shifted, winograd1d_jit, winograd_jit

#: `shifted`'s limits (rule 3): grid / output size, columns' rows, weights per group.
SHIFTED_MAX_WASTE = 1.35
SHIFTED_MIN_ROWS = 64
SHIFTED_MAX_WEIGHTS = 1 << 20
SHIFTED_STRIDED_MAX_ROWS = 192


def choose(x_shape, w_shape, stride, pads, dilation, groups) -> tuple[str, str]:
    """(algorithm name, the reason) for a convolution of these (batched) shapes."""
    C_in = x_shape[1]
    if all(k == 1 for k in w_shape[2:]):
        return "pointwise", "1x1 kernel: one matrix product per group, no unfold"
    # -- h17b: the compiled depthwise loop (rule 2) -------------------------------------------
    if groups == C_in and w_shape[1] == 1 and C_in > 1:
        return "depthwise_jit", ("depthwise (groups == in_channels): a compiled loop over "
                                 "the kernel taps per channel, no per-group matrix "
                                 "products")
    if C_in == 1 and all(st == 1 for st in stride):
        return "depthwise_jit", ("one input channel at stride 1: the depthwise loop with "
                                 "C_out filters on that channel (a loop over the taps per "
                                 "filter), no unfold and no product with a short inner "
                                 "dimension")
    # -- end h17b ---------------------------------------------------------------------------
    O = tuple((s + b + a - d * (k - 1) - 1) // st + 1 for s, (b, a), d, k, st in
              zip(x_shape[2:], pads, dilation, w_shape[2:], stride))
    picked = _winograd(x_shape, w_shape, stride, dilation, groups, O)
    if picked is not None:
        return picked
    strided = any(st > 1 for st in stride)
    if strided:  # the grid of stride phases: the outputs plus the largest tap offset
        grid = phase.Plan(w_shape[2:], stride, dilation, O, w_shape[1]).Q
    else:  # the input plus one shared gap of padding per row
        grid = shifted.Grid(x_shape[2:], pads, w_shape[2:], dilation, O, 1).G
    waste = math.prod(grid) / max(1, math.prod(O))
    rows = math.prod(w_shape[1:])
    if (waste <= SHIFTED_MAX_WASTE and rows >= SHIFTED_MIN_ROWS
            and w_shape[0] // groups * rows <= SHIFTED_MAX_WEIGHTS
            and (not strided or rows <= SHIFTED_STRIDED_MAX_ROWS)):
        how = "split into stride phases, then " if strided else ""
        return "shifted", (f"a large map: {how}the columns as views of the flat padded "
                           f"input ({waste:.2f}x the outputs computed), no unfold copy of "
                           f"strided windows and no col2im")
    return "im2col", "general case: unfold into columns, then one matrix product per group"


# -- rule 2a: Winograd with compiled transforms ---------------------------------------------
#: Rule 2a's limits: input channels, tile waste, tiles per channel, float32 error.
WINOGRAD_MIN_CHANNELS = 32
WINOGRAD_MAX_WASTE = 1.35
WINOGRAD_MIN_TILES_PER_CHANNEL = 0.25
WINOGRAD_MAX_ERROR = 5e-6
#: Rule 2b: fewest input channels of a 1-D layer run by Winograd, [dilated][taps] (8
#: measured undilated, fewer not; dilated layers pay for copying their phases, see 2b).
WINOGRAD_1D_MIN_CHANNELS = {False: {3: 8, 5: 8}, True: {3: 128, 5: 64}}


def winograd_error(m: int, C_in: int, ndim: int = 2, r: int = 3) -> float:
    """The float32 error (relative to the output's max) that rule 2a expects of F(m x m, 3x3)
    with C_in input channels (1-D: of F(m, r)): a bound on the measured values (see
    `winograd_jit`).

    A 3x3x3 layer (ndim 3) sums 3 C_in channels' tiles in each product; its measured error
    (1 x C x 5 x 16 x 16, C -> C, three seeds: F(4x4) 1.9-2.0e-6 at C = 16, 2.5-3.4e-6 at
    32, 3.3-4.2e-6 at 64) is that of 2-D layers with 3 to 4.1 C_in channels: counted as 5.

    A 1-D layer transforms along one axis only. Measured (2 x C x max(64, 32768 / C), C ->
    C, 'same', the larger of two seeds; C = 8, 32, 64, 128, 256, 512, 1024): F(4, 3)
    0.5, 0.7, 0.9, 1.2, 1.7, 2.0, 1.5e-6; F(4, 5) 0.7, 1.3, 2.0, 2.0, 2.5, 2.1, 2.8e-6;
    F(2, 3) 0.2-0.6e-6 and im2col 0.2-0.95e-6. The growth stops near 256 channels: bounded
    by 2e-7 (F(4, 3)), 3e-7 (F(4, 5)) or 1e-7 (F(2, 3)) times sqrt(min(C, 256)).
    """
    if ndim == 1:
        k = 1e-7 if m == 2 else (2e-7 if r == 3 else 3e-7)
        return k * math.sqrt(min(C_in, 256))
    return (3e-7 if m == 4 else 1e-7) * math.sqrt(C_in * (5 if ndim == 3 else 1))


def _winograd1d(x_shape, w_shape, stride, dilation, groups, O):
    """(name, reason) of rule 2b, or None when it does not apply."""
    r = w_shape[2]
    C_in = x_shape[1]
    if (r not in (3, 5) or groups != 1 or stride[0] != 1
            or C_in < WINOGRAD_1D_MIN_CHANNELS[dilation[0] > 1][r]):
        return None
    for m in (4, 2):
        if (m, r) not in winograd1d_jit.SIZES:
            continue
        error = winograd_error(m, C_in, 1, r)
        d = dilation[0]
        dil = f", dilation {d} (as {d} undilated phases)" if d > 1 else ""
        waste = -(-O[0] // (m * d)) * m * d / max(1, O[0])  # each phase's last tile
        if error > WINOGRAD_MAX_ERROR or waste > WINOGRAD_MAX_WASTE:
            continue
        return f"winograd{m}_jit", (
            f"1D, {r} taps, stride 1{dil}, {C_in} input channels: Winograd F({m}, {r}), "
            f"{(m + r - 1) / m:.2f} multiplications per output and channel instead of {r}, "
            f"{waste:.2f}x the outputs computed; float32 error about {error:.0e} of the "
            f"output's max (bound {WINOGRAD_MAX_ERROR:.0e})")
    return None


def _winograd(x_shape, w_shape, stride, dilation, groups, O):
    """(name, reason) of rule 2a (2b for 1-D layers), or None when it does not apply."""
    if len(w_shape) == 3:
        return _winograd1d(x_shape, w_shape, stride, dilation, groups, O)
    if (len(w_shape) not in (4, 5) or any(k != 3 for k in w_shape[2:]) or groups != 1
            or any(s != 1 for s in stride) or any(d != 1 for d in dilation)):
        return None
    N, C_in = x_shape[:2]
    C_out = w_shape[0]
    # a 3x3x3 layer is 3x3 Winograd over each depth slice, the 3 depth taps summed in the
    # products: their inner dimension is 3 C_in
    depth = len(w_shape) == 5
    C = 3 * C_in if depth else C_in
    if C < WINOGRAD_MIN_CHANNELS:
        return None
    for m in (4, 2):
        error = winograd_error(m, C_in, len(w_shape) - 2)
        if error > WINOGRAD_MAX_ERROR:
            continue
        n, waste = winograd_jit.tiles(O[-2:], N * (O[0] if depth else 1), m)
        if waste > WINOGRAD_MAX_WASTE or n < WINOGRAD_MIN_TILES_PER_CHANNEL * (C + C_out):
            continue
        kind = "3x3x3 stride 1 (Winograd over each depth slice)" if depth else "3x3 stride 1"
        return f"winograd{m}_jit", (
            f"{kind}, {C_in} input channels: Winograd F({m}x{m}, 3x3), "
            f"{(m + 2) ** 2 / m ** 2:.2f} multiplications per output and channel instead of "
            f"9, {waste:.2f}x the outputs computed, {n} tiles; float32 error about "
            f"{error:.0e} of the output's max (bound "
            f"{WINOGRAD_MAX_ERROR:.0e})")
    return None
