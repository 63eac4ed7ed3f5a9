"""im2col's chunked paths (large layers; a strided forward without a weight gradient on
chunks of images): the same numbers as the direct reference."""

import numpy as np
import pytest

import convscope.functional as F
from convscope import Tensor, no_grad
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


@pytest.mark.parametrize("images_chunk_bytes", [1, 4000, 1 << 30],
                         ids=["one-image", "a-few-images", "one-chunk-per-thread"])
@pytest.mark.parametrize("case", [c for c in CASES if c[2] != 1])  # strided: compiled
def test_strided_forward_on_chunks_of_images_equals_direct(monkeypatch, images_chunk_bytes,
                                                           case):
    """Without a weight gradient, a strided layer's forward runs its threads on chunks of
    images (unfold, then the product at once, nothing kept): the output, and the input
    gradient through it, equal the direct reference's, and are the same bits on one thread
    (the chunks are fixed by the shape; 5 images: uneven chunks)."""
    from convscope.kernels import _parallel

    monkeypatch.setattr(im2col, "IMAGES_CHUNK_BYTES", images_chunk_bytes)
    spatial, K, stride, dilation, padding, groups = case
    rng = np.random.default_rng(7)
    x = rng.standard_normal((5, 4, *spatial))
    w = rng.standard_normal((8, 4 // groups, *K))
    calls = []
    real = im2col._forward_images
    monkeypatch.setattr(im2col, "_forward_images", lambda *a: calls.append(1) or real(*a))
    results = {}
    old = _parallel.get_num_threads()
    try:
        for algorithm, threads in (("im2col", 2), ("im2col", 1), ("direct", 2)):
            _parallel.set_num_threads(threads)
            y = F.conv(x, w, None, stride, padding, dilation, groups, algorithm=algorithm)
            xt = Tensor(x, requires_grad=True)  # the input's gradient only: w kept as is
            (F.conv(xt, w, None, stride, padding, dilation, groups, algorithm=algorithm)
             ** 2).sum().backward()
            with no_grad():  # inference with weights that want a gradient otherwise
                yn = F.conv(x, Tensor(w, requires_grad=True), None, stride, padding,
                            dilation, groups, algorithm=algorithm)
            results[algorithm, threads] = (np.asarray(y), xt.grad, np.asarray(yn))
    finally:
        _parallel.set_num_threads(old)
    assert len(calls) == 6  # every im2col run without a weight gradient, on 1 or 2 threads
    for ours, one, ref in zip(results["im2col", 2], results["im2col", 1],
                              results["direct", 2]):
        np.testing.assert_allclose(ours, ref, rtol=1e-10, atol=1e-10)
        np.testing.assert_array_equal(ours, one)  # chunks fixed by the shape: same bits
