"""Batch normalisation layers: `BatchNormBase` holds the state and the forward pass,
`BatchNorm1d/2d/3d` fix the input rank."""

from __future__ import annotations

import numpy as np

from .. import functional as F
from .._args import check_bool, check_dtype, check_int, check_real
from .module import Module, Parameter

__all__ = ["BatchNorm1d", "BatchNorm2d", "BatchNorm3d"]


class BatchNormBase(Module):
    """Batch normalisation with PyTorch's module semantics.

    In training the batch statistics normalise and update running_mean / running_var
    (momentum=None: a cumulative average over num_batches_tracked batches); in evaluation
    the running statistics normalise. track_running_stats=False always uses batch
    statistics. affine=False drops weight and bias; bias=False (keyword) drops the bias.
    """

    _ranks: tuple = ()

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, dtype=np.float32, *, bias=True):
        super().__init__()
        cls = type(self).__name__
        num_features = check_int(num_features, func=cls, arg="num_features")
        eps = check_real(eps, func=cls, arg="eps", minimum=0)
        if momentum is not None:
            momentum = check_real(momentum, func=cls, arg="momentum", minimum=0)
            if momentum > 1:
                raise ValueError(f"{cls}: momentum must be in [0, 1] or None, got "
                                 f"momentum={momentum!r}")
        affine = check_bool(affine, func=cls, arg="affine")
        track_running_stats = check_bool(track_running_stats, func=cls,
                                         arg="track_running_stats")
        bias = check_bool(bias, func=cls, arg="bias")
        dtype = check_dtype(dtype, func=cls)
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = Parameter(np.ones(num_features, dtype=dtype))
            if bias:
                self.bias = Parameter(np.zeros(num_features, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", np.zeros(num_features, dtype=dtype))
            self.register_buffer("running_var", np.ones(num_features, dtype=dtype))
            self.register_buffer("num_batches_tracked", np.array(0, dtype=np.int64))
        else:
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(name, None)

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            self.running_mean[...] = 0
            self.running_var[...] = 1
            self.num_batches_tracked[...] = 0

    def forward(self, input):
        return self._forward(input, relu=False)

    def _forward(self, input, relu):
        """The forward pass, followed by a ReLU in the same pass when `relu` (see
        `F.batch_norm_relu`; `Sequential` fuses a BatchNorm and the ReLU after it)."""
        cls = type(self).__name__
        ndim = len(getattr(input, "shape", ()))
        if ndim not in self._ranks:
            want = " or ".join(f"{r}D" for r in self._ranks)
            raise ValueError(f"{cls}: expected {want} input, got {ndim}D input of shape "
                             f"{tuple(getattr(input, 'shape', ()))}")
        if input.shape[1] != self.num_features:
            raise ValueError(f"{cls}: expected input with {self.num_features} channels "
                             f"(num_features={self.num_features}), got {input.shape[1]} "
                             f"channels in input of shape {tuple(input.shape)}")
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked += 1
            if self.momentum is None:
                factor = 1.0 / float(self.num_batches_tracked)
        use_batch = self.training or self.running_mean is None
        keep = not self.training or self.track_running_stats
        fn = F.batch_norm_relu if relu else F.batch_norm
        return fn(input, self.running_mean if keep else None,
                  self.running_var if keep else None, self.weight, self.bias, use_batch,
                  factor, self.eps)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(BatchNormBase):
    """Batch normalisation over 2D or 3D input (N, C) or (N, C, L), PyTorch's `nn.BatchNorm1d`;
    see `BatchNormBase`."""

    _ranks = (2, 3)


class BatchNorm2d(BatchNormBase):
    """Batch normalisation over 4D input (N, C, H, W), PyTorch's `nn.BatchNorm2d`;
    see `BatchNormBase`."""

    _ranks = (4,)


class BatchNorm3d(BatchNormBase):
    """Batch normalisation over 5D input (N, C, D, H, W), PyTorch's `nn.BatchNorm3d`;
    see `BatchNormBase`."""

    _ranks = (5,)
