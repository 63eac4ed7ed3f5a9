"""Convolution animations: the frames, sizes and values against PyTorch and arith, the
library's errors for bad settings, and the GIF / SVG / HTML files."""

import itertools
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

from convscope import arith
from convscope import functional as F
from convscope import nn
from convscope.viz.animate import INPUT, PAD, ZERO, conv_animation
from convscope.viz.animate_draw import render_frames, save_animation, to_html, to_svg

# (input, kernel, stride, padding, dilation, transposed, output_padding): the
# conv_arithmetic settings and their transposed twins, plus dilated and asymmetric ones
SETTINGS = [
    ((4, 4), 3, 1, 0, 1, False, 0),        # no padding, no strides
    ((5, 5), 4, 1, 2, 1, False, 0),        # arbitrary padding
    ((5, 5), 3, 1, 1, 1, False, 0),        # half / same padding
    ((5, 5), 3, 1, 2, 1, False, 0),        # full padding
    ((5, 5), 3, 2, 0, 1, False, 0),        # strides, no padding
    ((5, 5), 3, 2, 1, 1, False, 0),        # strides with padding
    ((6, 6), 3, 2, 1, 1, False, 0),        # the odd case (a row dropped)
    ((7, 7), 3, 1, 0, 2, False, 0),        # dilation
    ((2, 2), 3, 1, 0, 1, True, 0),         # the transposed twins
    ((6, 6), 4, 1, 2, 1, True, 0),
    ((5, 5), 3, 1, 1, 1, True, 0),
    ((7, 7), 3, 1, 2, 1, True, 0),
    ((2, 2), 3, 2, 0, 1, True, 0),
    ((3, 3), 3, 2, 1, 1, True, 0),
    ((3, 3), 3, 2, 1, 1, True, 1),
    ((3, 3), 3, 1, 0, 2, True, 0),
    ((9,), 3, 2, 1, 1, False, 0),          # 1-D
    ((6,), 2, 3, 0, 2, True, 2),
    ((5, 6), (3, 2), (2, 1), ((1, 0), (0, 2)), (1, 2), False, 0),
    ((3, 4), (2, 3), (2, 3), ((1, 0), (0, 2)), (1, 2), True, (1, 0)),
]


def _torch_output(x, w, b, stride, padding, dilation, transposed, output_padding, mode):
    n = x.ndim - 1
    pairs = [(p, p) if isinstance(p, int) else p for p in
             (padding if isinstance(padding, tuple) else (padding,) * n)]
    xt, wt, bt = (torch.from_numpy(a) for a in (x[None], w, b))
    if transposed:
        assert all(a == b for a, b in pairs)  # torch takes symmetric padding only
        conv = (TF.conv_transpose1d, TF.conv_transpose2d)[n - 1]
        return conv(xt, wt, bt, stride=stride, padding=tuple(a for a, _ in pairs),
                    output_padding=output_padding, dilation=dilation)[0].numpy()
    flat = tuple(v for pair in reversed(pairs) for v in pair)
    padded = TF.pad(xt, flat, mode="constant" if mode == "zeros" else mode)
    conv = (TF.conv1d, TF.conv2d)[n - 1]
    return conv(padded, wt, bt, stride=stride, dilation=dilation)[0].numpy()


def _symmetric(padding):
    if isinstance(padding, int):
        return True
    return all(not isinstance(p, tuple) or p[0] == p[1] for p in padding)


@pytest.mark.parametrize("setting", SETTINGS)
def test_frames_and_sizes_match_torch_and_arith(setting):
    size, k, s, p, d, transposed, op = setting
    anim = conv_animation(size, k, s, p, d, transposed=transposed, output_padding=op,
                          channels=(2, 3), values=True, seed=1)
    n = len(size)
    per_axis = lambda v: v if isinstance(v, tuple) else (v,) * n
    pairs = tuple((q, q) if isinstance(q, int) else q for q in per_axis(p))
    if transposed:
        expected = arith.conv_transpose_output_shape(size, k, s, pairs, op, d)
    else:
        expected = arith.conv_output_shape(size, k, s, pairs, d)
    assert anim.output_size == expected
    # one frame per output position, plus the held first and last
    assert len(anim.frames) == int(np.prod(expected)) + 2
    assert [f.position for f in anim.frames[1:-1]] == list(
        itertools.product(*(range(o) for o in expected)))
    assert anim.frames[0].position is None and not anim.frames[0].done.any()
    assert anim.frames[-1].position is None and anim.frames[-1].done.all()
    # the values: the library's output equals PyTorch's, and every frame's window (the taps
    # drawn) times the drawn kernel plus the bias gives that position's output
    x, b = anim.x, anim.bias
    w = (np.flip(np.swapaxes(anim.weight, 0, 1), axis=tuple(range(2, 2 + n))) if transposed
         else anim.weight)
    if transposed and not _symmetric(p):
        ref = F.conv_transpose(x, w, b, s, pairs, op, 1, d)  # torch has no asymmetric pair
    else:
        ref = _torch_output(x, w, b, s, p, d, transposed, op, "zeros")
    assert anim.y.shape == ref.shape
    np.testing.assert_allclose(anim.y, ref, atol=1e-9)
    for frame in anim.frames[1:-1]:
        np.testing.assert_allclose(frame.partial.sum(axis=1) + b,
                                   ref[(slice(None), *frame.position)], atol=1e-9)
        assert len(frame.taps) == int(np.prod(per_axis(k)))


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("size,padding", [((5, 4), 2), ((6,), ((1, 3),)),
                                          ((4, 5), ((2, 1), (0, 3)))])
def test_padding_modes_show_the_values_torch_pads_with(mode, size, padding):
    anim = conv_animation(size, 3, 2, padding, 1, padding_mode=mode, values=True, seed=3)
    n = len(size)
    pairs = padding if isinstance(padding, tuple) else ((padding, padding),) * n
    flat = tuple(v for pair in reversed(pairs) for v in pair)
    padded = TF.pad(torch.from_numpy(anim.x[None]), flat,
                    mode="constant" if mode == "zeros" else mode)[0].numpy()
    np.testing.assert_array_equal(anim.grid_values, padded)
    assert (anim.grid_kinds == PAD).sum() == padded[0].size - int(np.prod(size))
    ref = _torch_output(anim.x, anim.weight, anim.bias, 2, pairs, 1, False, 0, mode)
    np.testing.assert_allclose(anim.y, ref, atol=1e-9)
    np.testing.assert_allclose(anim.frames[-2].partial.sum(axis=1) + anim.bias,
                               ref[(slice(None), *anim.frames[-2].position)], atol=1e-9)


def test_transposed_grid_is_the_stretched_padded_input():
    # conv_arithmetic's "padding, strides, transposed": 3x3 input, K3, S2, P1 -> 5x5; one
    # zero between the cells and d(K-1) - P = 1 of padding around them
    anim = conv_animation((3, 3), 3, 2, 1, transposed=True)
    assert anim.output_size == (5, 5) and anim.grid_size == (7, 7)
    row = anim.grid_kinds[1]
    assert list(row) == [PAD, INPUT, ZERO, INPUT, ZERO, INPUT, PAD]
    assert (anim.grid_kinds == INPUT).sum() == 9


@pytest.mark.parametrize("size,k,s,p,d", [(6, 3, 2, 0, 1), (7, 3, 3, 0, 1), (10, 3, 4, 1, 2),
                                          (5, 2, 2, 0, 1), (8, 1, 5, 0, 1)])
def test_dropped_rows_equal_arith_and_a_brute_force_count(size, k, s, p, d):
    anim = conv_animation((size,), k, s, p, d)
    assert anim.dropped == (arith.unused_input(size, k, s, p, d),)
    # independent count: grid cells (the padded input) that no tap of any window reaches
    reached = {o * s + t * d for o in range(anim.output_size[0]) for t in range(k)}
    assert anim.uncovered == (tuple(g for g in range(size + 2 * p) if g not in reached),)
    last_input = p + size - 1
    assert anim.dropped[0] == sum(1 for g in anim.uncovered[0]
                                  if g > max(reached) and g <= last_input)


def test_formula_names_the_floor_only_when_the_stride_does_not_divide():
    assert anim_formula((5, 5), 3, 2, 1) == "H' = W' = (H - K + 2P)/S + 1 = (5 - 3 + 2*1)/2 + 1 = 3"
    assert "floor" in anim_formula((6, 6), 3, 2, 1)
    assert anim_formula((6, 6), 3, 2, 1).endswith(f"= {arith.conv_output_size(6, 3, 2, 1)}")


def anim_formula(size, k, s, p):
    (line,) = conv_animation(size, k, s, p).formulas
    return line


def _library_error(call):
    with pytest.raises((ValueError, TypeError)) as info:
        call()
    return type(info.value), str(info.value)


x2 = np.zeros((1, 1, 4, 4))
w2 = np.zeros((1, 1, 3, 3))
BAD = [  # (animation kwargs, the same setting given to the library)
    (dict(input_size=(2, 2), kernel_size=3), lambda: F.conv2d(x2[..., :2, :2], w2)),
    (dict(input_size=(4, 4), kernel_size=3, stride=2, padding="same"),
     lambda: F.conv2d(x2, w2, stride=2, padding="same")),
    (dict(input_size=(4, 4), kernel_size=3, dilation=2),
     lambda: F.conv2d(x2, w2, dilation=2)),
    (dict(input_size=(4, 4), kernel_size=3, stride=0), lambda: F.conv2d(x2, w2, stride=0)),
    (dict(input_size=(4, 4), kernel_size=3, padding=-1), lambda: F.conv2d(x2, w2, padding=-1)),
    (dict(input_size=(4, 4), kernel_size=3, padding="same", transposed=True),
     lambda: F.conv_transpose2d(x2, w2, padding="same")),
    (dict(input_size=(4, 4), kernel_size=3, stride=2, output_padding=2, transposed=True),
     lambda: F.conv_transpose2d(x2, w2, stride=2, output_padding=2)),
    (dict(input_size=(2, 2), kernel_size=3, padding=2, padding_mode="reflect"),
     lambda: nn.Conv2d(1, 1, 3, padding=2, padding_mode="reflect")(x2[..., :2, :2])),
]


@pytest.mark.parametrize("kwargs,library", BAD)
def test_bad_settings_get_the_librarys_error(kwargs, library):
    kind, message = _library_error(library)
    with pytest.raises(kind) as info:
        conv_animation(**kwargs)
    assert str(info.value) == message


@pytest.mark.parametrize("kwargs,pattern", [
    (dict(input_size=(3, 3, 3), kernel_size=1), "input_size must be W or \\(H, W\\)"),
    (dict(input_size=(4, 4), kernel_size=3, channels=(5, 1)), "at most 4 input"),
    (dict(input_size=(4, 4), kernel_size=3, padding_mode="mirror"), "padding_mode must be"),
    (dict(input_size=(4, 4), kernel_size=3, transposed=True, padding_mode="reflect"),
     "only padding_mode='zeros'"),
    (dict(input_size=(4, 4), kernel_size=3, output_padding=1), "transposed convolution only"),
])
def test_settings_the_picture_cannot_show_are_named(kwargs, pattern):
    with pytest.raises((ValueError, TypeError), match=pattern):
        conv_animation(**kwargs)


def test_gif_svg_and_html_hold_every_frame(tmp_path):
    from PIL import Image
    anim = conv_animation((4, 4), 3, 1, 1, values=True)  # 16 positions
    gif = tmp_path / "conv.gif"
    save_animation(anim, gif, frame_ms=300)
    with Image.open(gif) as image:
        assert image.n_frames == 18
        durations = []
        for k in range(image.n_frames):
            image.seek(k)
            durations.append(image.info["duration"])
            if k in (0, 9, 17):  # a drawn frame, not blank
                assert len(np.unique(np.asarray(image.convert("L")))) > 5
    assert durations[1:-1] == [300] * 16 and durations[0] > 300 and durations[-1] > 300
    # the decoded frames (each stores only the pixels that changed) are the drawn frames
    drawn, _ = render_frames(anim)
    with Image.open(gif) as image:
        for k in range(image.n_frames):
            image.seek(k)
            diff = np.abs(np.asarray(image.convert("RGB"), float) - np.asarray(drawn[k], float))
            assert diff.mean() < 2.0, k
    svg = to_svg(anim)
    assert svg.count('<g class="frame"') == 18 and svg.count("<animate ") == 18
    page = to_html(anim)
    assert page.count('<g class="frame"') == 18 and "http" not in page.replace(
        'xmlns="http://www.w3.org/2000/svg"', "")
    # the last frame shows every output value the library computed
    for v in anim.y.ravel():
        assert re.search(rf">{int(v)}</text>", svg.rsplit('<g class="frame"', 1)[1])


def test_frames_differ_and_the_window_moves():
    images, durations = render_frames(conv_animation((5,), 3))
    arrays = [np.asarray(im) for im in images]
    assert len(arrays) == 5 and len(durations) == 5
    assert all((a != b).any() for a, b in zip(arrays, arrays[1:]))
