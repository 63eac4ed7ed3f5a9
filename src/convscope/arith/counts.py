"""Parameter and multiply-accumulate counts of convolution and fully connected layers.

Example:
    >>> conv_params(3, 64, (7, 7), bias=False)     # ResNet's first layer
    9408
"""

from __future__ import annotations

import math

from .._args import check_bool, check_int, int_tuple

__all__ = ["conv_params", "conv_macs", "linear_params"]


# -- parameters and multiply-accumulates -----------------------------------------------------

def conv_params(in_channels, out_channels, kernel_size, groups=1, bias=True) -> int:
    """Learnable parameters of a convolution: C_out * (C_in / g) * prod(K) (+ C_out bias).

    The same count holds for a transposed convolution. `kernel_size` is a tuple.

    Example:
        >>> conv_params(3, 64, (7, 7), bias=False)
        9408
    """
    func = "conv_params"
    in_channels, out_channels, groups = _channels(func, in_channels, out_channels, groups)
    kernel_size = int_tuple(kernel_size, func=func, arg="kernel_size")
    bias = check_bool(bias, func=func, arg="bias")
    return out_channels * (in_channels // groups) * math.prod(kernel_size) + (
        out_channels if bias else 0)


def conv_macs(in_channels, out_channels, kernel_size, out_shape, groups=1) -> int:
    """Multiply-accumulates of one convolution on one sample.

    Every output element is a dot product of length (C_in / g) * prod(K):
    MACs = C_out * prod(out_shape) * (C_in / g) * prod(K). (A FLOP count is about twice this.)

    Example:
        >>> conv_macs(3, 64, (7, 7), (112, 112))
        118013952
    """
    func = "conv_macs"
    in_channels, out_channels, groups = _channels(func, in_channels, out_channels, groups)
    kernel_size = int_tuple(kernel_size, func=func, arg="kernel_size")
    out_shape = int_tuple(out_shape, func=func, arg="out_shape")
    return (out_channels * math.prod(out_shape) * (in_channels // groups)
            * math.prod(kernel_size))


def linear_params(in_features, out_features, bias=True) -> int:
    """Learnable parameters of a fully connected layer: in * out (+ out bias).

    Example:
        >>> linear_params(1152, 10)
        11530
    """
    func = "linear_params"
    in_features = check_int(in_features, func=func, arg="in_features")
    out_features = check_int(out_features, func=func, arg="out_features")
    bias = check_bool(bias, func=func, arg="bias")
    return in_features * out_features + (out_features if bias else 0)


def _channels(func: str, in_channels, out_channels, groups) -> tuple[int, int, int]:
    in_channels = check_int(in_channels, func=func, arg="in_channels")
    out_channels = check_int(out_channels, func=func, arg="out_channels")
    groups = check_int(groups, func=func, arg="groups")
    if in_channels % groups or out_channels % groups:
        raise ValueError(f"{func}: groups={groups} must divide in_channels={in_channels} "
                         f"and out_channels={out_channels}")
    return in_channels, out_channels, groups
