"""NumPy evaluations of the ONNX ops that act on constants: the shape arithmetic PyTorch's
exporter writes (Shape -> Gather -> Unsqueeze -> Concat -> Reshape) and constant
parameters computed from initializers (Identity, Cast, Transpose...). `FOLDERS` maps an op
to `f(ctx, node, values) -> np.ndarray`.
"""

from __future__ import annotations

import numpy as np

__all__ = ["FOLDERS"]

_LARGEST = 1e8  # values in a constant made while loading (a shape computation is small)


def _axes_input(ctx, node, values, index, attr_name="axes"):
    """Axes from an attribute (older opsets) or from a constant input (newer)."""
    attrs = ctx.attrs(node, {attr_name})
    if attr_name in attrs:
        return [int(a) for a in attrs[attr_name]]
    if len(values) > index and values[index] is not None:
        return [int(a) for a in np.asarray(values[index]).reshape(-1)]
    return None


def _constant(ctx, node, values):
    attrs = ctx.attrs(node, {"value", "value_float", "value_floats", "value_int",
                             "value_ints", "sparse_value", "value_string", "value_strings"})
    if len(attrs) != 1:
        raise ctx.invalid(node, "a Constant needs exactly one value attribute")
    (key, value), = attrs.items()
    if key == "value":
        return ctx.onnx.numpy_helper.to_array(value).copy()
    if key in ("value_float", "value_floats"):
        return np.asarray(value, dtype=np.float32)
    if key in ("value_int", "value_ints"):
        return np.asarray(value, dtype=np.int64)
    raise ctx.unsupported(node, f"a Constant's {key} is not supported")


def _cast(ctx, node, values):
    to = ctx.attrs(node, {"to", "saturate"})["to"]
    dtype = ctx.onnx.helper.tensor_dtype_to_np_dtype(to)
    return values[0].astype(dtype)


def _shape(ctx, node, values):
    attrs = ctx.attrs(node, {"start", "end"})
    shape = np.asarray(values[0].shape, dtype=np.int64)
    return shape[attrs.get("start", 0):attrs.get("end", None)]


def _gather(ctx, node, values):
    axis = ctx.attrs(node, {"axis"}).get("axis", 0)
    return np.take(values[0], values[1].astype(np.int64), axis=axis)


def _unsqueeze(ctx, node, values):
    axes = _axes_input(ctx, node, values, 1)
    x = values[0]
    rank = x.ndim + len(axes)
    return np.expand_dims(x, tuple(a % rank for a in axes))


def _squeeze(ctx, node, values):
    axes = _axes_input(ctx, node, values, 1)
    x = values[0]
    return np.squeeze(x) if axes is None else np.squeeze(x, tuple(a % x.ndim for a in axes))


def _concat(ctx, node, values):
    return np.concatenate([np.atleast_1d(v) for v in values],
                          axis=ctx.attrs(node, {"axis"})["axis"])


def _reshape(ctx, node, values):
    from ..functional.shape import target_shape
    allowzero = ctx.attrs(node, {"allowzero"}).get("allowzero", 0)
    shape = [int(v) for v in values[1].reshape(-1)]
    if allowzero:
        return values[0].reshape(shape)
    return values[0].reshape(target_shape("Reshape", shape, values[0].shape))


def _slice(ctx, node, values):
    x = values[0]
    attrs = ctx.attrs(node, {"starts", "ends", "axes", "steps"})
    if "starts" in attrs:  # opset < 10
        starts, ends = attrs["starts"], attrs["ends"]
        axes, steps = attrs.get("axes"), None
    else:
        starts, ends = values[1].reshape(-1), values[2].reshape(-1)
        axes = values[3].reshape(-1) if len(values) > 3 and values[3] is not None else None
        steps = values[4].reshape(-1) if len(values) > 4 and values[4] is not None else None
    axes = range(len(starts)) if axes is None else axes
    steps = [1] * len(starts) if steps is None else steps
    index = [slice(None)] * x.ndim
    for a, b, e, s in zip(axes, starts, ends, steps):
        index[int(a)] = slice(int(b), int(e), int(s))
    return x[tuple(index)]


def _transpose(ctx, node, values):
    perm = ctx.attrs(node, {"perm"}).get("perm")
    return np.transpose(values[0], perm)


def _binary(f):
    def fold(ctx, node, values):
        ctx.attrs(node, set())
        return f(values[0], values[1]).astype(np.result_type(values[0], values[1]))
    return fold


def _identity(ctx, node, values):
    ctx.attrs(node, set())
    return values[0]


def _constant_of_shape(ctx, node, values):
    value = ctx.attrs(node, {"value"}).get("value")
    fill = ctx.onnx.numpy_helper.to_array(value) if value is not None else np.zeros(
        1, np.float32)
    shape = [int(v) for v in values[0].reshape(-1)]
    if any(n < 0 for n in shape) or np.prod(shape, dtype=float) > _LARGEST:
        raise ctx.unsupported(node, f"a constant of shape {shape} (negative or over "
                                    f"{_LARGEST:.0e} values)")
    return np.full(shape, fill.reshape(-1)[0], dtype=fill.dtype)


def _div(a, b):
    if np.issubdtype(np.result_type(a, b), np.integer):
        return np.floor_divide(a, b)  # ONNX integer division truncates; shapes are >= 0
    return np.divide(a, b)


FOLDERS = {
    "Constant": _constant, "Identity": _identity, "Cast": _cast, "Shape": _shape,
    "Gather": _gather, "Unsqueeze": _unsqueeze, "Squeeze": _squeeze, "Concat": _concat,
    "Reshape": _reshape, "Slice": _slice, "Transpose": _transpose,
    "Add": _binary(np.add), "Sub": _binary(np.subtract), "Mul": _binary(np.multiply),
    "Div": _binary(_div), "ConstantOfShape": _constant_of_shape,
}
