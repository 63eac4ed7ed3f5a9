"""The tiling arithmetic: r, J, P against `arith`'s receptive fields and the lecture's closed
forms; the halo is exactly enough (one pixel less on either side, or a block start off the
alignment, loses outputs); blocks; clear errors for layers that cannot be tiled."""

from fractions import Fraction

import numpy as np
import pytest

from convscope import arith, models, nn
from convscope.scale import (NotTileableError, apply_tiled, conv_part, model_layers,
                             plan_tiles, tile_geometry)


def _down_chains():
    """(model, [(kernel, stride, padding_before, dilation)] for rf_stack) pairs."""
    return [
        (nn.Sequential(*[nn.Conv2d(1, 1, 3, padding=1) for _ in range(4)]),
         [(3, 1, 1, 1)] * 4),
        (nn.Sequential(nn.Conv1d(1, 2, 5, stride=2, padding=2), nn.ReLU(),
                       nn.MaxPool1d(3, 2, 1), nn.Conv1d(2, 2, 3, dilation=2, padding=1)),
         [(5, 2, 2, 1), (3, 2, 1, 1), (3, 1, 1, 2)]),
        (nn.Sequential(nn.Conv2d(1, 2, 4, padding="same"), nn.AvgPool2d(2),
                       nn.Conv2d(2, 2, 3, stride=3, padding=((2, 0), (0, 1)))),
         [(4, 1, 1, 1), (2, 2, 0, 1), (3, 3, 2, 1)]),
        (nn.Sequential(nn.Conv1d(1, 1, 1, stride=2), nn.Conv1d(1, 1, 1, stride=3)),
         [(1, 2, 0, 1), (1, 3, 0, 1)]),
    ]


@pytest.mark.parametrize("index", range(4))
def test_geometry_matches_arith_receptive_field(index):
    model, spec = _down_chains()[index]
    field = arith.rf_stack(spec, ndim=1)
    g = tile_geometry(model_layers(model), 1)[0]
    r, J, P = field.size[0], field.jump[0], field.padding[0]
    assert (g.receptive_field, g.jump, g.effective_padding) == (r, J, P)
    assert g.alignment == J  # a chain of downsampling layers: the largest cumulative stride
    assert g.halo == (P, max(r - J - P, 0))


@pytest.mark.parametrize("layers", [1, 2, 5])
def test_stacked_3x3_closed_form(layers):
    """L stacked 3x3 'same' layers see 1 + 2L and borrow L pixels on each side."""
    model = nn.Sequential(*[nn.Conv2d(1, 1, 3, padding=1) for _ in range(layers)])
    for g in tile_geometry(model_layers(model), 2):
        assert (g.receptive_field, g.jump, g.halo) == (1 + 2 * layers, 1, (layers, layers))


def test_alignment_is_lcm_of_cumulative_strides():
    """Down by 2, up by 2, down by 3: cumulative strides 2, 1, 3 -> blocks start at 6k."""
    model = nn.Sequential(nn.MaxPool1d(2), nn.ConvTranspose1d(1, 1, 2, stride=2),
                          nn.Conv1d(1, 1, 3, stride=3))
    g = tile_geometry(model_layers(model), 1)[0]
    assert g.jump == Fraction(3) and g.alignment == 6
    up = tile_geometry(model_layers(nn.Sequential(nn.ConvTranspose1d(1, 1, 3, stride=2))),
                       1)[0]
    assert up.jump == Fraction(1, 2) and up.alignment == 1


def test_blocks_aligned_cover_and_merge_a_short_last_block():
    layers = model_layers(nn.Sequential(nn.Conv2d(1, 1, 3, padding=1), nn.MaxPool2d(2),
                                        nn.Conv2d(1, 1, 3, padding=1), nn.MaxPool2d(2)))
    plan = plan_tiles(layers, (101, 64), 10)  # 10 -> 12, a multiple of A = 4
    rows, cols = plan.starts
    assert all(b % 4 == 0 for b in rows[:-1] + cols[:-1])
    assert rows[-1] == 101 and rows[-2] == 96 - 12  # 96..101 (5 < 6) joined 84..96
    assert plan.out_starts[0] == tuple(b // 4 for b in rows[:-1]) + (25,)
    assert sum(plan.out_chunks[0]) == 25 and sum(plan.out_chunks[1]) == 16
    single = plan_tiles(layers, (17, 9), 64)
    assert single.starts == ((0, 17), (0, 9))


def _plans_with_less(model, shape, chunks):
    """Plans with each halo side one pixel smaller, and with each block start moved."""
    layers = model_layers(model)
    plan = plan_tiles(layers, shape, chunks)
    for axis, (left, right) in enumerate(plan.halo):
        for side, amount in ((0, left), (1, right)):
            if amount:
                halo = [list(h) for h in plan.halo]
                halo[axis][side] -= 1
                yield "halo", dict(halo=halo)
    for axis, starts in enumerate(plan.starts):
        for k in range(1, len(starts) - 2):  # the last start's halo reaches the border
            for shift in (-1, 1):
                moved = [list(s[:-1]) for s in plan.starts]
                moved[axis][k] += shift
                yield "start", dict(starts=moved)


SENSITIVE = [
    (nn.Sequential(nn.Conv2d(1, 1, 3, padding=1), nn.MaxPool2d(2), nn.Conv2d(1, 1, 4,
                                                                             padding=1)),
     (37, 29), 8),
    (nn.Sequential(nn.Conv1d(1, 1, 3, stride=2, padding=1), nn.Conv1d(1, 1, 3, stride=2,
                                                                      padding=1)), (61,), 8),
    (nn.Sequential(nn.Conv1d(1, 1, 5, dilation=2, padding=(3,)), nn.AvgPool1d(3, 3)),
     (50,), 9),
]


@pytest.mark.parametrize("index", range(len(SENSITIVE)))
def test_one_pixel_less_or_a_block_start_off_alignment_fails(index):
    model, shape, chunks = SENSITIVE[index]
    layers = model_layers(model)
    plan_tiles(layers, shape, chunks)  # the derived plan works
    tried = 0
    for what, override in _plans_with_less(model, shape, chunks):
        with pytest.raises(ValueError, match="too small or the block start is off"):
            plan_tiles(layers, shape, chunks, **override)
        tried += 1
    assert tried >= 3


def test_too_small_halo_would_give_wrong_numbers():
    """Bypassing the check: the block with one pixel too little cannot produce its first
    output, so the tiled result cannot be the whole-image one."""
    model = nn.Sequential(nn.Conv1d(1, 1, 3, padding=1), nn.Conv1d(1, 1, 3, padding=1))
    layers = model_layers(model)
    plan = plan_tiles(layers, (40,), 10)
    assert plan.halo == ((2, 2),)
    from convscope.scale import run_block
    x = np.arange(40, dtype=np.float32)[None, None]
    _, good = run_block(layers, x[..., 8:22], [(8, 22)], (40,))
    _, short = run_block(layers, x[..., 9:22], [(9, 22)], (40,))
    assert good == [(10, 20)] and short == [(11, 20)]


# -- what cannot be tiled ----------------------------------------------------------------------
@pytest.mark.parametrize("layer, name, pattern", [
    (nn.Flatten(), "Flatten", "turns the positions into features"),
    (nn.Linear(4, 2), "Linear", "fully connected"),
    (nn.AdaptiveAvgPool2d(1), "AdaptiveAvgPool2d", "global / adaptive pooling"),
    (nn.BatchNorm2d(2), "BatchNorm2d", "training mode"),
    (nn.Dropout(0.5), "Dropout", "call model.eval"),
])
def test_untileable_layer_is_named(layer, name, pattern):
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), layer)
    with pytest.raises(NotTileableError, match=rf"layer '2' \({name}\).*{pattern}"):
        apply_tiled(model, np.zeros((1, 1, 9, 9), np.float32))


def test_circular_padding_needs_one_block_along_the_axis():
    model = nn.Sequential(nn.Conv2d(1, 1, 3, padding=(1, 0), padding_mode="circular"))
    x = np.zeros((1, 20, 20), np.float32)
    apply_tiled(model, x, chunks=(20, 4))  # wraps along axis 0 only: one block there
    with pytest.raises(ValueError, match="layer '0' pads circularly.*axis 0.*at least 20"):
        apply_tiled(model, x, chunks=(8, 20))


@pytest.mark.parametrize("call, error, pattern", [
    (lambda m: apply_tiled(m, np.zeros((9, 9), np.float32)), ValueError,
     r"apply_tiled: the model has 2 spatial dimensions.*got shape \(9, 9\)"),
    (lambda m: apply_tiled(m, np.zeros((3, 9, 9), np.float32)), ValueError,
     "first convolution wants 1 channels, got image with 3"),
    (lambda m: apply_tiled(m, [[1.0]]), TypeError, "image must be a Dask or NumPy array"),
    (lambda m: apply_tiled(m, np.zeros((1, 9, 9), np.float32), chunks=0), ValueError,
     "chunks must be a positive int"),
    (lambda m: apply_tiled(m, np.zeros((1, 2, 9), np.float32)), ValueError,
     "layer '0' gets no output from an input of 2 along spatial axis 0"),
    (lambda m: apply_tiled(object(), np.zeros((1, 9, 9))), TypeError,
     "model must be a convscope nn.Module"),
])
def test_bad_arguments(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call(nn.Sequential(nn.Conv2d(1, 2, 3)))


def test_conv_part_of_the_default_model():
    model = models.fashion_cnn(widths=(4, 8), rng=np.random.default_rng(0))
    part = conv_part(model)
    assert [type(m).__name__ for m in part] == ["Conv2d", "MaxPool2d", "BatchNorm2d",
                                                "ReLU"] * 2
    assert part[0] is model[0]
    g = tile_geometry(model_layers(part.eval()), 2)[0]
    # two (3x3 'same' conv, 2x2 pool) stages: r = 1 + 2 + 1 + 2*2 + 2 = 10, J = 4, P = 1 + 2
    assert (g.receptive_field, g.jump, g.effective_padding, g.halo) == (10, 4, 3, (3, 3))
    with pytest.raises(NotTileableError, match="first layer '0' \\(Flatten\\)"):
        conv_part(nn.Sequential(nn.Flatten(), nn.Conv2d(1, 1, 3)))
