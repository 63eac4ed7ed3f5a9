"""Shared checks for the picture tests: a PNG of the figure's size that is not blank."""

import numpy as np
from PIL import Image


def figure_pixels(fig) -> np.ndarray:
    """The rendered figure as an (H, W, 4) uint8 array."""
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba()).copy()


def check_png(path, fig) -> np.ndarray:
    """`path` is a PNG as large as `fig` (inches x dpi) and not blank; returns its pixels."""
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    image = np.asarray(Image.open(path).convert("RGB"))
    width, height = fig.get_size_inches() * fig.dpi
    assert abs(image.shape[0] - height) < 1 and abs(image.shape[1] - width) < 1
    assert image.std() > 10, "the picture is (nearly) blank"
    # more than the background and one line colour
    assert len(np.unique(image.reshape(-1, 3), axis=0)) > 20
    return image


def edge_pixels(fig, ax) -> np.ndarray:
    """The RGB pixels inside the data area of `ax`, as rendered."""
    pixels = figure_pixels(fig)
    box = ax.get_window_extent()
    h = pixels.shape[0]
    y0, y1 = int(np.ceil(h - box.y1)) + 2, int(np.floor(h - box.y0)) - 2
    x0, x1 = int(np.ceil(box.x0)) + 2, int(np.floor(box.x1)) - 2
    return pixels[y0:y1, x0:x1, :3].astype(int)
