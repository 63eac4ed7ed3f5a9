"""`algorithm='auto'`: which kernel runs a convolution, decided by its shape.

The rules, in order, and the measurements behind them (this machine: 2 cores, OpenBLAS
SkylakeX kernel; `benchmarks/conv_layers.py` and single-thread CPU-time comparisons of the
algorithms on the same layers):

1. A 1x1 kernel runs `pointwise`: one matrix product per group and no unfold. It does the
   same product as im2col without the copy into columns (im2col's unfold of a 1x1 layer is
   a plain copy of the input).
2. A depthwise layer (groups == in_channels, one input channel per filter) runs
   `depthwise_jit`: one compiled loop nest per channel (the plane copied into a small padded
   buffer, each output row accumulated over the taps, vectorised along the row), the
   channels split over the threads. im2col would run one tiny matrix product per group
   (C_out/G x K per group, e.g. 1 x 9) after a 9x unfold; the NumPy `depthwise` (stride 1:
   small products on `shifted`'s flat lines; strided: one whole-array multiply-add per
   tap) is the reference. Measured [h17b] (8x128x56x56 3x3 'same', float32, one thread,
   CPU time, min of 10 alternating calls in one process, AMD EPYC AVX2 shared with other
   jobs; NumPy `depthwise` -> `depthwise_jit`, forward / input gradient / weight gradient,
   ms): stride 1 7.4/7.5/8.8 -> 4.8/5.0/5.1; stride 2 6.6/9.8/8.2 -> 3.4/3.2/4.2. About a
   quarter of the compiled time is the copy into the padded buffer (the first read of the
   input from memory).
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
4. Everything else runs `im2col`. The Winograd kernels (`winograd2`, `winograd4`) do 2.25x
   (F(4x4, 3x3)) to 4x fewer multiplications in the matrix product, but in NumPy each of
   their transforms is a separate pass over an array as large as the expanded tiles; in
   single-thread CPU time on the 3x3 layers of the benchmark table they measured 1.2-2.3x
   slower than im2col (e.g. 256 channels 14x14 batch 8: im2col 10.4 ms, F(2x2) 13.4 ms,
   F(4x4) 20.6 ms; 64->128 7x7 batch 128: 7.3, 17.5, 25.0 ms), so they stay opt-in.
"""

from __future__ import annotations

import math

from . import phase, shifted

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
    # -- end h17b ---------------------------------------------------------------------------
    O = tuple((s + b + a - d * (k - 1) - 1) // st + 1 for s, (b, a), d, k, st in
              zip(x_shape[2:], pads, dilation, w_shape[2:], stride))
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
