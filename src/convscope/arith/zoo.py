"""The named networks: shape-only specs of classic architectures with their published
hyper-parameters.

The receptive fields that Araujo, Norris & Sim report ("Computing Receptive Fields of
Convolutional Neural Networks", Distill 2019, and the google-research/receptive_field library)
were computed on the TF-slim definitions, so `alexnet`, `vgg16`, `resnet50`, `mobilenet_v1`
and `inception_v3` follow TF-slim (``alexnet_v2``, ``vgg_16``, ``resnet_v1_50`` with the
downsampling stride in the last unit of each block, ``mobilenet_v1``, ``inception_v3``);
torchvision's definitions, where they differ, carry a ``_torchvision`` suffix, and
`resnet18` is torchvision's.
"""

from __future__ import annotations

from typing import Callable

from .._args import show
from .network import AdaptivePool, Block, Branches, Conv, Flatten, Linear, Network, Pool

__all__ = ["NETWORKS", "get_network", "list_networks", "alexnet", "alexnet_torchvision",
           "vgg16", "vgg16_torchvision", "resnet18", "resnet50", "resnet50_torchvision",
           "mobilenet_v1", "inception_v3"]


# -- the named networks ----------------------------------------------------------------------
# Conventions below: `slim` convolutions carry a batch norm and no bias where TF-slim's
# arg_scope puts one (ResNet, MobileNet, Inception), as torchvision's do.

def alexnet() -> Network:
    """TF-slim ``alexnet_v2`` (one-tower AlexNet from "One weird trick", Krizhevsky 2014):
    conv1 11x11/4 VALID, max pools 3x3/2 VALID, the other convolutions SAME, and the fully
    connected layers as convolutions (fc6 5x5 VALID on the 5x5 pool5 at 224)."""
    c = lambda n, out, k, **kw: Conv(n, out, k, padding=kw.pop("padding", "SAME"), **kw)
    p = lambda n: Pool(n, 3, 2, "VALID")
    layers = (
        c("conv1", 64, 11, stride=4, padding="VALID"), p("pool1"),
        c("conv2", 192, 5), p("pool2"),
        c("conv3", 384, 3), c("conv4", 384, 3), c("conv5", 256, 3), p("pool5"),
        c("fc6", 4096, 5, padding="VALID"), c("fc7", 4096, 1), c("fc8", 1000, 1),
    )
    return Network("alexnet", layers, output="pool5",
                   endpoints=("conv1", "pool1", "conv2", "conv3", "conv4", "conv5", "pool5"),
                   source="TF-slim nets/alexnet.py (alexnet_v2)")


def alexnet_torchvision() -> Network:
    """torchvision's AlexNet: conv1 11x11/4 pad 2, convolutions padded to keep the size,
    conv4 with 256 channels, adaptive average pooling to 6x6 and three Linear layers."""
    layers = (
        Conv("conv1", 64, 11, 4, 2), Pool("pool1", 3, 2),
        Conv("conv2", 192, 5, 1, 2), Pool("pool2", 3, 2),
        Conv("conv3", 384, 3, 1, 1), Conv("conv4", 256, 3, 1, 1), Conv("conv5", 256, 3, 1, 1),
        Pool("pool5", 3, 2), AdaptivePool("avgpool", 6), Flatten("flatten"),
        Linear("fc6", 4096), Linear("fc7", 4096), Linear("fc8", 1000),
    )
    return Network("alexnet_torchvision", layers, sep=".", output="pool5",
                   source="torchvision.models.alexnet")


_VGG16 = ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3))


def _vgg16_features() -> tuple:
    layers = []
    for stage, (channels, count) in enumerate(_VGG16, 1):
        layers += [Conv(f"conv{stage}_{i}", channels, 3, padding=1) for i in range(1, count + 1)]
        layers.append(Pool(f"pool{stage}", 2, 2))
    return tuple(layers)


def vgg16() -> Network:
    """TF-slim ``vgg_16`` (Simonyan & Zisserman 2014, configuration D): 3x3 convolutions
    with SAME padding (1 pixel), 2x2/2 max pools, fc6 as a 7x7 VALID convolution and fc7,
    fc8 as 1x1 convolutions."""
    layers = _vgg16_features() + (
        Conv("fc6", 4096, 7, padding="VALID"), Conv("fc7", 4096, 1), Conv("fc8", 1000, 1))
    return Network("vgg16", layers, output="pool5",
                   endpoints=tuple(n for n in ("conv1_1", "pool1", "conv2_1", "pool2",
                                               "conv3_1", "conv3_2", "pool3", "conv4_1",
                                               "conv4_2", "pool4", "conv5_1", "conv5_2",
                                               "pool5")),
                   source="TF-slim nets/vgg.py (vgg_16)")


def vgg16_torchvision() -> Network:
    """torchvision's VGG-16: the same features, then adaptive average pooling to 7x7,
    flatten and three Linear layers (the same parameters as TF-slim's fc convolutions)."""
    layers = _vgg16_features() + (
        AdaptivePool("avgpool", 7), Flatten("flatten"),
        Linear("fc6", 4096), Linear("fc7", 4096), Linear("fc8", 1000))
    return Network("vgg16_torchvision", layers, sep=".", output="pool5",
                   source="torchvision.models.vgg16")


def _bottleneck(name: str, width: int, stride: int, in_channels: int, slim: bool,
                sep_names: tuple = ("conv1", "conv2", "conv3")) -> Branches:
    """A ResNet bottleneck unit: 1x1 (width), 3x3 (width, stride), 1x1 (4 * width), added
    to the shortcut (1x1 convolution when the shape changes, else identity / subsampling).

    TF-slim (``resnet_v1.bottleneck``) pads its strided 3x3 explicitly by (k-1)/2 on both
    sides (``conv2d_same``) and subsamples an identity shortcut with a 1x1/stride max pool;
    torchvision strides the 3x3 too, with padding 1.
    """
    out = 4 * width
    residual = (
        Conv(sep_names[0], width, 1, bias=False, batch_norm=True),
        Conv(sep_names[1], width, 3, stride, 1, bias=False, batch_norm=True),
        Conv(sep_names[2], out, 1, bias=False, batch_norm=True),
    )
    if in_channels != out or (stride != 1 and not slim):
        short_name = "shortcut" if slim else "downsample"
        shortcut = (Conv(short_name, out, 1, stride, bias=False, batch_norm=True),)
    elif stride != 1:
        shortcut = (Pool("shortcut", 1, stride),)
    else:
        shortcut = ()
    return Branches(name, (residual, shortcut), "add")


def resnet50() -> Network:
    """TF-slim ``resnet_v1_50`` (He et al. 2016): blocks of 3, 4, 6, 3 bottleneck units with
    the downsampling stride in the *last* unit of blocks 1-3 (TF-slim's convention);
    conv1 7x7/2 padded 3 (``conv2d_same``), pool1 3x3/2 SAME, global average pool5 and
    a 1x1 convolution as logits."""
    layers = [Conv("conv1", 64, 7, 2, 3, bias=False, batch_norm=True),
              Pool("pool1", 3, 2, "SAME")]
    channels = 64
    for b, (width, units, stride) in enumerate(((64, 3, 2), (128, 4, 2), (256, 6, 2),
                                                 (512, 3, 1)), 1):
        block = []
        for u in range(1, units + 1):
            s = stride if u == units else 1
            block.append(_bottleneck(f"unit_{u}", width, s, channels, slim=True))
            channels = 4 * width
        layers.append(Block(f"block{b}", tuple(block)))
    layers += [AdaptivePool("pool5", 1), Conv("logits", 1000, 1)]
    return Network("resnet50", tuple(layers), output="block4",
                   endpoints=("block1", "block2", "block3", "block4"),
                   source="TF-slim nets/resnet_v1.py (resnet_v1_50)")


def _torchvision_resnet(name: str, unit, units: tuple, expansion: int) -> Network:
    layers = [Conv("conv1", 64, 7, 2, 3, bias=False, batch_norm=True), Pool("maxpool", 3, 2, 1)]
    channels = 64
    for stage, (width, count) in enumerate(zip((64, 128, 256, 512), units), 1):
        stride = 1 if stage == 1 else 2
        blocks = []
        for i in range(count):
            blocks.append(unit(str(i), width, stride if i == 0 else 1, channels))
            channels = width * expansion
        layers.append(Block(f"layer{stage}", tuple(blocks)))
    layers += [AdaptivePool("avgpool", 1), Flatten("flatten"), Linear("fc", 1000)]
    return Network(name, tuple(layers), sep=".", output="layer4",
                   endpoints=("layer1", "layer2", "layer3", "layer4"),
                   source=f"torchvision.models.{name.split('_')[0]}")


def _basic_block(name: str, width: int, stride: int, in_channels: int) -> Branches:
    """torchvision's BasicBlock: two 3x3 convolutions (the first strided) plus a shortcut."""
    residual = (Conv("conv1", width, 3, stride, 1, bias=False, batch_norm=True),
                Conv("conv2", width, 3, 1, 1, bias=False, batch_norm=True))
    shortcut = ()
    if stride != 1 or in_channels != width:
        shortcut = (Conv("downsample", width, 1, stride, bias=False, batch_norm=True),)
    return Branches(name, (residual, shortcut), "add")


def resnet50_torchvision() -> Network:
    """torchvision's ResNet-50 (v1.5): the stride sits in the 3x3 convolution of the
    *first* unit of layers 2-4, so the fields are smaller than TF-slim's."""
    unit = lambda n, w, s, c: _bottleneck(n, w, s, c, slim=False)
    return _torchvision_resnet("resnet50_torchvision", unit, (3, 4, 6, 3), 4)


def resnet18() -> Network:
    """torchvision's ResNet-18: two BasicBlocks per stage (He et al. 2016, table 1)."""
    return _torchvision_resnet("resnet18", _basic_block, (2, 2, 2, 2), 1)


_MOBILENET = ((1, 64), (2, 128), (1, 128), (2, 256), (1, 256), (2, 512), (1, 512), (1, 512),
              (1, 512), (1, 512), (1, 512), (2, 1024), (1, 1024))


def mobilenet_v1() -> Network:
    """TF-slim ``mobilenet_v1`` (Howard et al. 2017, depth multiplier 1): Conv2d_0 3x3/2,
    then 13 depthwise (3x3, groups = channels) + pointwise (1x1) pairs, all SAME padding,
    which at stride 2 on an even input puts the one padding pixel after the input."""
    layers = [Conv("Conv2d_0", 32, 3, 2, "SAME", bias=False, batch_norm=True)]
    channels = 32
    for i, (stride, out) in enumerate(_MOBILENET, 1):
        layers.append(Conv(f"Conv2d_{i}_depthwise", channels, 3, stride, "SAME",
                           groups=channels, bias=False, batch_norm=True))
        layers.append(Conv(f"Conv2d_{i}_pointwise", out, 1, bias=False, batch_norm=True))
        channels = out
    layers += [AdaptivePool("AvgPool_1a", 1), Conv("Conv2d_1c_1x1", 1000, 1)]
    return Network("mobilenet_v1", tuple(layers), output="Conv2d_13_pointwise",
                   endpoints=("Conv2d_0",) + tuple(f"Conv2d_{i}_pointwise"
                                                   for i in range(1, 14)),
                   source="TF-slim nets/mobilenet_v1.py (mobilenet_v1)")


def _bn_conv(name, out, kernel, stride=1, padding="SAME"):
    return Conv(name, out, kernel, stride, padding, bias=False, batch_norm=True)


def _mixed_5(name: str, pool_channels: int) -> Branches:
    return Branches(name, (
        Block("Branch_0", (_bn_conv("Conv2d_0a_1x1", 64, 1),), False),
        Block("Branch_1", (_bn_conv("Conv2d_0a_1x1", 48, 1),
                           _bn_conv("Conv2d_0b_5x5", 64, 5)), False),
        Block("Branch_2", (_bn_conv("Conv2d_0a_1x1", 64, 1), _bn_conv("Conv2d_0b_3x3", 96, 3),
                           _bn_conv("Conv2d_0c_3x3", 96, 3)), False),
        Block("Branch_3", (Pool("AvgPool_0a_3x3", 3, 1, "SAME", mode="avg"),
                           _bn_conv("Conv2d_0b_1x1", pool_channels, 1)), False),
    ), "concat")


def _mixed_6(name: str, width: int) -> Branches:
    return Branches(name, (
        Block("Branch_0", (_bn_conv("Conv2d_0a_1x1", 192, 1),), False),
        Block("Branch_1", (_bn_conv("Conv2d_0a_1x1", width, 1),
                           _bn_conv("Conv2d_0b_1x7", width, (1, 7)),
                           _bn_conv("Conv2d_0c_7x1", 192, (7, 1))), False),
        Block("Branch_2", (_bn_conv("Conv2d_0a_1x1", width, 1),
                           _bn_conv("Conv2d_0b_7x1", width, (7, 1)),
                           _bn_conv("Conv2d_0c_1x7", width, (1, 7)),
                           _bn_conv("Conv2d_0d_7x1", width, (7, 1)),
                           _bn_conv("Conv2d_0e_1x7", 192, (1, 7))), False),
        Block("Branch_3", (Pool("AvgPool_0a_3x3", 3, 1, "SAME", mode="avg"),
                           _bn_conv("Conv2d_0b_1x1", 192, 1)), False),
    ), "concat")


def _mixed_7(name: str) -> Branches:
    def split(a: str, b: str) -> Branches:
        return Branches("concat", ((_bn_conv(a, 384, (1, 3)),), (_bn_conv(b, 384, (3, 1)),)),
                        "concat")
    return Branches(name, (
        Block("Branch_0", (_bn_conv("Conv2d_0a_1x1", 320, 1),), False),
        Block("Branch_1", (_bn_conv("Conv2d_0a_1x1", 384, 1),
                           split("Conv2d_0b_1x3", "Conv2d_0c_3x1")), False),
        Block("Branch_2", (_bn_conv("Conv2d_0a_1x1", 448, 1), _bn_conv("Conv2d_0b_3x3", 384, 3),
                           split("Conv2d_0c_1x3", "Conv2d_0d_3x1")), False),
        Block("Branch_3", (Pool("AvgPool_0a_3x3", 3, 1, "SAME", mode="avg"),
                           _bn_conv("Conv2d_0b_1x1", 192, 1)), False),
    ), "concat")


def inception_v3() -> Network:
    """TF-slim ``inception_v3`` (Szegedy et al. 2016), without the auxiliary classifier:
    a VALID stem (3x3/2, 3x3, 3x3 SAME, max pool 3x3/2, 1x1, 3x3, max pool 3x3/2), inception
    modules Mixed_5b-5d (35x35 at 299), the grid reduction Mixed_6a, the factorised 1x7 / 7x1
    modules Mixed_6b-6e, the reduction Mixed_7a and the expanded-filter-bank modules Mixed_7b,
    Mixed_7c; then global average pooling and a 1x1 convolution as logits."""
    stem = (
        _bn_conv("Conv2d_1a_3x3", 32, 3, 2, "VALID"), _bn_conv("Conv2d_2a_3x3", 32, 3,
                                                               padding="VALID"),
        _bn_conv("Conv2d_2b_3x3", 64, 3), Pool("MaxPool_3a_3x3", 3, 2, "VALID"),
        _bn_conv("Conv2d_3b_1x1", 80, 1, padding="VALID"),
        _bn_conv("Conv2d_4a_3x3", 192, 3, padding="VALID"), Pool("MaxPool_5a_3x3", 3, 2, "VALID"),
    )
    mixed_6a = Branches("Mixed_6a", (
        Block("Branch_0", (_bn_conv("Conv2d_1a_1x1", 384, 3, 2, "VALID"),), False),
        Block("Branch_1", (_bn_conv("Conv2d_0a_1x1", 64, 1), _bn_conv("Conv2d_0b_3x3", 96, 3),
                           _bn_conv("Conv2d_1a_1x1", 96, 3, 2, "VALID")), False),
        Block("Branch_2", (Pool("MaxPool_1a_3x3", 3, 2, "VALID"),), False),
    ), "concat")
    mixed_7a = Branches("Mixed_7a", (
        Block("Branch_0", (_bn_conv("Conv2d_0a_1x1", 192, 1),
                           _bn_conv("Conv2d_1a_3x3", 320, 3, 2, "VALID")), False),
        Block("Branch_1", (_bn_conv("Conv2d_0a_1x1", 192, 1),
                           _bn_conv("Conv2d_0b_1x7", 192, (1, 7)),
                           _bn_conv("Conv2d_0c_7x1", 192, (7, 1)),
                           _bn_conv("Conv2d_1a_3x3", 192, 3, 2, "VALID")), False),
        Block("Branch_2", (Pool("MaxPool_1a_3x3", 3, 2, "VALID"),), False),
    ), "concat")
    layers = stem + (
        _mixed_5("Mixed_5b", 32), _mixed_5("Mixed_5c", 64), _mixed_5("Mixed_5d", 64),
        mixed_6a, _mixed_6("Mixed_6b", 128), _mixed_6("Mixed_6c", 160),
        _mixed_6("Mixed_6d", 160), _mixed_6("Mixed_6e", 192),
        mixed_7a, _mixed_7("Mixed_7b"), _mixed_7("Mixed_7c"),
        AdaptivePool("AvgPool_1a", 1), Conv("Conv2d_1c_1x1", 1000, 1),
    )
    return Network("inception_v3", layers, output="Mixed_7c",
                   endpoints=("Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3",
                              "MaxPool_3a_3x3", "Conv2d_3b_1x1", "Conv2d_4a_3x3",
                              "MaxPool_5a_3x3", "Mixed_5b", "Mixed_5c", "Mixed_5d",
                              "Mixed_6a", "Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e",
                              "Mixed_7a", "Mixed_7b", "Mixed_7c"),
                   source="TF-slim nets/inception_v3.py (inception_v3_base)")


NETWORKS: dict[str, Callable[[], Network]] = {
    "alexnet": alexnet,
    "alexnet_torchvision": alexnet_torchvision,
    "vgg16": vgg16,
    "vgg16_torchvision": vgg16_torchvision,
    "resnet18": resnet18,
    "resnet50": resnet50,
    "resnet50_torchvision": resnet50_torchvision,
    "mobilenet_v1": mobilenet_v1,
    "inception_v3": inception_v3,
}


def list_networks() -> list[str]:
    """The names `get_network` knows."""
    return list(NETWORKS)


def get_network(name: str) -> Network:
    """The named network's spec (see `NETWORKS`).

    Example:
        >>> get_network("vgg16").output
        'pool5'
    """
    if not isinstance(name, str):
        raise TypeError(f"get_network: name must be a string, got name={show(name)}")
    if name not in NETWORKS:
        raise ValueError(f"get_network: unknown network {name!r}; known: "
                         f"{', '.join(NETWORKS)}")
    return NETWORKS[name]()
