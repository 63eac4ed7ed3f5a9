"""Ready-made convolutional networks: the default CNN of `convscope train` and its relatives.

Every model is a `convscope.nn.Sequential` built from the same block, the lecture's
"conv - batch norm - ReLU"::

    Conv(k=3, 'same' padding, bias=False) -> BatchNorm -> ReLU

(the convolution has no bias because the batch norm right after it subtracts the mean and
adds its own bias). Models differ in how they shrink the image between blocks:

- `fashion_cnn`: 28x28 grayscale (Fashion-MNIST, MNIST). One block per width with a 2x2 max
  pooling inside it, right after the convolution (conv -> pool -> batch norm -> ReLU: the
  batch norm and the ReLU then run on a quarter of the values; 28 -> 14 -> 7 -> 3), then
  Flatten and one Linear layer.
- `cifar_cnn`: 32x32 RGB (CIFAR-10/100). Two blocks per width; the first block of every
  stage but the first downsamples with a K3 P1 S2 convolution (32 -> 16 -> 8 -> 4); then a
  global average pooling and one Linear layer.
- `photo_cnn`: the built-in `photo-patches` data set (32x32 RGB): a light `cifar_cnn` with
  one block per stage and a 5x5 first layer.
- `signal_cnn`: 1-D signals (C, L). Blocks of Conv1d, each after the first with stride 2,
  then Flatten and one Linear layer.

`MODELS` maps a name to its factory and `model_for_dataset` picks the default for a data
set; a checkpoint stores the name and the keyword arguments, so `build_model(name, **kwargs)`
rebuilds the same network. The factories take ``rng=`` (a `numpy.random.Generator`) for the
initial weights; without it they draw from `convscope.random.default_rng()`, which
`convscope.manual_seed` resets.

Example:
    >>> import numpy as np
    >>> model = fashion_cnn(widths=(8, 16, 32), rng=np.random.default_rng(0))
    >>> model(np.zeros((2, 1, 28, 28), np.float32)).shape
    (2, 10)
    >>> count_parameters(model) == fashion_cnn_parameters(1, 10, (8, 16, 32))
    True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from . import arith, nn
from ._args import check_int, show

__all__ = ["MODELS", "DATASET_MODELS", "build_model", "cifar_cnn", "cifar_cnn_parameters",
           "count_parameters", "fashion_cnn", "fashion_cnn_parameters", "model_for_dataset",
           "photo_cnn", "photo_cnn_parameters", "signal_cnn", "signal_cnn_parameters"]


def _check_widths(func: str, widths) -> tuple[int, ...]:
    if isinstance(widths, (str, bytes)) or not isinstance(widths, Sequence) or not widths:
        raise TypeError(f"{func}: widths must be a non-empty sequence of ints, "
                        f"got widths={show(widths)}")
    return tuple(check_int(w, func=func, arg=f"widths[{i}]") for i, w in enumerate(widths))


def _check_rng(func: str, rng):
    if rng is not None and not isinstance(rng, np.random.Generator):
        raise TypeError(f"{func}: rng must be a numpy.random.Generator or None, got "
                        f"{type(rng).__name__}")
    return rng


def _block(ndim: int, in_channels: int, out_channels: int, stride: int, rng,
           kernel_size: int = 3) -> list:
    """conv(k, padding=(k-1)/2, bias=False) -> BatchNorm -> ReLU, for 1-D or 2-D inputs."""
    conv = nn.Conv1d if ndim == 1 else nn.Conv2d
    norm = nn.BatchNorm1d if ndim == 1 else nn.BatchNorm2d
    return [conv(in_channels, out_channels, kernel_size, stride=stride,
                 padding=(kernel_size - 1) // 2, bias=False, rng=rng),
            norm(out_channels), nn.ReLU()]


def count_parameters(model) -> int:
    """The number of trainable values of `model` (BatchNorm's running statistics excluded)."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"count_parameters: model must be an nn.Module, got "
                        f"{type(model).__name__}")
    return sum(int(p.data.size) for p in model.parameters())


# -- Fashion-MNIST / MNIST ---------------------------------------------------------------------
def fashion_cnn(in_channels: int = 1, num_classes: int = 10,
                widths: Sequence[int] = (32, 64, 128), image_size: int = 28,
                rng: np.random.Generator | None = None) -> nn.Sequential:
    """The default CNN of `convscope train`, for small grayscale images (28x28).

    Layers, for each width w_i in `widths` (C_0 = `in_channels`)::

        Conv2d(C_{i-1}, w_i, 3, padding=1, bias=False) -> MaxPool2d(2)   # 28 -> 14 -> 7 -> 3
        -> BatchNorm2d(w_i) -> ReLU
    then Flatten -> Linear(w_last * s * s, num_classes), where s is `image_size` after the
    poolings (3 for 28 and three widths).

    Parameters: sum_i (9 C_{i-1} w_i + 2 w_i) + (w_last s^2 + 1) num_classes; with the
    defaults 1 -> (32, 64, 128) -> 10 that is 288+64 + 18432+128 + 73728+256 + 11530
    = 104,426 (see `fashion_cnn_parameters`).

    Args:
        in_channels: channels of the input image (1 for grayscale).
        num_classes: outputs of the last layer.
        widths: output channels of each block; one 2x2 max pooling per block.
        image_size: height and width of the (square) input; must survive the poolings.
        rng: generator for the initial weights (default: `convscope.random.default_rng()`).

    Shape:
        input (N, in_channels, image_size, image_size); output (N, num_classes) scores.
    """
    func = "fashion_cnn"
    in_channels = check_int(in_channels, func=func, arg="in_channels")
    num_classes = check_int(num_classes, func=func, arg="num_classes")
    widths = _check_widths(func, widths)
    side = _final_side(func, image_size, len(widths))
    rng = _check_rng(func, rng)
    layers, c = [], in_channels
    for w in widths:
        conv, norm, relu = _block(2, c, w, 1, rng)
        # Pooling right after the convolution: BatchNorm and ReLU then run on a quarter of
        # the values. ReLU commutes with max pooling, and so does BatchNorm's per-channel
        # affine map while its scale is positive; only its statistics are taken after the
        # pooling instead of before.
        layers += [conv, nn.MaxPool2d(2), norm, relu]
        c = w
    layers += [nn.Flatten(), nn.Linear(c * side * side, num_classes, rng=rng)]
    return nn.Sequential(*layers)


def _final_side(func: str, image_size, pools: int) -> int:
    side = check_int(image_size, func=func, arg="image_size")
    for _ in range(pools):
        if side < 2:
            raise ValueError(f"{func}: image_size={image_size} is too small for {pools} 2x2 "
                             f"poolings (one per width); it needs at least {2 ** pools}")
        side = arith.pool_output_size(side, 2)
    return side


def fashion_cnn_parameters(in_channels: int = 1, num_classes: int = 10,
                           widths: Sequence[int] = (32, 64, 128), image_size: int = 28) -> int:
    """`fashion_cnn`'s parameter count in closed form (no model is built)."""
    func = "fashion_cnn_parameters"
    in_channels = check_int(in_channels, func=func, arg="in_channels")
    num_classes = check_int(num_classes, func=func, arg="num_classes")
    widths = _check_widths(func, widths)
    _final_side(func, image_size, len(widths))
    side = image_size // 2 ** len(widths)
    chans = (in_channels, *widths)
    convs = sum(9 * a * b + 2 * b for a, b in zip(chans, chans[1:]))
    return convs + (widths[-1] * side * side + 1) * num_classes


# -- CIFAR -------------------------------------------------------------------------------------
def cifar_cnn(in_channels: int = 3, num_classes: int = 10,
              widths: Sequence[int] = (32, 64, 128, 256), blocks_per_stage: int = 2,
              rng: np.random.Generator | None = None,
              first_kernel_size: int = 3) -> nn.Sequential:
    """The same family for 32x32 RGB images: deeper, downsampling by strided convolutions.

    Layers: one stage per width w_i, each `blocks_per_stage` blocks of
    ``Conv2d(k=3, padding=1, bias=False) -> BatchNorm2d -> ReLU``; the first convolution of
    every stage but the first has stride 2 (K3 P1 S2 halves the size: 32 -> 16 -> 8 -> 4).
    Then AdaptiveAvgPool2d(1) -> Flatten -> Linear(w_last, num_classes). With
    `first_kernel_size` K (odd) the very first convolution is K x K with padding (K - 1) / 2
    (larger first-layer filters show their orientation and colour more plainly).

    Parameters: the sum over convolutions of 9 C_in C_out + 2 C_out, plus
    (w_last + 1) num_classes; 1,175,786 with the defaults (see `cifar_cnn_parameters`).

    Shape:
        input (N, in_channels, H, W), any H, W >= 1; output (N, num_classes).
    """
    func = "cifar_cnn"
    in_channels = check_int(in_channels, func=func, arg="in_channels")
    num_classes = check_int(num_classes, func=func, arg="num_classes")
    widths = _check_widths(func, widths)
    blocks_per_stage = check_int(blocks_per_stage, func=func, arg="blocks_per_stage")
    first = check_int(first_kernel_size, func=func, arg="first_kernel_size")
    if first % 2 == 0:
        raise ValueError(f"{func}: first_kernel_size={first} must be odd (for 'same' "
                         f"padding (K - 1) / 2)")
    rng = _check_rng(func, rng)
    layers, c = [], in_channels
    for stage, w in enumerate(widths):
        for b in range(blocks_per_stage):
            layers += _block(2, c, w, 2 if stage > 0 and b == 0 else 1, rng,
                             kernel_size=first if not layers else 3)
            c = w
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, num_classes, rng=rng)]
    return nn.Sequential(*layers)


def cifar_cnn_parameters(in_channels: int = 3, num_classes: int = 10,
                         widths: Sequence[int] = (32, 64, 128, 256),
                         blocks_per_stage: int = 2, first_kernel_size: int = 3) -> int:
    """`cifar_cnn`'s parameter count in closed form."""
    func = "cifar_cnn_parameters"
    in_channels = check_int(in_channels, func=func, arg="in_channels")
    num_classes = check_int(num_classes, func=func, arg="num_classes")
    widths = _check_widths(func, widths)
    blocks_per_stage = check_int(blocks_per_stage, func=func, arg="blocks_per_stage")
    chans = [in_channels]
    for w in widths:
        chans += [w] * blocks_per_stage
    convs = sum(9 * a * b + 2 * b for a, b in zip(chans, chans[1:]))
    convs += (first_kernel_size ** 2 - 9) * chans[0] * chans[1]
    return convs + (widths[-1] + 1) * num_classes


# -- colour photo patches ---------------------------------------------------------------------
def photo_cnn(in_channels: int = 3, num_classes: int = 8, widths: Sequence[int] = (32, 64, 128),
              first_kernel_size: int = 5,
              rng: np.random.Generator | None = None) -> nn.Sequential:
    """The default model of the built-in `photo-patches` data set: a light `cifar_cnn`.

    ``cifar_cnn(widths=(32, 64, 128), blocks_per_stage=1, first_kernel_size=5)``: one block
    per stage (32 -> 16 -> 8), a 5x5 first layer (32 RGB filters large enough to show an
    edge's orientation and colour), about 96 thousand parameters and a twentieth of
    `cifar_cnn`'s default work per image, so it trains in minutes on a laptop CPU.

    Shape:
        input (N, in_channels, H, W); output (N, num_classes).
    """
    return cifar_cnn(in_channels, num_classes, widths, blocks_per_stage=1, rng=rng,
                     first_kernel_size=first_kernel_size)


def photo_cnn_parameters(in_channels: int = 3, num_classes: int = 8,
                         widths: Sequence[int] = (32, 64, 128),
                         first_kernel_size: int = 5) -> int:
    """`photo_cnn`'s parameter count in closed form."""
    return cifar_cnn_parameters(in_channels, num_classes, widths, 1, first_kernel_size)


# -- 1-D signals -------------------------------------------------------------------------------
def signal_cnn(in_channels: int = 1, num_classes: int = 10, length: int = 128,
               widths: Sequence[int] = (16, 32, 64),
               rng: np.random.Generator | None = None) -> nn.Sequential:
    """A 1-D CNN for signals of shape (C, L), e.g. audio snippets or sensor traces.

    Layers: for each width w_i, ``Conv1d(C_{i-1}, w_i, 3, stride, padding=1, bias=False)
    -> BatchNorm1d(w_i) -> ReLU`` with stride 1 for the first block and 2 after (K3 P1 S2:
    L -> floor((L - 1) / 2) + 1), then Flatten -> Linear(w_last * L_last, num_classes).

    Parameters: sum_i (3 C_{i-1} w_i + 2 w_i) + (w_last L_last + 1) num_classes; with
    1 -> (16, 32, 64), L=128 (L_last = 32) and 10 classes: 48+32 + 1536+64 + 6144+128
    + 20490 = 28,442.

    Shape:
        input (N, in_channels, length); output (N, num_classes).
    """
    func = "signal_cnn"
    in_channels = check_int(in_channels, func=func, arg="in_channels")
    num_classes = check_int(num_classes, func=func, arg="num_classes")
    length = check_int(length, func=func, arg="length")
    widths = _check_widths(func, widths)
    rng = _check_rng(func, rng)
    layers, c, size = [], in_channels, length
    for i, w in enumerate(widths):
        stride = 1 if i == 0 else 2
        layers += _block(1, c, w, stride, rng)
        size = arith.conv_output_size(size, 3, stride=stride, padding=1)
        c = w
    layers += [nn.Flatten(), nn.Linear(c * size, num_classes, rng=rng)]
    return nn.Sequential(*layers)


def signal_cnn_parameters(in_channels: int = 1, num_classes: int = 10, length: int = 128,
                          widths: Sequence[int] = (16, 32, 64)) -> int:
    """`signal_cnn`'s parameter count in closed form."""
    func = "signal_cnn_parameters"
    in_channels = check_int(in_channels, func=func, arg="in_channels")
    num_classes = check_int(num_classes, func=func, arg="num_classes")
    length = check_int(length, func=func, arg="length")
    widths = _check_widths(func, widths)
    size = length
    for _ in widths[1:]:
        size = (size - 1) // 2 + 1
    chans = (in_channels, *widths)
    convs = sum(3 * a * b + 2 * b for a, b in zip(chans, chans[1:]))
    return convs + (widths[-1] * size + 1) * num_classes


# -- registry ----------------------------------------------------------------------------------
MODELS: dict[str, Callable[..., nn.Sequential]] = {
    "fashion_cnn": fashion_cnn,
    "cifar_cnn": cifar_cnn,
    "photo_cnn": photo_cnn,
    "signal_cnn": signal_cnn,
}

#: The default model of each data set `convscope train` knows.
DATASET_MODELS = {
    "fashion-mnist": "fashion_cnn",
    "mnist": "fashion_cnn",
    "cifar10": "cifar_cnn",
    "cifar100": "cifar_cnn",
    "photo-patches": "photo_cnn",
}


def model_for_dataset(name: str) -> str:
    """The name (a key of `MODELS`) of the default model for data set `name`.

    >>> model_for_dataset("cifar10")
    'cifar_cnn'
    """
    if not isinstance(name, str):
        raise TypeError(f"model_for_dataset: name must be a string, got name={show(name)}")
    if name not in DATASET_MODELS:
        raise ValueError(f"model_for_dataset: no default model for data set name={name!r}; "
                         f"known: {', '.join(DATASET_MODELS)}")
    return DATASET_MODELS[name]


def build_model(name: str, **kwargs) -> nn.Sequential:
    """Build model `name` (a key of `MODELS`) with the factory's keyword arguments.

    >>> build_model("fashion_cnn", widths=[4, 8]).__class__.__name__
    'Sequential'
    """
    if not isinstance(name, str):
        raise TypeError(f"build_model: name must be a string, got name={show(name)}")
    if name not in MODELS:
        raise ValueError(f"build_model: unknown model name={name!r}; known: "
                         f"{', '.join(MODELS)}")
    return MODELS[name](**kwargs)  # widths stored in JSON as a list: any sequence will do
