"""Tiled equals whole: `apply_tiled` against the model run on the whole image at once.

Integer-valued float64 weights and inputs make every sum exact, so the comparison is `==`
(pooling that divides uses power-of-two windows to stay exact, or a tolerance); float32
compares with a tolerance. The reference is the library's whole-image forward pass (itself
checked against PyTorch in the nn tests).
"""

import numpy as np
import pytest

from convscope import models, nn
from convscope.autograd import Tensor
from convscope.scale import apply_tiled, model_layers, plan_tiles, tile_geometry

D = np.float64


def _whole(model, x):
    y = model(x)
    return y.data if isinstance(y, Tensor) else y


def _integer_weights(model, rng):
    for p in model.parameters():
        p.data = rng.integers(-2, 3, p.data.shape).astype(p.data.dtype)
    for m in model.modules():
        if type(m).__name__.startswith("BatchNorm"):
            m.running_mean[...] = rng.integers(-2, 3, m.running_mean.shape)
            m.running_var[...] = 1.0
            m.eps = 0.0
    return model.eval()


def _check_exact(model, shape, chunks, seed=0):
    rng = np.random.default_rng(seed)
    model = _integer_weights(model, rng)
    x = rng.integers(-3, 4, shape).astype(D)
    want = _whole(model, x)
    y = apply_tiled(model, x, chunks=chunks)
    got = y.compute(scheduler="sync")
    assert y.shape == got.shape == want.shape
    np.testing.assert_array_equal(got, want)
    return y


CASES = {
    # odd kernel, 'same' padding, max pooling; prime sizes, not divisible by A = 2
    "odd-kernel-pool": (lambda: nn.Sequential(
        nn.Conv2d(2, 3, 3, padding=1, dtype=D), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(3, 2, 3, padding=1, dtype=D)), (2, 2, 53, 47), 8),
    # even kernel with padding='same' (asymmetric (1, 2)), reflect, 1-D
    "even-kernel-same-reflect": (lambda: nn.Sequential(
        nn.Conv1d(1, 2, 4, padding="same", padding_mode="reflect", dtype=D),
        nn.LeakyReLU(0.5), nn.Conv1d(2, 2, 2, padding="same", dtype=D)), (3, 1, 101), 7),
    # strides 2 and 3, dilation 2: A = 6
    "strides-dilation": (lambda: nn.Sequential(
        nn.Conv2d(1, 2, 3, stride=2, padding=2, dilation=2, dtype=D),
        nn.Conv2d(2, 2, 2, stride=3, dtype=D)), (1, 1, 59, 61), 12),
    # asymmetric explicit padding, replicate
    "asymmetric-replicate": (lambda: nn.Sequential(
        nn.Conv2d(1, 2, 3, padding=((2, 0), (0, 1)), padding_mode="replicate", dtype=D),
        nn.Conv2d(2, 1, (3, 2), stride=(1, 2), padding=((0, 2), (1, 1)), dtype=D)),
        (1, 1, 31, 29), 5),
    # max pooling with padding, dilation and ceil_mode; avg pooling (exact: 2x2 windows)
    "pools-ceil-mode": (lambda: nn.Sequential(
        nn.Conv2d(1, 2, 3, dtype=D), nn.MaxPool2d(3, 2, 1, dilation=2, ceil_mode=True),
        nn.AvgPool2d(2, 2, 1, ceil_mode=True),
        nn.AvgPool2d(2, 1, 1, count_include_pad=False)), (1, 1, 43, 37), 9),
    # transposed convolutions: an encoder-decoder (J = 1, A = 4) and output_padding
    "encoder-decoder": (lambda: nn.Sequential(
        nn.Conv2d(1, 2, 3, padding=1, dtype=D), nn.MaxPool2d(2),
        nn.Conv2d(2, 2, 3, stride=2, padding=1, dtype=D),
        nn.ConvTranspose2d(2, 2, 3, stride=2, padding=1, output_padding=1, dtype=D),
        nn.ConvTranspose2d(2, 1, 2, stride=2, dtype=D)), (2, 1, 37, 41), 8),
    "transposed-dilated": (lambda: nn.Sequential(
        nn.ConvTranspose1d(1, 2, 3, stride=3, padding=2, dilation=2, output_padding=1,
                           dtype=D), nn.Conv1d(2, 1, 3, stride=2, dtype=D)), (1, 1, 67), 5),
    # batch norm in eval mode, grouped convolution, 3-D
    "3d-batchnorm-groups": (lambda: nn.Sequential(
        nn.Conv3d(2, 4, 3, padding=1, groups=2, dtype=D), nn.BatchNorm3d(4, dtype=D),
        nn.ReLU(), nn.MaxPool3d(2, ceil_mode=True), nn.Conv3d(4, 2, 2, dtype=D)),
        (1, 2, 11, 13, 9), 4),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_tiled_equals_whole_exactly(name):
    build, shape, chunks = CASES[name]
    y = _check_exact(build(), shape, chunks)
    assert any(len(c) > 2 for c in y.chunks[2:])  # really tiled


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
def test_every_padding_mode(mode):
    def build():
        return nn.Sequential(
            nn.Conv2d(1, 2, 3, padding=(2, 1), dilation=(2, 1), padding_mode=mode, dtype=D),
            nn.Conv2d(2, 1, 3, padding=1, padding_mode=mode, dtype=D))
    # circular wraps around: one block along each axis it pads
    chunks = (64, 64) if mode == "circular" else (6, 5)
    _check_exact(build(), (1, 1, 23, 19), chunks)
    if mode == "circular":  # and tiled along the axis it does not pad
        model = nn.Sequential(nn.Conv2d(1, 1, 3, padding=(1, 0), padding_mode=mode,
                                        dtype=D))
        y = _check_exact(model, (1, 1, 23, 19), (64, 5))
        assert len(y.chunks[3]) > 1


@pytest.mark.parametrize("shape, chunks, blocks", [
    ((29,), 64, 1),           # a single block
    ((29,), 1, None),         # minimal blocks: as small as the halo and the alignment allow
    ((8 * 5 + 3,), 8, 5),     # a short last block (3 < 8/2) joins its neighbour
    ((8 * 5 + 5,), 8, 6),     # a last block of 5 >= 8/2 stays
    ((97,), 10, None),        # a prime size, not a multiple of A = 4
])
def test_image_sizes_and_blocks(shape, chunks, blocks):
    def build():
        return nn.Sequential(nn.Conv1d(1, 2, 3, padding=1, dtype=D), nn.MaxPool1d(2),
                             nn.Conv1d(2, 1, 3, stride=2, padding=1, dtype=D))
    y = _check_exact(build(), (2, 1) + shape, chunks)
    plan = plan_tiles(model_layers(build()), shape, chunks)
    if blocks is not None:
        assert len(plan.chunks[0]) == blocks
    if chunks == 1:  # minimal: each block is the halo or the alignment (4), whichever is more
        assert max(plan.chunks[0][:-1]) == max(plan.halo[0] + (4,))
    assert y.chunks[2] == plan.out_chunks[0]


def _random_chain(rng, n):
    """A random tileable stack over n spatial axes (float64), as the docstring's test says."""
    rank = ["1d", "2d", "3d"][n - 1]
    layers, c = [], 2
    for _ in range(rng.integers(1, 5)):
        kind = rng.choice(["conv", "conv", "max", "avg", "convt", "act"])
        K, S, d = int(rng.integers(1, 5)), int(rng.integers(1, 4)), int(rng.integers(1, 3))
        out = int(rng.integers(1, 4))
        if kind == "conv":
            mode = str(rng.choice(["zeros", "reflect", "replicate"]))
            r = rng.random()
            pad = ("same" if r < 0.25 and S == 1 else
                   tuple((int(rng.integers(0, K)), int(rng.integers(0, K))) for _ in range(n))
                   if r < 0.5 else int(rng.integers(0, K)))
            layers.append(getattr(nn, f"Conv{rank}")(c, out, K, stride=S, padding=pad,
                                                     dilation=d, padding_mode=mode, dtype=D))
            c = out
        elif kind == "convt":
            layers.append(getattr(nn, f"ConvTranspose{rank}")(
                c, out, K, stride=S, padding=int(rng.integers(0, K)),
                output_padding=int(rng.integers(0, max(S, d))), dilation=d, dtype=D))
            c = out
        elif kind == "max":
            layers.append(getattr(nn, f"MaxPool{rank}")(
                min(K, 3), S, int(rng.integers(0, min(K, 3) // 2 + 1)), dilation=d,
                ceil_mode=bool(rng.integers(0, 2))))
        elif kind == "avg":  # power-of-two windows keep the division exact
            layers.append(getattr(nn, f"AvgPool{rank}")(
                2, S, int(rng.integers(0, 2)), ceil_mode=bool(rng.integers(0, 2)),
                count_include_pad=bool(rng.integers(0, 2))))
        else:
            layers += [getattr(nn, f"BatchNorm{rank}")(c, dtype=D), nn.ReLU()]
    return nn.Sequential(*layers)


def _tiling_shape(rng, model, n, chunks):
    """An input shape whose spatial axes are small except one, drawn 2 to 3 blocks long
    (blocks of the size `plan_tiles` rounds `chunks` to), so that the halo code runs."""
    spatial = [int(rng.integers(5, [120, 40, 14][n - 1])) for _ in range(n)]
    tiled = int(rng.integers(0, n))
    g = tile_geometry(model_layers(model), n)[tiled]
    A = g.alignment
    step = max(A * -(-chunks // A), A * -(-max(g.halo + (A,)) // A))
    spatial[tiled] = 2 * step + int(rng.integers(0, step + 1))
    return (int(rng.integers(1, 3)), 2) + tuple(spatial)


@pytest.mark.parametrize("seed", range(40))
def test_random_stacks(seed):
    rng = np.random.default_rng(seed)
    while True:  # draw again until the stack has an output and tiles along some axis
        n = int(rng.integers(1, 4))
        model = _integer_weights(_random_chain(rng, n), rng)
        chunks = int(rng.integers(1, 12))
        shape = _tiling_shape(rng, model, n, chunks)
        x = rng.integers(-3, 4, shape).astype(D)
        try:
            want = _whole(model, x)
        except ValueError:
            continue
        if any(len(c) > 1 for c in plan_tiles(model_layers(model), shape[2:], chunks).chunks):
            break
    y = apply_tiled(model, x, chunks=chunks)
    assert any(len(c) > 1 for c in y.chunks[2:])  # really tiled: the halo code runs
    np.testing.assert_array_equal(y.compute(scheduler="sync"), want)


def test_reflect_padding_wider_than_the_map_is_refused_not_a_hang():
    """After pooling, a reflect (or circular) padding as wide as the map: the whole-image
    run refuses it, and so does the plan, at once (it used to double the block size
    forever once one block spanned the axis)."""
    import threading
    for mode, size in (("reflect", 8), ("circular", 4)):
        model = nn.Sequential(nn.MaxPool2d(4), nn.Conv2d(1, 1, 5, padding=2,
                                                         padding_mode=mode, dtype=D))
        x = np.zeros((1, 1, size, size))
        with pytest.raises(ValueError):
            model(x)
        for chunks in (1, 4, 64):
            errors = []

            def plan(chunks=chunks):
                try:
                    apply_tiled(model, x, chunks=chunks)
                except ValueError as exc:
                    errors.append(str(exc))
            worker = threading.Thread(target=plan, daemon=True)
            worker.start()
            worker.join(timeout=30)
            assert not worker.is_alive(), f"apply_tiled hangs ({mode}, chunks={chunks})"
            assert len(errors) == 1
            assert errors[0].startswith("apply_tiled: layer '1'") and mode in errors[0]
            assert f"got a map of {size // 4}" in errors[0]


def test_float32_default_model_with_tolerance():
    model = models.fashion_cnn(widths=(4, 8), rng=np.random.default_rng(1))
    from convscope.scale import conv_part
    part = conv_part(model).eval()
    x = np.random.default_rng(2).standard_normal((1, 1, 61, 75)).astype(np.float32)
    want = _whole(part, x)
    y = apply_tiled(part, x, chunks=16)
    got = y.compute(scheduler="threads")
    assert got.dtype == np.float32 and got.shape == want.shape == (1, 8, 15, 18)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_lazy_shape_and_chunks_are_the_computed_ones():
    build, shape, chunks = CASES["encoder-decoder"]
    model = _integer_weights(build(), np.random.default_rng(0))
    x = np.random.default_rng(1).integers(-3, 4, shape).astype(D)
    y = apply_tiled(model, x, chunks=chunks)
    for index in np.ndindex(*y.numblocks):
        block = y.blocks[index].compute(scheduler="sync")
        assert block.shape == tuple(c[i] for c, i in zip(y.chunks, index))
    assert y.compute(scheduler="sync").shape == y.shape


def test_synchronous_and_threaded_schedulers_agree():
    build, shape, chunks = CASES["odd-kernel-pool"]
    model = _integer_weights(build(), np.random.default_rng(0))
    x = np.random.default_rng(1).integers(-3, 4, shape).astype(D)
    y = apply_tiled(model, x, chunks=chunks)
    np.testing.assert_array_equal(y.compute(scheduler="sync"), y.compute(scheduler="threads"))


def test_dask_input_chunks_and_no_batch_axis():
    import dask.array as da
    model = _integer_weights(CASES["odd-kernel-pool"][0](), np.random.default_rng(0))
    x = np.random.default_rng(1).integers(-3, 4, (2, 40, 30)).astype(D)
    dx = da.from_array(x, chunks=(1, 7, 11))  # any input chunking is rechunked to the plan
    y = apply_tiled(model, dx, chunks=(16, 8))
    assert y.ndim == 3 and y.chunks[1] == (8, 8, 4)
    np.testing.assert_array_equal(y.compute(scheduler="sync"), _whole(model, x))
