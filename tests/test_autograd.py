"""The autograd Tensor: each op's gradient against finite differences and PyTorch."""

import numpy as np
import pytest

import convscope
import convscope.functional as F
from convscope import Tensor, no_grad, tensor
from gradcheck import numerical_grad

torch = pytest.importorskip("torch")


def _fd(f, arrays):
    return [numerical_grad(f, a) for a in arrays]


OPS = {
    "add_broadcast": lambda a, b: (a + b[0]).sum(),
    "sub": lambda a, b: ((a - b) * (a - b)).sum(),
    "rsub_radd": lambda a, b: ((1.0 - a) + (2.0 + b)).sum(),
    "mul_broadcast": lambda a, b: (a * b[:, :1]).sum(),
    "div": lambda a, b: (a / (b * b + 1.0)).sum(),
    "rdiv": lambda a, b: (1.0 / (a * a + 1.0)).sum(),
    "pow": lambda a, b: (a ** 3).sum(),
    "neg_mean": lambda a, b: (-a).mean(),
    "mean_axis": lambda a, b: (a.mean(axis=1) * b.mean(axis=1)).sum(),
    "sum_keepdims": lambda a, b: (a.sum(axis=0, keepdims=True) * b).sum(),
    "reshape_T": lambda a, b: (a.reshape(12) * b.T.reshape(12)).sum(),
    "getitem": lambda a, b: (a[1:, ::2] * b[0, 1]).sum() + a[[0, 0, 2], [1, 1, 3]].sum(),
    "matmul": lambda a, b: (a @ b.T).sum(),
    "exp_log": lambda a, b: ((a * a + 1.0).log() + (b * 0.1).exp()).sum(),
    "sqrt_abs": lambda a, b: ((a * a + 1.0).sqrt() + b.abs()).sum(),
    "max": lambda a, b: a.max(axis=1).sum() + b.max(),
}


@pytest.mark.parametrize("name", sorted(OPS))
def test_op_gradients_match_finite_differences(name):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    op = OPS[name]
    ta, tb = Tensor(a, requires_grad=True), Tensor(b, requires_grad=True)
    op(ta, tb).backward()
    ga, gb = _fd(lambda: op(Tensor(a), Tensor(b)).item(), [a, b])
    np.testing.assert_allclose(ta.grad if ta.grad is not None else 0 * a, ga, atol=1e-6)
    np.testing.assert_allclose(tb.grad if tb.grad is not None else 0 * b, gb, atol=1e-6)


def test_reused_tensor_accumulates_gradient():
    """A graph that uses x three times sums the three contributions."""
    x = tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * x + x * 3.0 + x
    y.sum().backward()
    np.testing.assert_allclose(x.grad, 2 * x.data + 4.0)


def test_diamond_graph_against_torch():
    rng = np.random.default_rng(1)
    xa = rng.standard_normal((2, 3, 6, 6))
    wa = rng.standard_normal((3, 3, 3, 3))
    x, w = Tensor(xa, requires_grad=True), Tensor(wa, requires_grad=True)
    h = F.conv2d(x, w, padding=1)
    out = (F.conv2d(h, w, padding=1) * h + h).mean()
    out.backward()
    tx, tw = torch.tensor(xa, requires_grad=True), torch.tensor(wa, requires_grad=True)
    th = torch.nn.functional.conv2d(tx, tw, padding=1)
    (torch.nn.functional.conv2d(th, tw, padding=1) * th + th).mean().backward()
    np.testing.assert_allclose(out.item(), (torch.nn.functional.conv2d(th, tw, padding=1) * th
                                            + th).mean().item())
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(w.grad, tw.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_grad_accumulates_across_backward_calls():
    x = tensor([2.0], requires_grad=True)
    (x * x).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad, [8.0])


def test_no_grad_records_nothing():
    x = tensor(np.ones((1, 1, 3, 3)), requires_grad=True)
    with no_grad():
        y = F.conv2d(x, np.ones((1, 1, 2, 2))) * 2.0
    assert not y.requires_grad
    assert convscope.is_grad_enabled()
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.sum().backward()


def test_detach_cuts_the_graph():
    x = tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).detach() * x
    y.sum().backward()
    np.testing.assert_allclose(x.grad, [1.0, 4.0])


def test_backward_needs_grad_for_non_scalars():
    x = tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="only for a tensor with one element"):
        (x * 2.0).backward()
    (x * 2.0).backward(np.array([1.0, 10.0]))
    np.testing.assert_allclose(x.grad, [2.0, 20.0])
    with pytest.raises(RuntimeError, match=r"mismatch in shape: grad has shape \(3,\)"):
        (x * 2.0).backward(np.ones(3))


def test_properties_and_dtype():
    x = tensor(np.zeros((2, 3), np.float32), requires_grad=True)
    assert x.shape == (2, 3) and x.dtype == np.float32 and x.requires_grad
    y = (x * 2.0 + 1.0).sum()
    y.backward()
    assert x.grad.dtype == np.float32
    with pytest.raises(TypeError, match="requires_grad=True needs a floating-point dtype"):
        tensor([1, 2], requires_grad=True)


def test_deep_graph_has_no_recursion_limit():
    x = tensor([1.0], requires_grad=True)
    y = x
    for _ in range(5000):
        y = y * 1.0
    y.sum().backward()
    np.testing.assert_allclose(x.grad, [1.0])


# -- the graph is freed by backward (PyTorch's saved-tensor release) ----------------------------
def _two_conv_relu(x, w1, w2, conv=F.conv2d, relu=F.relu):
    return relu(conv(relu(conv(x, w1, padding=1)), w2, padding=1)).sum()


def _held_after_backward(retain_graph):
    """Bytes allocated while building two 3x3 conv+ReLU layers and still held after backward,
    the graph's root `loss` alive; and the bytes of the gradients and the unfolded columns
    (im2col, the algorithm that keeps the most: its columns, for the weight gradient)."""
    import tracemalloc

    rng = np.random.default_rng(0)
    N, C, H = 16, 16, 28
    x = tensor(rng.standard_normal((N, C, H, H)).astype(np.float32), requires_grad=True)
    w1, w2 = (tensor(rng.standard_normal((C, C, 3, 3)).astype(np.float32) * 0.1,
                     requires_grad=True) for _ in range(2))
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        loss = _two_conv_relu(x, w1, w2, lambda x, w, padding: F.conv2d(
            x, w, padding=padding, algorithm="im2col"))
        loss.backward(retain_graph=retain_graph)
        held = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    grads = x.grad.nbytes + w1.grad.nbytes + w2.grad.nbytes
    columns = 2 * x.data.nbytes * 9  # one (C*3*3, N*H*W) column matrix per layer
    assert loss.requires_grad  # the root is alive while measuring
    return held, grads, columns


def test_backward_frees_the_saved_arrays():
    held, grads, columns = _held_after_backward(retain_graph=False)
    # what stays is the gradients (plus a little bookkeeping), not the columns
    assert held < 1.2 * grads + 64 * 1024, (held, grads)
    assert held < columns / 10


def test_retain_graph_keeps_the_saved_arrays():
    held, grads, columns = _held_after_backward(retain_graph=True)
    assert held > grads + columns  # the columns of both layers, the masks, the activations


def test_second_backward_needs_retain_graph_like_torch():
    rng = np.random.default_rng(2)
    xa = rng.standard_normal((2, 3, 7, 7))
    wa, wb = rng.standard_normal((4, 3, 3, 3)), rng.standard_normal((2, 4, 3, 3))
    x, w1, w2 = (tensor(a, requires_grad=True) for a in (xa, wa, wb))
    tx, tw1, tw2 = (torch.tensor(a, requires_grad=True) for a in (xa, wa, wb))
    loss = _two_conv_relu(x, w1, w2)
    tloss = _two_conv_relu(tx, tw1, tw2, torch.nn.functional.conv2d, torch.relu)
    for _ in range(2):  # twice through the same graph: the gradients add up
        loss.backward(retain_graph=True)
        tloss.backward(retain_graph=True)
    for ours, theirs in ((x, tx), (w1, tw1), (w2, tw2)):
        np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), rtol=1e-10, atol=1e-12)
    loss.backward()  # a third time, this time freeing the graph
    tloss.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        tloss.backward()
    with pytest.raises(RuntimeError, match=r"backward through the graph a second time.*"
                                           r"retain_graph=True"):
        loss.backward()
    np.testing.assert_allclose(w1.grad, tw1.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_a_shared_subgraph_freed_by_one_loss_refuses_the_other_like_torch():
    a = np.array([1.0, -2.0, 3.0])
    x, tx = tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    for xx, relu in ((x, F.relu), (tx, torch.relu)):
        y = relu(xx * xx)
        first, second = y.sum(), (y * 2.0).sum()
        first.backward()
        with pytest.raises(RuntimeError, match="a second time"):
            second.backward()
    np.testing.assert_allclose(x.grad, tx.grad.numpy())


def test_backward_frees_the_intermediate_results_of_a_module_step():
    """The training-loop pattern: the root stays alive, its intermediate results do not."""
    import gc
    import weakref

    model = convscope.nn.Sequential(convscope.nn.Conv2d(2, 3, 3, padding=1),
                                    convscope.nn.ReLU())
    x = np.random.default_rng(3).standard_normal((2, 2, 5, 5)).astype(np.float32)
    hidden = model[0](tensor(x))
    alive = weakref.ref(hidden)
    loss = model[1](hidden).sum()
    del hidden
    gc.collect()
    assert alive() is not None  # the graph holds it until backward
    loss.backward()
    gc.collect()
    assert alive() is None
    assert model[0].weight.grad is not None
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        loss.backward()


# -- bad arguments: named errors ---------------------------------------------------------------
def _t():
    return tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)


TENSOR_ERRORS = [
    # (call, exception, message pattern)
    (lambda: tensor(np.array(["a", "b"])), TypeError,
     r"tensor: data must hold bools, integers or floating-point numbers, got dtype <U1"),
    (lambda: tensor([[1.0], [2.0, 3.0]]), TypeError,
     r"tensor: data must be numbers or nested sequences of numbers of one shape"),
    (lambda: tensor(None), TypeError, r"tensor: data must hold .* got dtype object"),
    (lambda: tensor([1 + 2j]), TypeError, r"tensor: data must hold .* got dtype complex128"),
    (lambda: tensor([1.0], dtype="U3"), TypeError,
     r"tensor: dtype must be a bool, integer or floating-point dtype, got dtype=<U3"),
    (lambda: tensor([1.0], dtype="nonsense"), TypeError,
     r"tensor: dtype='nonsense' is not a NumPy dtype"),
    (lambda: tensor([1.0], requires_grad="yes"), TypeError,
     r"tensor: requires_grad must be a bool, got requires_grad='yes'"),
    (lambda: Tensor(["x"]), TypeError, r"Tensor: data must hold .* got dtype <U1"),
    (lambda: Tensor([1, 2], requires_grad=True), TypeError,
     r"Tensor: requires_grad=True needs a floating-point dtype, got int64"),
    (lambda: _t().mean(axis=5), ValueError,
     r"mean: axis=5 is out of range for a tensor with 2 dimensions \(expected axes in "
     r"\[-2, 1\]\)"),
    (lambda: _t().sum(axis=-3), ValueError, r"sum: axis=-3 is out of range"),
    (lambda: _t().max(axis=(0, 2)), ValueError, r"max: axis=\(0, 2\) is out of range"),
    (lambda: _t().sum(axis=(1, -1)), ValueError, r"sum: axis=\(1, -1\) repeats an axis"),
    (lambda: _t().mean(axis=1.0), TypeError,
     r"mean: axis must be None, an int or a tuple of ints, got axis=1.0"),
    (lambda: _t().sum(axis=0, keepdims="no"), TypeError,
     r"sum: keepdims must be a bool, got keepdims='no'"),
    (lambda: tensor(np.zeros((0, 2))).max(), ValueError,
     r"max: a tensor of shape \(0, 2\) has no elements"),
    (lambda: _t().reshape(4), ValueError,
     r"reshape: cannot reshape a tensor of shape \(2, 3\) \(6 elements\) into shape \(4,\)"),
    (lambda: _t().reshape(-1, 4), ValueError, r"reshape: cannot reshape .* into shape"),
    (lambda: _t().reshape(-1, -1), ValueError, r"reshape: shape=\(-1, -1\) may hold .* at "
                                               r"most one -1"),
    (lambda: _t().reshape(2.0, 3), TypeError, r"reshape: shape must be ints"),
    (lambda: _t().transpose(0, 2), ValueError,
     r"transpose: axes=\(0, 2\) must be a permutation of the 2 dimensions \(0, 1\)"),
    (lambda: _t().transpose(0, 0), ValueError, r"transpose: axes=\(0, 0\) must be"),
    (lambda: _t().transpose("a", 0), TypeError, r"transpose: axes must be ints"),
    (lambda: _t().flatten(3), ValueError, r"flatten: start_dim=3 is out of range"),
    (lambda: _t().flatten(1, 0), ValueError,
     r"flatten: start_dim=1 must come before end_dim=0"),
    (lambda: _t().flatten(None), TypeError, r"flatten: start_dim and end_dim must be ints"),
    (lambda: _t()[5], IndexError,
     r"getitem: index 5 on a tensor of shape \(2, 3\): index 5 is out of bounds for axis 0"),
    (lambda: _t()[0, 0, 0], IndexError, r"getitem: .*too many indices"),
    (lambda: _t()["a"], TypeError, r"getitem: index 'a' on a tensor of shape \(2, 3\)"),
    (lambda: _t()[1.5], TypeError, r"getitem: index 1.5"),
    (lambda: _t()[::0], ValueError, r"getitem: .*slice step cannot be zero"),
    (lambda: _t() + np.zeros(2), ValueError,
     r"add: shapes \(2, 3\) and \(2,\) do not broadcast"),
    (lambda: _t() * np.zeros((3, 2)), ValueError, r"mul: shapes \(2, 3\) and \(3, 2\) do not"),
    (lambda: _t() - "a", TypeError,
     r"sub: the other operand must be a number, an array or a Tensor, got str"),
    (lambda: _t() / {}, TypeError, r"div: the other operand must be .* got dict"),
    (lambda: _t() + np.array(["a"]), TypeError, r"add: data must hold .* got dtype <U1"),
    (lambda: _t() ** "2", TypeError, r"pow: the exponent must be a number"),
    (lambda: _t() ** _t(), TypeError, r"pow: the exponent must be a number"),
    (lambda: _t() @ np.zeros((2, 2)), ValueError,
     r"matmul: shapes \(2, 3\) and \(2, 2\) do not match: .* got 3 and 2"),
    (lambda: _t() @ np.zeros(3), ValueError,
     r"matmul: both operands need at least 2 dimensions"),
    (lambda: _t() < "a", TypeError, r"lt: data must hold .* got dtype <U1"),
    (lambda: _t() > np.zeros(4), ValueError, r"gt: shapes \(2, 3\) and \(4,\) do not broadcast"),
    (lambda: _t().item(), ValueError,
     r"item: only a tensor with one element converts to a Python number, got shape \(2, 3\)"),
    (lambda: (_t() * 2).backward(), RuntimeError,
     r"backward: grad can be implicitly created only for a tensor with one element, got "
     r"shape \(2, 3\)"),
    (lambda: tensor([1.0]).backward(), RuntimeError,
     r"backward: element 0 of tensors does not require grad and does not have a grad_fn"),
    (lambda: (_t() * 2).backward(np.ones(3)), RuntimeError,
     r"backward: mismatch in shape: grad has shape \(3,\) and the tensor has shape \(2, 3\)"),
    (lambda: (_t() * 2).backward("a"), TypeError, r"backward: grad must hold real numbers"),
    (lambda: (_t() * 2).backward(object()), TypeError, r"backward: grad must hold real numbers"),
    (lambda: _t().sum().backward(retain_graph=1), TypeError,
     r"backward: retain_graph must be a bool, got retain_graph=1"),
]


@pytest.mark.parametrize("call,exc,pattern", TENSOR_ERRORS,
                         ids=[e[2][:45] for e in TENSOR_ERRORS])
def test_tensor_errors(call, exc, pattern):
    with pytest.raises(exc, match=pattern):
        call()


def test_an_axis_out_of_range_is_also_pytorchs_index_error():
    with pytest.raises(IndexError, match="mean: axis=5"):
        _t().mean(axis=5)
    with pytest.raises(IndexError):  # PyTorch's "Dimension out of range"
        torch.zeros(2, 3).mean(dim=5)


def test_comparisons_and_iteration_still_behave_like_arrays():
    t = _t()
    assert (t == None) is False  # noqa: E711 - not numbers: identity, as Python objects
    assert [row.shape for row in t] == [(3,), (3,)]  # iteration stops at IndexError
    np.testing.assert_array_equal(t > np.array([0.0, 4.0, 1.0]),
                                  [[False, False, True], [True, False, True]])
    np.testing.assert_array_equal(_t().mean(axis=-1).data, [1.0, 4.0])
    assert _t().reshape(-1, 2).shape == (3, 2) and _t().flatten(-2, -1).shape == (6,)
