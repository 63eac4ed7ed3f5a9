"""`scale.io.read_image`: every kind of pixel Pillow reads comes back as its colours on the
0..1 scale (or is refused by name), with a size limit of its own and no global PIL state
touched. Each file is written here with Pillow; the expected values are computed from the
pixels written, not read back."""

import threading

import numpy as np
import pytest

from convscope.scale import io

Image = pytest.importorskip("PIL.Image")

RAMP8 = np.arange(256, dtype=np.uint8).reshape(16, 16)


def _read(path):
    image = io.read_image(path)
    assert image.dtype == np.float32 and image.flags.c_contiguous
    return image


def test_a_solid_red_gif_reads_as_red(tmp_path):
    Image.new("RGB", (6, 5), (255, 0, 0)).save(tmp_path / "red.gif")
    assert Image.open(tmp_path / "red.gif").mode == "P"  # a palette image
    got = _read(tmp_path / "red.gif")
    assert got.shape == (3, 5, 6)
    np.testing.assert_array_equal(got[0], 1.0)
    np.testing.assert_array_equal(got[1:], 0.0)


def test_palette_colours_and_a_grey_palette(tmp_path):
    rng = np.random.default_rng(0)
    palette = rng.integers(0, 256, (256, 3), dtype=np.uint8)
    index = rng.integers(0, 256, (7, 9), dtype=np.uint8)
    image = Image.fromarray(index, mode="L").convert("P")
    image.putpalette(palette.ravel().tolist())
    image.save(tmp_path / "p.png")
    np.testing.assert_allclose(_read(tmp_path / "p.png"),
                               np.moveaxis(palette[index], -1, 0) / 255, atol=1e-7)
    # a grey GIF (palette all grey) reads as one grey channel
    Image.fromarray(RAMP8).save(tmp_path / "grey.gif")
    np.testing.assert_allclose(_read(tmp_path / "grey.gif"), RAMP8[None] / 255, atol=1e-7)


def test_palette_with_a_transparent_colour_has_alpha(tmp_path):
    image = Image.new("P", (4, 3), 1)
    image.putpalette([10, 20, 30, 200, 100, 50] + [0] * 762)
    image.putpixel((0, 0), 0)
    image.save(tmp_path / "t.png", transparency=0)
    got = _read(tmp_path / "t.png")
    assert got.shape == (4, 3, 4)
    np.testing.assert_allclose(got[:3, 1, 1], np.array([200, 100, 50]) / 255, atol=1e-7)
    assert got[3, 0, 0] == 0.0 and got[3, 1, 1] == 1.0


def test_grey_alpha(tmp_path):
    grey = RAMP8
    alpha = RAMP8[::-1]
    Image.fromarray(np.stack([grey, alpha], -1), mode="LA").save(tmp_path / "la.png")
    np.testing.assert_allclose(_read(tmp_path / "la.png"), np.stack([grey, alpha]) / 255,
                               atol=1e-7)


def test_cmyk_reads_as_rgb(tmp_path):
    Image.new("CMYK", (3, 2), (0, 255, 255, 0)).save(tmp_path / "red.tif")
    got = _read(tmp_path / "red.tif")
    assert got.shape == (3, 2, 3)
    np.testing.assert_array_equal(got[:, 0, 0], [1.0, 0.0, 0.0])
    Image.new("CMYK", (3, 2), (0, 0, 0, 255)).save(tmp_path / "black.tif")
    np.testing.assert_array_equal(_read(tmp_path / "black.tif"), 0.0)


@pytest.mark.parametrize("mode,suffix", [("I;16", ".png"), ("I;16", ".tif"),
                                         ("I;16B", ".tif")])
def test_sixteen_bit_ramp_equals_the_eight_bit_ramp_scaled(tmp_path, mode, suffix):
    ramp16 = RAMP8.astype(np.uint16) * 257  # 255 -> 65535
    raw = ramp16.astype(">u2" if mode.endswith("B") else "<u2").tobytes()
    Image.frombytes(mode, (16, 16), raw).save(tmp_path / f"r{suffix}")
    Image.fromarray(RAMP8).save(tmp_path / "r8.png")
    got = _read(tmp_path / f"r{suffix}")
    assert got.max() == 1.0
    np.testing.assert_allclose(got, _read(tmp_path / "r8.png"), atol=1e-7)


def test_float_tiff_is_read_as_stored_and_one_bit_as_0_1(tmp_path):
    values = np.linspace(0, 1, 20, dtype=np.float32).reshape(4, 5)
    Image.fromarray(values, mode="F").save(tmp_path / "f.tif")
    np.testing.assert_array_equal(_read(tmp_path / "f.tif"), values[None])
    bits = RAMP8 % 3 == 0
    Image.fromarray(bits).save(tmp_path / "b.png")
    assert Image.open(tmp_path / "b.png").mode == "1"
    np.testing.assert_array_equal(_read(tmp_path / "b.png"), bits[None].astype(np.float32))


def test_eight_bit_rgb_rgba_unchanged(tmp_path):
    rgba = np.random.default_rng(1).integers(0, 256, (5, 6, 4), dtype=np.uint8)
    Image.fromarray(rgba, mode="RGBA").save(tmp_path / "a.png")
    Image.fromarray(rgba[..., :3], mode="RGB").save(tmp_path / "c.png")
    np.testing.assert_allclose(_read(tmp_path / "a.png"), np.moveaxis(rgba, -1, 0) / 255,
                               atol=1e-7)
    np.testing.assert_allclose(_read(tmp_path / "c.png"),
                               np.moveaxis(rgba[..., :3], -1, 0) / 255, atol=1e-7)


def test_damaged_files_are_a_clear_error(tmp_path):
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64, 3), np.uint8)).save(
        tmp_path / "ok.png")
    data = (tmp_path / "ok.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[:len(data) // 2])
    (tmp_path / "junk.gif").write_bytes(b"GIF89a not really")
    for name in ("cut.png", "junk.gif"):
        with pytest.raises(ValueError, match=f"read_image: cannot read .*{name} as an image"):
            io.read_image(tmp_path / name)


def test_modes_without_a_known_scale_are_refused_by_name(tmp_path):
    Image.new("I", (3, 3), 70000).save(tmp_path / "i32.tif")
    with pytest.raises(ValueError, match=r"read_image: .*i32.tif has Pillow mode 'I' "
                                         r"\(32-bit integer"):
        io.read_image(tmp_path / "i32.tif")


def test_size_limit_checked_before_loading(tmp_path, monkeypatch):
    Image.new("L", (40, 30)).save(tmp_path / "big.png")
    with pytest.raises(ValueError, match=r"read_image: .*big.png has 40 x 30 = 1,200 "
                                         r"pixels, more than the limit max_pixels=1,000"):
        io.read_image(tmp_path / "big.png", max_pixels=1000)
    assert io.read_image(tmp_path / "big.png", max_pixels=1200).shape == (1, 30, 40)
    for bad in (0, -1, 1.5, "x", True):
        with pytest.raises(ValueError, match="read_image: max_pixels must be a positive int"):
            io.read_image(tmp_path / "big.png", max_pixels=bad)
    monkeypatch.setattr(io, "MAX_PIXELS", 100)  # the default limit
    with pytest.raises(ValueError, match="more than the limit max_pixels=100"):
        io.read_array(tmp_path / "big.png")
    # nothing decoded: the pixels are never loaded for a refused image
    loaded = []
    original = Image.Image.load
    monkeypatch.setattr(Image.Image, "load", lambda self: loaded.append(1) or original(self))
    with pytest.raises(ValueError):
        io.read_image(tmp_path / "big.png")
    assert loaded == []


def test_pillows_global_guard_is_never_touched(tmp_path, monkeypatch):
    """Concurrent reads (Dask threads) used to set Image.MAX_IMAGE_PIXELS to None and back;
    interleaved, they could leave the decompression-bomb guard off for the process."""
    sentinel = 12345678
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", sentinel)
    seen = []
    original = Image.open

    def watching_open(*args, **kwargs):
        seen.append(Image.MAX_IMAGE_PIXELS)
        return original(*args, **kwargs)
    monkeypatch.setattr(Image, "open", watching_open)
    for i in range(8):
        Image.fromarray(RAMP8 + i).save(tmp_path / f"{i}.png")
    errors = []

    def read():
        try:
            for i in range(8):
                io.read_image(tmp_path / f"{i}.png")
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
    threads = [threading.Thread(target=read) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert Image.MAX_IMAGE_PIXELS == sentinel
    assert seen and set(seen) == {sentinel}  # the guard was on during every open


def test_pillows_own_refusal_is_a_clear_error(tmp_path, monkeypatch):
    Image.new("L", (40, 30)).save(tmp_path / "big.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # the user's setting, honoured
    with pytest.raises(ValueError, match=r"read_image: Pillow refuses .*big.png as too "
                                         r"large .*PIL.Image.MAX_IMAGE_PIXELS"):
        io.read_image(tmp_path / "big.png")
    assert Image.MAX_IMAGE_PIXELS == 100
