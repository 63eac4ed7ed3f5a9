"""`algorithm='auto'`: which kernel runs a convolution, decided by its shape.

The rules, in order, and the measurements behind them (this machine: 2 cores, OpenBLAS
SkylakeX kernel; `benchmarks/conv_layers.py` and single-thread CPU-time comparisons of the
algorithms on the same layers):

1. A 1x1 kernel runs `pointwise`: one matrix product per group and no unfold. It does the
   same product as im2col without the copy into columns (im2col's unfold of a 1x1 layer is
   a plain copy of the input).
2. A depthwise layer (groups == in_channels, one input channel per filter) runs `depthwise`:
   per-channel multiply-accumulate over the taps. im2col would run one tiny matrix product
   per group (C_out/G x K per group, e.g. 1 x 9) after a 9x unfold.
3. A layer with a large output map runs `shifted` (the columns as views of the
   flattened padded input, copied only in cache-sized chunks of contiguous runs; no
   col2im; a stride > 1 splits the input into its stride phases first) when all hold:
   * prod(grid) / prod(output size) <= 1.35, the grid being the output plus the largest
     tap offset d(K-1)//s per axis (it computes the product on the whole grid: 1.07x at
     56x56 and 1.31x at 14x14 for a 3x3 stride-1 layer, but 1.65x at 7x7);
   * at least 64 rows in the columns (C_in/G prod(K)): a 1-channel 3x3 layer's columns are
     cheap for im2col too, and its weight gradient is one long product either way;
   * at most 2^17 weights per group: the weight gradient adds one weight-sized partial sum
     per chunk, which costs more than it saves for wide layers (256->256 3x3: 590k).
   * with a stride > 1, at most 192 rows: the few-channel stems whose strided windows are
     slowest to unfold (ResNet's 3->64 7x7 stride 2 at 224x224, batch 8: 11.0/17.1/14.0
     -> 6.4/12.3/11.5 ms), not 3x3 stride-2 layers of 32 or 64 channels, whose columns
     im2col makes quickly (64->128 at 56x56: 4.1/4.8/2.7 -> 4.6/7.3/4.2).
   Measured (2 threads, SkylakeX kernel, min of 20-30 alternating calls; im2col -> shifted,
   forward / input gradient / weight gradient, ms): 64->64 56x56 batch 8
   7.6/10.5/9.7 -> 5.9/6.2/6.3; conv3d 16->32 16x64x64 batch 2 32.4/39.4/30.9 ->
   19.0/24.6/18.2; conv1d 64->64 L=4096 k5 batch 32 22.6/22.8/28.5 -> 18.7/18.7/30.0;
   32->64 14x14 batch 128 4.1/7.8/3.8 -> 4.1/5.9/4.4; and the other way on 7x7 maps
   (64->128 batch 128: 4.3/6.0/2.9 -> 4.1/5.5/4.1) and on 256 and 512 channels.
4. Everything else runs `im2col`. The Winograd kernels (`winograd2`, `winograd4`) do 2.25x
   (F(4x4, 3x3)) to 4x fewer multiplications in the matrix product, but in NumPy each of
   their transforms is a separate pass over an array as large as the expanded tiles; in
   single-thread CPU time on the 3x3 layers of the benchmark table they measured 1.2-2.3x
   slower than im2col (e.g. 256 channels 14x14 batch 8: im2col 10.4 ms, F(2x2) 13.4 ms,
   F(4x4) 20.6 ms; 64->128 7x7 batch 128: 7.3, 17.5, 25.0 ms), so they stay opt-in.
"""

from __future__ import annotations

import math

#: `shifted`'s limits (rule 3): grid / output size, columns' rows, weights per group.
SHIFTED_MAX_WASTE = 1.35
SHIFTED_MIN_ROWS = 64
SHIFTED_MAX_WEIGHTS = 1 << 17
SHIFTED_STRIDED_MAX_ROWS = 192


def choose(x_shape, w_shape, stride, pads, dilation, groups) -> tuple[str, str]:
    """(algorithm name, the reason) for a convolution of these (batched) shapes."""
    C_in = x_shape[1]
    if all(k == 1 for k in w_shape[2:]):
        return "pointwise", "1x1 kernel: one matrix product per group, no unfold"
    if groups == C_in and w_shape[1] == 1 and C_in > 1:
        return "depthwise", ("depthwise (groups == in_channels): per-channel multiply-"
                             "accumulate over the kernel taps, no per-group matrix products")
    O = [(s + b + a - d * (k - 1) - 1) // st + 1 for s, (b, a), d, k, st in
         zip(x_shape[2:], pads, dilation, w_shape[2:], stride)]
    grid = [o + d * (k - 1) // st for o, d, k, st in zip(O, dilation, w_shape[2:], stride)]
    waste = math.prod(grid) / max(1, math.prod(O))
    rows = math.prod(w_shape[1:])
    strided = any(st > 1 for st in stride)
    if (waste <= SHIFTED_MAX_WASTE and rows >= SHIFTED_MIN_ROWS
            and w_shape[0] // groups * rows <= SHIFTED_MAX_WEIGHTS
            and (not strided or rows <= SHIFTED_STRIDED_MAX_ROWS)):
        how = "split into stride phases, then " if strided else ""
        return "shifted", (f"a large map: {how}the columns as views of the flat padded "
                           f"input ({waste:.2f}x the outputs computed), no unfold copy of "
                           f"strided windows and no col2im")
    return "im2col", "general case: unfold into columns, then one matrix product per group"
