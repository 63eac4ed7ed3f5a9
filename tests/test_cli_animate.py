"""`convscope animate`: the option syntax, the files it writes, the one-line errors."""

import re

import numpy as np
import pytest
from PIL import Image

from convscope import arith
from convscope.cli import main
from convscope.cli.animate import parse_padding


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("text,expected", [
    ("1", 1), ("1x2", (1, 2)), ("same", "same"), ("VALID", "valid"),
    ("(0,1)", ((0, 1),)), ("(0,1),(2,3)", ((0, 1), (2, 3))), ("0-1x2-3", ((0, 1), (2, 3))),
    ("( 0, 1 ), (2,3)", ((0, 1), (2, 3))),
])
def test_padding_syntax(text, expected):
    assert parse_padding(text) == expected


@pytest.mark.parametrize("text", ["(0,1", "1x", "a", "(0,1)x(1,2)", "0-1x2"])
def test_bad_padding_syntax_is_named(text):
    with pytest.raises(ValueError, match="animate: --padding"):
        parse_padding(text)


def test_writes_a_gif_with_one_frame_per_position(capsys, tmp_path):
    path = tmp_path / "conv.gif"
    code, out, _ = run(capsys, "animate", "--input", "6x6", "--kernel", "3", "--stride", "2",
                       "--padding", "(0,1)", "--values", "-o", str(path))
    assert code == 0
    out_size = arith.conv_output_shape((6, 6), 3, 2, ((0, 1), (0, 1)))
    assert f"output {out_size[0]}x{out_size[1]}" in out
    with Image.open(path) as image:
        assert image.n_frames == out_size[0] * out_size[1] + 2
        assert image.size[0] > 300 and image.size[1] > 200


@pytest.mark.parametrize("ext", [".svg", ".html"])
def test_writes_svg_and_html(capsys, tmp_path, ext):
    path = tmp_path / f"conv{ext}"
    code, _, _ = run(capsys, "animate", "--input", "7", "--kernel", "3", "--padding", "1",
                     "--transposed", "--stride", "2", "--output-padding", "1", "-o", str(path))
    assert code == 0
    text = path.read_text()
    frames = arith.conv_transpose_output_size(7, 3, 2, 1, 1) + 2
    assert text.count('<g class="frame"') == frames
    assert "conv_transpose1d" in text


@pytest.mark.parametrize("argv,pattern", [
    (["--input", "5x5", "--stride", "2", "--padding", "same"],
     r"conv2d: padding='same' needs stride 1, got stride=\(2, 2\)"),
    (["--input", "2x2", "--kernel", "3"], "conv2d: kernel_size=\\(3, 3\\).*larger than the "
                                          "padded input 2"),
    (["--input", "5x0"], "input_size must be positive"),
    (["--input", "5x5x5"], "input_size must be W or \\(H, W\\)"),
    (["--kernel", "3y"], "--kernel must be an int"),
    (["--channels", "2"], "--channels must look like CIN,COUT"),
    (["--transposed", "--padding-mode", "circular"], "only padding_mode='zeros'"),
    (["-o", "conv.png"], "must end in .gif, .svg or .html"),
    # found by tests/test_fuzz_cli.py: a MemoryError (an "internal error") before
    (["--input", "100000x100000"], r"conv_animation: at most 64 cells per axis fit in a "
                                   r"picture, got input_size=\(100000, 100000\)"),
    (["--input", "5", "--kernel", "3", "--padding", "100000"], r"grid of \(200005,\)"),
    (["--input", "5", "--kernel", "3", "--transposed", "--stride", "100000"],
     r"at most 64 cells per axis"),
    # found by tests/test_fuzz_cli.py: an OverflowError writing the GIF before
    (["--frame-ms", "99999999999999999999999"], r"animate: --frame-ms must be an int from "
                                                r"20 to 60000 milliseconds, got --frame-ms=9"),
])
def test_errors_are_one_line(capsys, tmp_path, argv, pattern):
    code, _, err = run(capsys, "animate", *argv)
    assert code == 1
    assert len(err.strip().splitlines()) == 1 and err.startswith("convscope animate: error: ")
    assert re.search(pattern, err)


def test_help_shows_every_default(capsys):
    with pytest.raises(SystemExit):
        main(["animate", "--help"])
    out = capsys.readouterr().out
    for option in ("--input", "--kernel", "--padding", "--padding-mode", "--stride",
                   "--dilation", "--transposed", "--output-padding", "--channels", "--values",
                   "--output"):
        assert option in out
    assert out.count("(default:") >= 13


@pytest.mark.parametrize("frame_ms", [19, 60_001, 10 ** 30, 1.5, True, "700"])
def test_the_library_checks_frame_ms_too(tmp_path, frame_ms):
    from convscope.viz.animate import conv_animation
    from convscope.viz.animate_draw import save_animation, to_svg
    anim = conv_animation(5, 3)
    with pytest.raises(ValueError, match=r"layout: frame_ms must be an int from 20 to 60000"):
        to_svg(anim, frame_ms)
    with pytest.raises(ValueError, match=r"frame_ms must be an int"):
        save_animation(anim, tmp_path / "a.gif", frame_ms)
    assert not (tmp_path / "a.gif").exists()
