"""im2col's chunked path (large layers): the same numbers as the direct reference."""

import numpy as np
import pytest

import convscope.functional as F
from convscope import Tensor
from convscope.kernels import im2col

# (spatial, kernel, stride, dilation, padding, groups)
CASES = [
    ((13,), (3,), 2, 1, 1, 1),
    ((7, 9), (3, 2), 1, 2, ((1, 0), (2, 1)), 2),
    ((5, 6, 4), (2, 3, 2), (2, 1, 1), 1, 1, 1),
    ((8, 8), (3, 3), 3, 1, 2, 4),
]


@pytest.mark.parametrize("chunk_bytes", [1, 300, 1 << 20],
                         ids=["row-by-row", "a-few-rows", "whole-images"])
@pytest.mark.parametrize("case", CASES)
def test_chunked_columns_equal_direct(monkeypatch, chunk_bytes, case):
    """Every layer chunked (CHUNKED_ABOVE = 0), in chunks of one row, a few rows or whole
    images: forward, input and weight gradients equal the direct reference's."""
    monkeypatch.setattr(im2col, "CHUNKED_ABOVE", 0)
    monkeypatch.setattr(im2col, "CHUNK_BYTES", chunk_bytes)
    spatial, K, stride, dilation, padding, groups = case
    rng = np.random.default_rng(len(spatial))
    x = rng.standard_normal((3, 4, *spatial))
    w = rng.standard_normal((8, 4 // groups, *K))
    results = []
    for algorithm in ("im2col", "direct"):
        xt, wt = Tensor(x, requires_grad=True), Tensor(w, requires_grad=True)
        y = F.conv(xt, wt, None, stride, padding, dilation, groups, algorithm=algorithm)
        (y * y).sum().backward()
        results.append((y.data, xt.grad, wt.grad))
    for ours, ref in zip(*results):
        np.testing.assert_allclose(ours, ref, rtol=1e-10, atol=1e-10)


def test_chunks_cover_every_output_once():
    for N, out_size, ck in [(3, (7, 5), 10), (1, (40,), 3), (5, (2, 3, 4), 1000)]:
        seen = np.zeros((N, out_size[0]), dtype=int)
        for sel, r0, r1 in im2col._chunks(N, out_size, ck, 4):
            seen[sel, r0:r1] += 1
        assert np.all(seen == 1)
