"""convscope.onnx.load op by op, every attribute, against onnxruntime on small graphs built
with onnx.helper (the ONNX reference runtime is the independent reference here)."""

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from convscope import onnx as conv_onnx  # noqa: E402

RNG = np.random.default_rng(0)


def model_file(tmp_path, op, x_shape, attrs=None, consts=(), opset=17, extra_inputs=(),
               n_inputs=1):
    """A graph of one `op` node reading input x (and inputs x1.. when n_inputs > 1), then the
    constants `consts` ((name, array) pairs; name '' for an absent optional input)."""
    names = ["x"] + [f"x{i}" for i in range(1, n_inputs)]
    inputs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, list(s))
              for n, s in zip(names, x_shape if n_inputs > 1 else [x_shape])]
    inits, node_inputs = [], list(names) + list(extra_inputs)
    for name, value in consts:
        if name:
            inits.append(numpy_helper.from_array(np.asarray(value), name))
        node_inputs.append(name)
    node = helper.make_node(op, node_inputs, ["y"], name="the_node", **(attrs or {}))
    out = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    graph = helper.make_graph([node], "g", inputs, [out], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    path = tmp_path / "m.onnx"
    onnx.save(model, str(path))
    return path, names


def check(tmp_path, op, x_shape, attrs=None, consts=(), opset=17, n_inputs=1, rtol=1e-5):
    path, names = model_file(tmp_path, op, x_shape, attrs, consts, opset, n_inputs=n_inputs)
    shapes = x_shape if n_inputs > 1 else [x_shape]
    xs = [RNG.standard_normal(s).astype(np.float32) for s in shapes]
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    expected = session.run(None, dict(zip(names, xs)))[0]
    model = conv_onnx.load(path)
    actual = np.asarray(model(*xs))
    assert actual.shape == expected.shape
    scale = max(float(np.abs(expected).max()), 1e-6)
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale)
    return model


def weights(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("attrs,x,w", [
    (dict(), (1, 3, 7, 7), (4, 3, 3, 3)),
    (dict(pads=[1, 2, 0, 1], strides=[2, 1]), (2, 3, 8, 7), (4, 3, 3, 2)),
    (dict(dilations=[2, 1], group=3, pads=[2, 1, 2, 1]), (1, 6, 9, 8), (6, 2, 3, 3)),
    (dict(auto_pad="SAME_UPPER", strides=[2, 2]), (1, 2, 7, 8), (3, 2, 4, 3)),
    (dict(auto_pad="SAME_LOWER", strides=[2, 3]), (1, 2, 7, 8), (3, 2, 4, 3)),
    (dict(auto_pad="SAME_UPPER"), (1, 2, 6, 6), (3, 2, 2, 2)),
    (dict(auto_pad="VALID", strides=[3, 2], kernel_shape=[3, 3]), (1, 2, 9, 9), (3, 2, 3, 3)),
    (dict(pads=[2, 1], strides=[3]), (2, 3, 20), (5, 3, 4)),
    (dict(pads=[1, 0, 1, 0, 1, 1], group=2), (1, 4, 5, 6, 5), (2, 2, 3, 2, 3)),
])
@pytest.mark.parametrize("bias", [False, True])
def test_conv(tmp_path, attrs, x, w, bias):
    consts = [("w", weights(*w))] + ([("b", weights(w[0]))] if bias else [])
    check(tmp_path, "Conv", x, attrs, consts)


@pytest.mark.parametrize("attrs,x,w", [
    (dict(strides=[2, 2]), (1, 4, 5, 5), (4, 3, 3, 3)),
    (dict(strides=[2, 2], pads=[1, 1, 1, 1], output_padding=[1, 1]), (1, 4, 5, 5),
     (4, 3, 3, 3)),
    (dict(strides=[2, 3], pads=[0, 1, 2, 1], group=2), (2, 4, 4, 5), (4, 1, 3, 4)),
    (dict(strides=[2, 2], dilations=[2, 1], pads=[1, 0, 1, 0]), (1, 2, 4, 4), (2, 3, 3, 3)),
    (dict(strides=[2, 2], auto_pad="SAME_UPPER"), (1, 2, 5, 4), (2, 3, 3, 4)),
    (dict(strides=[2, 2], auto_pad="SAME_LOWER"), (1, 2, 5, 4), (2, 3, 3, 4)),
    (dict(strides=[2, 2], output_shape=[10, 9]), (1, 2, 5, 4), (2, 3, 3, 3)),
    (dict(strides=[3], output_padding=[2]), (2, 2, 6), (2, 3, 4)),
    (dict(strides=[2, 1, 2], pads=[1, 0, 0, 1, 0, 1]), (1, 2, 3, 4, 3), (2, 2, 3, 2, 3)),
])
def test_conv_transpose(tmp_path, attrs, x, w):
    groups = attrs.get("group", 1)
    check(tmp_path, "ConvTranspose", x, attrs, [("w", weights(*w)),
                                                ("b", weights(w[1] * groups))])


@pytest.mark.parametrize("attrs,x", [
    (dict(kernel_shape=[2, 2], strides=[2, 2]), (1, 3, 6, 6)),
    (dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]), (2, 2, 7, 8)),
    (dict(kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1), (1, 2, 8, 8)),
    (dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1), (1, 2, 8, 9)),
    (dict(kernel_shape=[3, 2], strides=[1, 2], pads=[0, 1, 2, 0]), (1, 2, 7, 8)),
    (dict(kernel_shape=[2, 2], auto_pad="SAME_UPPER", strides=[2, 2]), (1, 2, 7, 7)),
    (dict(kernel_shape=[3, 3], auto_pad="SAME_LOWER"), (1, 2, 6, 5)),
    (dict(kernel_shape=[3, 3], dilations=[2, 2]), (1, 2, 9, 9)),
    (dict(kernel_shape=[3], strides=[2]), (2, 3, 11)),
    # the last window would start in the right padding: dropped (PyTorch, onnxruntime)
    (dict(kernel_shape=[2], strides=[2], pads=[1, 1], ceil_mode=1), (1, 2, 5)),
    (dict(kernel_shape=[2, 2, 2], strides=[2, 2, 2], pads=[1, 0, 1, 1, 0, 1]), (1, 2, 5, 4, 5)),
])
def test_max_pool(tmp_path, attrs, x):
    check(tmp_path, "MaxPool", x, attrs)


@pytest.mark.parametrize("attrs,x", [
    (dict(kernel_shape=[2, 2], strides=[2, 2]), (1, 3, 6, 6)),
    (dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]), (2, 2, 7, 8)),
    (dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], count_include_pad=1),
     (2, 2, 7, 8)),
    (dict(kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1), (1, 2, 8, 8)),
    (dict(kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1, pads=[1, 1, 1, 1],
          count_include_pad=1), (1, 2, 8, 8)),
    (dict(kernel_shape=[3, 2], pads=[0, 1, 2, 0], count_include_pad=1), (1, 2, 7, 8)),
    (dict(kernel_shape=[4], strides=[3], pads=[1, 1]), (2, 3, 11)),
    (dict(kernel_shape=[2], strides=[2], pads=[1, 1], ceil_mode=1), (1, 2, 5)),
    (dict(kernel_shape=[3], strides=[2], pads=[1, 1], ceil_mode=1), (1, 2, 6)),
    (dict(kernel_shape=[2, 2, 2], strides=[1, 2, 2]), (1, 2, 4, 4, 5)),
])
def test_average_pool(tmp_path, attrs, x):
    check(tmp_path, "AveragePool", x, attrs)


@pytest.mark.parametrize("op", ["GlobalAveragePool", "GlobalMaxPool"])
@pytest.mark.parametrize("x", [(2, 3, 7), (1, 2, 5, 6), (1, 2, 3, 4, 2)])
def test_global_pool(tmp_path, op, x):
    check(tmp_path, op, x)


@pytest.mark.parametrize("x", [(2, 3), (2, 3, 7), (1, 3, 5, 6), (1, 3, 2, 4, 2)])
def test_batch_norm(tmp_path, x):
    c = x[1]
    consts = [("s", weights(c)), ("b", weights(c)), ("m", weights(c)),
              ("v", np.abs(weights(c)) + 0.5)]
    check(tmp_path, "BatchNormalization", x, dict(epsilon=1e-3), consts)


@pytest.mark.parametrize("op,attrs", [
    ("Relu", {}), ("Sigmoid", {}), ("Tanh", {}), ("LeakyRelu", dict(alpha=0.3)),
    ("LeakyRelu", {}), ("HardSigmoid", {}), ("HardSigmoid", dict(alpha=0.3, beta=0.4)),
    ("HardSwish", {}), ("Softmax", {}), ("Softmax", dict(axis=1)), ("Identity", {}),
    ("Dropout", {}),
])
def test_activations(tmp_path, op, attrs):
    check(tmp_path, op, (2, 4, 3), attrs)


def test_softmax_in_opset_11_reads_the_last_axis(tmp_path):
    check(tmp_path, "Softmax", (3, 5), dict(axis=1), opset=11)
    check(tmp_path, "Softmax", (2, 3, 5), dict(axis=-1), opset=11)
    with pytest.raises(conv_onnx.OnnxUnsupportedError, match="axis=1 on a rank-3 input"):
        check(tmp_path, "Softmax", (2, 3, 5), dict(axis=1), opset=11)


@pytest.mark.parametrize("lo,hi", [(0.0, 6.0), (-0.5, None), (None, 0.3), (-1.0, 1.0)])
def test_clip(tmp_path, lo, hi):
    consts = [("lo", np.float32(lo)) if lo is not None else ("", None),
              ("hi", np.float32(hi)) if hi is not None else ("", None)]
    check(tmp_path, "Clip", (2, 3, 4), {}, consts)


def test_gelu_opset_20(tmp_path):
    check(tmp_path, "Gelu", (2, 5), {}, opset=20)
    check(tmp_path, "Gelu", (2, 5), dict(approximate="tanh"), opset=20)


@pytest.mark.parametrize("op", ["Add", "Mul", "Sub", "Div"])
@pytest.mark.parametrize("shape", [(1, 3, 1, 1), (4,), (), (2, 3, 1, 4)])
def test_elementwise_with_a_constant(tmp_path, op, shape):
    c = (np.abs(weights(*shape)) + 0.5) if shape else np.float32(1.5)
    check(tmp_path, op, (2, 3, 5, 4), {}, [("c", c)])


@pytest.mark.parametrize("op", ["Add", "Mul", "Sum"])
def test_elementwise_of_two_inputs_broadcast(tmp_path, op):
    check(tmp_path, op, [(2, 3, 4, 4), (1, 3, 1, 4)], n_inputs=2)


@pytest.mark.parametrize("axis", [1, -1, 0])
def test_concat(tmp_path, axis):
    shapes = {1: [(2, 3, 4), (2, 5, 4), (2, 1, 4)], -1: [(2, 3, 4), (2, 3, 2), (2, 3, 1)],
              0: [(2, 3, 4), (1, 3, 4), (3, 3, 4)]}[axis]
    check(tmp_path, "Concat", shapes, dict(axis=axis), n_inputs=3)


@pytest.mark.parametrize("axis,x", [(1, (2, 3, 4, 5)), (0, (2, 3, 4)), (2, (2, 3, 4, 5)),
                                    (-1, (2, 3, 4)), (1, (5,))])
def test_flatten(tmp_path, axis, x):
    check(tmp_path, "Flatten", x, dict(axis=axis))


@pytest.mark.parametrize("shape,x", [([2, -1], (2, 3, 4)), ([0, 4, 3], (2, 3, 4)),
                                     ([-1, 6], (2, 3, 4)), ([0, 0, 2, 2], (2, 3, 4))])
def test_reshape(tmp_path, shape, x):
    check(tmp_path, "Reshape", x, {}, [("s", np.array(shape, np.int64))])


def test_squeeze_and_unsqueeze_attribute_and_input_forms(tmp_path):
    check(tmp_path, "Squeeze", (2, 1, 3, 1), dict(axes=[1, -1]), opset=11)
    check(tmp_path, "Squeeze", (2, 1, 3, 1), {}, [("a", np.array([1, 3], np.int64))], opset=13)
    check(tmp_path, "Squeeze", (2, 1, 3, 1), {}, opset=13)
    check(tmp_path, "Unsqueeze", (2, 3), dict(axes=[0, 3]), opset=12)
    check(tmp_path, "Unsqueeze", (2, 3), {}, [("a", np.array([-1, 1], np.int64))], opset=17)


@pytest.mark.parametrize("attrs,bias", [
    (dict(), (5,)), (dict(transB=1), (1, 5)), (dict(alpha=0.5, beta=2.0, transB=1), (5,)),
    (dict(beta=3.0), ()), (dict(), None)])
def test_gemm(tmp_path, attrs, bias):
    w = weights(5, 4) if attrs.get("transB") else weights(4, 5)
    consts = [("w", w)] + ([] if bias is None else [("c", weights(*bias) if bias else
                                                          np.float32(0.7))])
    check(tmp_path, "Gemm", (3, 4), attrs, consts)


@pytest.mark.parametrize("x", [(3, 4), (2, 3, 4)])
def test_matmul(tmp_path, x):
    check(tmp_path, "MatMul", x, {}, [("w", weights(4, 6))])


def test_matmul_then_add_is_one_linear_layer(tmp_path):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [3, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    w, b = weights(4, 6), weights(6)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "fc.weight"], ["h"], name="mm"),
         helper.make_node("Add", ["h", "fc.bias"], ["y"], name="add")], "g", [x], [y],
        [numpy_helper.from_array(w, "fc.weight"), numpy_helper.from_array(b, "fc.bias")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.save(model, str(tmp_path / "m.onnx"))
    loaded = conv_onnx.load(tmp_path / "m.onnx")
    assert [type(n.module).__name__ for n in loaded.nodes] == ["Linear"]
    xs = weights(3, 4)
    np.testing.assert_allclose(loaded(xs), xs @ w + b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("mode", ["constant", "reflect", "edge"])
@pytest.mark.parametrize("pads", [[0, 0, 1, 2, 0, 0, 2, 1], [0, 0, 0, 1, 0, 0, 0, 2],
                                  [0, 1, 1, 0, 0, 2, 0, 1]])
def test_pad_input_form(tmp_path, mode, pads):
    consts = [("p", np.array(pads, np.int64))]
    if mode == "constant":
        consts.append(("v", np.float32(0.25)))
    check(tmp_path, "Pad", (1, 3, 4, 5), dict(mode=mode), consts)


def test_pad_attribute_form_axes_and_wrap(tmp_path):
    check(tmp_path, "Pad", (1, 2, 4, 5), dict(mode="reflect"), opset=11,
          consts=[("p", np.array([0, 0, 1, 2, 0, 0, 2, 1], np.int64))])
    check(tmp_path, "Pad", (1, 2, 4, 5), dict(mode="constant"),
          [("p", np.array([1, 2, 2, 1], np.int64)), ("", None), ("a", np.array([2, 3], np.int64))],
          opset=18)
    check(tmp_path, "Pad", (1, 2, 4, 5), dict(mode="wrap"),
          [("p", np.array([0, 0, 1, 2, 0, 0, 2, 1], np.int64))], opset=19)


def test_constant_folding_of_pytorch_shape_arithmetic(tmp_path):
    """Shape -> Gather -> Unsqueeze -> Concat -> Reshape (x.view(x.size(0), -1))."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    nodes = [
        helper.make_node("Shape", ["x"], ["s"]),
        helper.make_node("Constant", [], ["i"], value=numpy_helper.from_array(
            np.array(0, np.int64))),
        helper.make_node("Gather", ["s", "i"], ["n"], axis=0),
        helper.make_node("Constant", [], ["ax"], value=numpy_helper.from_array(
            np.array([0], np.int64))),
        helper.make_node("Unsqueeze", ["n", "ax"], ["n1"]),
        helper.make_node("Constant", [], ["m1"], value_ints=[-1]),
        helper.make_node("Concat", ["n1", "m1"], ["shape"], axis=0),
        helper.make_node("Reshape", ["x", "shape"], ["y"]),
    ]
    model = helper.make_model(helper.make_graph(nodes, "g", [x], [y]),
                              opset_imports=[helper.make_opsetid("", 13)])
    onnx.save(model, str(tmp_path / "m.onnx"))
    loaded = conv_onnx.load(tmp_path / "m.onnx")
    assert [type(n.module).__name__ for n in loaded.nodes] == ["Reshape"]
    assert loaded(np.zeros((5, 3, 4), np.float32)).shape == (5, 12)  # any batch


@pytest.mark.parametrize("op", ["ReduceMean", "ReduceMax"])
@pytest.mark.parametrize("keepdims", [0, 1])
@pytest.mark.parametrize("x,axes", [((2, 3, 5, 4), [2, 3]), ((2, 3, 7), [-1]),
                                    ((1, 2, 3, 4, 2), [2, 3, 4])])
def test_reduction_over_space_is_a_global_pooling(tmp_path, op, keepdims, x, axes):
    check(tmp_path, op, x, dict(axes=axes, keepdims=keepdims), opset=13)
    check(tmp_path, op, x, dict(keepdims=keepdims), [("a", np.array(axes, np.int64))],
          opset=18)


def test_reduction_over_channels_is_refused(tmp_path):
    with pytest.raises(conv_onnx.OnnxUnsupportedError,
                       match=r"node 'the_node' \(ReduceMean\): axes=\[1\] on a rank-4"):
        check(tmp_path, "ReduceMean", (2, 3, 4, 4), dict(axes=[1]), opset=13)


@pytest.mark.parametrize("perm", [[0, 2, 3, 1], [0, 3, 1, 2], None])
def test_transpose(tmp_path, perm):
    check(tmp_path, "Transpose", (2, 3, 4, 5), {} if perm is None else dict(perm=perm))


def test_channels_last_model_as_tf2onnx_writes_it(tmp_path):
    """NHWC input -> Transpose -> Conv -> Relu -> Transpose back -> Reshape -> MatMul + Add,
    the shape of a Keras model converted by tf2onnx."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 6, 6, 2])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    w, k, b = weights(4, 2, 3, 3), weights(6 * 6 * 4, 5), weights(5)
    nodes = [helper.make_node("Transpose", ["x"], ["nchw"], perm=[0, 3, 1, 2]),
             helper.make_node("Conv", ["nchw", "w"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["r"]),
             helper.make_node("Transpose", ["r"], ["nhwc"], perm=[0, 2, 3, 1]),
             helper.make_node("Reshape", ["nhwc", "shape"], ["flat"]),
             helper.make_node("MatMul", ["flat", "k"], ["m"]),
             helper.make_node("Add", ["m", "b"], ["y"])]
    inits = [numpy_helper.from_array(w, "w"), numpy_helper.from_array(k, "k"),
             numpy_helper.from_array(b, "b"),
             numpy_helper.from_array(np.array([-1, 6 * 6 * 4], np.int64), "shape")]
    model = helper.make_model(helper.make_graph(nodes, "keras", [x], [y], inits),
                              opset_imports=[helper.make_opsetid("", 13)])
    onnx.save(model, str(tmp_path / "k.onnx"))
    xs = weights(3, 6, 6, 2)
    session = ort.InferenceSession(str(tmp_path / "k.onnx"), providers=["CPUExecutionProvider"])
    loaded = conv_onnx.load(tmp_path / "k.onnx")
    np.testing.assert_allclose(loaded(xs), session.run(None, {"x": xs})[0], rtol=1e-5,
                               atol=1e-5)
    conv_onnx.save(loaded, tmp_path / "again.onnx", xs)
    np.testing.assert_allclose(conv_onnx.load(tmp_path / "again.onnx")(xs),
                               np.asarray(loaded(xs)), rtol=1e-6)
