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
3. Everything else runs `im2col`. The Winograd kernels (`winograd2`, `winograd4`) do 2.25x
   (F(4x4, 3x3)) to 4x fewer multiplications in the matrix product, but in NumPy each of
   their transforms is a separate pass over an array as large as the expanded tiles; in
   single-thread CPU time on the 3x3 layers of the benchmark table they measured 1.2-2.3x
   slower than im2col (e.g. 256 channels 14x14 batch 8: im2col 10.4 ms, F(2x2) 13.4 ms,
   F(4x4) 20.6 ms; 64->128 7x7 batch 128: 7.3, 17.5, 25.0 ms), so they stay opt-in.
"""

from __future__ import annotations


def choose(x_shape, w_shape, stride, pads, dilation, groups) -> tuple[str, str]:
    """(algorithm name, the reason) for a convolution of these (batched) shapes."""
    C_in = x_shape[1]
    if all(k == 1 for k in w_shape[2:]):
        return "pointwise", "1x1 kernel: one matrix product per group, no unfold"
    if groups == C_in and w_shape[1] == 1 and C_in > 1:
        return "depthwise", ("depthwise (groups == in_channels): per-channel multiply-"
                             "accumulate over the kernel taps, no per-group matrix products")
    return "im2col", "general case: unfold into columns, then one matrix product per group"
