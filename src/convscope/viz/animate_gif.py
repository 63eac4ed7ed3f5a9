"""An animation as a looping GIF: the frames `animate_draw.render_frames` draws, on one
shared palette, each frame keeping only the pixels that changed (`save_animation` writes it;
a notebook shows it inline through `convscope.display`)."""

from __future__ import annotations

import io as _io

import numpy as np

from .animate import ConvAnimation
from .animate_draw import render_frames

__all__ = ["to_gif"]

_COLOURS = 32  # GIF palette size; index _COLOURS is the transparent "unchanged" colour


def to_gif(anim: ConvAnimation, frame_ms: int = 700) -> bytes:
    """The animation as the bytes of a looping GIF (what `save_animation` writes)."""
    from .._optional import require
    Image = require("PIL.Image", "convscope.viz.animate (writing a GIF)")
    images, durations = render_frames(anim, frame_ms)
    # one palette for every frame (from a few of them at once), so colours do not flicker
    picks = images[:: max(1, len(images) // 4)][:4]
    strip = Image.new("RGB", (images[0].width, images[0].height * len(picks)))
    for k, image in enumerate(picks):
        strip.paste(image, (0, k * image.height))
    palette = strip.quantize(colors=_COLOURS, method=Image.Quantize.MEDIANCUT)
    colours = np.array(palette.getpalette()[:3 * _COLOURS]).reshape(-1, 3)
    colours[np.argmax(colours.sum(axis=1))] = 255  # the background stays pure white
    indexed = [_nearest(np.asarray(image), colours) for image in images]
    # each frame keeps only the pixels that changed; the rest is transparent and shows the
    # frame before (disposal 1), which makes the file a fraction of the size
    colours = colours.ravel().tolist() + [255, 0, 255]
    frames = []
    for k, pixels in enumerate(indexed):
        if k:
            pixels = np.where(pixels == indexed[k - 1], _COLOURS, pixels).astype(np.uint8)
        frame = Image.fromarray(pixels, "P")
        frame.putpalette(colours)
        frames.append(frame)
    buffer = _io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:],
                   duration=durations, loop=0, disposal=1, transparency=_COLOURS,
                   optimize=False)
    return buffer.getvalue()


def _nearest(rgb: np.ndarray, colours: np.ndarray) -> np.ndarray:
    """(H, W) palette indices of the nearest colour to each pixel (exact for palette colours;
    the few distinct colours of a drawing are matched once each)."""
    r, g, b = (rgb[..., k].astype(np.int64) for k in range(3))
    packed = (r << 16) | (g << 8) | b
    unique, inverse = np.unique(packed.ravel(), return_inverse=True)
    points = np.stack([unique >> 16, (unique >> 8) & 255, unique & 255], axis=1)
    best = ((points[:, None, :] - colours[None]) ** 2).sum(axis=2).argmin(axis=1)
    return best[inverse].reshape(rgb.shape[:2]).astype(np.uint8)
