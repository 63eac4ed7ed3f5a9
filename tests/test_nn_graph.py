"""nn.Graph (branched models) and the layers that join and reshape tensors, against PyTorch
(values and gradients) and finite differences."""

import numpy as np
import pytest
import torch
import torch.nn as tnn
import torch.nn.functional as TF

from convscope import Tensor, functional as F, nn, no_grad
from gradcheck import numerical_grad

RNG = np.random.default_rng(0)


def both(f_ours, f_torch, *arrays, rtol=1e-9, atol=1e-10):
    """Values and gradients (for a random upstream gradient) of f_ours vs f_torch."""
    xs = [Tensor(a.copy(), requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    y, yt = f_ours(*xs), f_torch(*ts)
    np.testing.assert_allclose(y.data, yt.detach().numpy(), rtol=rtol, atol=atol)
    g = RNG.standard_normal(y.shape)
    y.backward(g)
    yt.backward(torch.tensor(g))
    for x, t in zip(xs, ts):
        np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=rtol, atol=atol)


@pytest.mark.parametrize("sa,sb", [((2, 3, 4), (2, 3, 4)), ((2, 3, 4), (3, 1)),
                                   ((1, 4), (3, 1)), ((5,), (2, 1, 5))])
def test_add_mul_broadcast_match_torch(sa, sb):
    a, b = RNG.standard_normal(sa), RNG.standard_normal(sb)
    both(F.add, torch.add, a, b)
    both(F.mul, torch.mul, a, b)


def test_add_shapes_that_do_not_broadcast_are_named():
    with pytest.raises(ValueError, match=r"add: shapes \(2, 3\) and \(4,\) do not broadcast"):
        F.add(np.zeros((2, 3)), np.zeros(4))


def test_cat_reshape_squeeze_unsqueeze_match_torch():
    a, b = RNG.standard_normal((2, 3, 4)), RNG.standard_normal((2, 5, 4))
    both(lambda x, y: F.cat([x, y], dim=1), lambda x, y: torch.cat([x, y], 1), a, b)
    both(lambda x: F.reshape(x, (0, -1)), lambda x: x.reshape(2, -1), a)
    both(lambda x: F.reshape(x, (4, 0, 2)), lambda x: x.reshape(4, 3, 2), a)
    c = RNG.standard_normal((2, 1, 3, 1))
    both(lambda x: F.squeeze(x, (1, 3)), lambda x: x.squeeze(3).squeeze(1), c)
    both(lambda x: F.squeeze(x), torch.squeeze, c)
    both(lambda x: F.unsqueeze(x, (0, -1)), lambda x: x.unsqueeze(0).unsqueeze(-1), a)
    both(lambda x: F.permute(x, (2, 0, 1)), lambda x: x.permute(2, 0, 1), a)
    both(nn.Permute((0, -1, 1)), lambda x: x.permute(0, 2, 1), a)
    with pytest.raises(ValueError, match="permute: dims=\\(0, 0, 1\\) must list each"):
        F.permute(a, (0, 0, 1))
    with pytest.raises(ValueError, match="squeeze: dimension 0 .* has size 2, not 1"):
        F.squeeze(c, 0)
    with pytest.raises(ValueError, match=r"reshape: cannot reshape .* \(24 values\)"):
        F.reshape(a, (5, -1))
    with pytest.raises(ValueError, match="cat: tensors\\[1\\] has shape"):
        F.cat([a, b], dim=2)


def test_activations_match_torch_values_and_gradients():
    x = RNG.uniform(-8, 8, (3, 50))
    both(lambda t: F.clip(t, 0.0, 6.0), lambda t: torch.clamp(t, 0.0, 6.0), x)
    both(lambda t: F.clip(t, -1.0, None), lambda t: torch.clamp(t, min=-1.0), x)
    both(F.hardswish, TF.hardswish, x)
    # PyTorch's hardsigmoid gradient multiplies by 1/6 rounded to float32
    both(F.hardsigmoid, TF.hardsigmoid, x, rtol=1e-7)
    both(lambda t: F.hardsigmoid(t, 0.2, 0.5),
         lambda t: torch.clamp(0.2 * t + 0.5, 0, 1), x)
    for ours, theirs in [(nn.ReLU6(), tnn.ReLU6()), (nn.Hardswish(), tnn.Hardswish()),
                         (nn.Softmax(1), tnn.Softmax(1)),
                         (nn.Clip(-2.0, 2.0), tnn.Hardtanh(-2.0, 2.0))]:
        both(ours, theirs, x)


@pytest.mark.parametrize("f", [F.hardswish, F.hardsigmoid, lambda t: F.clip(t, -1.0, 2.0)])
def test_gradients_finite_differences(f):
    x = np.array([-5.0, -2.9, -0.5, 0.7, 2.1, 2.9, 5.0])
    xt = Tensor(x.copy(), requires_grad=True)
    f(xt).sum().backward()
    np.testing.assert_allclose(xt.grad, numerical_grad(lambda: f(x).sum(), x),
                               rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("mode,torch_mode", [("constant", "constant"),
                                             ("reflect", "reflect"),
                                             ("replicate", "replicate")])
def test_pad_layer_matches_torch(mode, torch_mode):
    x = RNG.standard_normal((2, 3, 5, 6))
    both(nn.Pad((1, 2, 2, 0), mode), lambda t: TF.pad(t, (1, 2, 2, 0), torch_mode), x)


def residual_pair():
    """The same residual block in PyTorch and as an nn.Graph, with the same weights."""
    class Block(tnn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = tnn.Conv2d(4, 6, 3, padding=1)
            self.conv2 = tnn.Conv2d(6, 6, 3, stride=2, padding=1)
            self.down = tnn.Conv2d(4, 6, 1, stride=2)
            self.side = tnn.Conv2d(4, 2, 1, stride=2)

        def forward(self, x):
            y = self.conv2(torch.relu(self.conv1(x))) + self.down(x)
            return torch.cat([torch.relu(y), self.side(x)], 1)

    torch.manual_seed(0)
    theirs = Block().double()
    ours = nn.Graph(["x"], [
        nn.Node("cat", nn.Concat(1), ("relu2", "side")),      # any order: sorted
        nn.Node("conv1", nn.Conv2d(4, 6, 3, padding=1), ("x",)),
        nn.Node("relu1", nn.ReLU(), ("conv1",)),
        nn.Node("conv2", nn.Conv2d(6, 6, 3, stride=2, padding=1), ("relu1",)),
        nn.Node("down", nn.Conv2d(4, 6, 1, stride=2), ("x",)),
        nn.Node("add", nn.Add(), ("conv2", "down")),
        nn.Node("relu2", nn.ReLU(), ("add",)),
        nn.Node("side", nn.Conv2d(4, 2, 1, stride=2), ("x",)),
    ], ["cat"]).double()
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    return ours, theirs


def test_branched_graph_matches_torch_values_and_gradients():
    ours, theirs = residual_pair()
    assert [n.name for n in ours.nodes][-1] == "cat"
    x = RNG.standard_normal((2, 4, 8, 8))
    xs, xt = Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, yt = ours(xs), theirs(xt)
    np.testing.assert_allclose(y.data, yt.detach().numpy(), rtol=1e-9, atol=1e-10)
    g = RNG.standard_normal(y.shape)
    y.backward(g)
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(xs.grad, xt.grad.numpy(), rtol=1e-9, atol=1e-10)
    tgrads = {k: p.grad.numpy() for k, p in theirs.named_parameters()}
    for k, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad, tgrads[k], rtol=1e-9, atol=1e-10, err_msg=k)
    with no_grad():
        assert not isinstance(ours(x), Tensor) or not ours(Tensor(x)).requires_grad


def test_graph_trains_and_state_dict_round_trips():
    from convscope import optim
    ours, _ = residual_pair()
    x = RNG.standard_normal((4, 4, 8, 8))
    opt = optim.SGD(ours.parameters(), lr=0.01)
    losses = []
    for _ in range(5):
        opt.zero_grad()
        loss = (ours(Tensor(x)) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    fresh, _ = residual_pair()
    fresh.load_state_dict(ours.state_dict())
    np.testing.assert_array_equal(fresh(x).data if isinstance(fresh(x), Tensor) else fresh(x),
                                  np.asarray(ours(x)))


def test_chain_graph_equals_sequential_and_hooks_modes_work():
    seq = nn.Sequential(nn.Conv2d(1, 3, 3), nn.BatchNorm2d(3), nn.ReLU(), nn.Dropout(0.5),
                        nn.Flatten(), nn.Linear(3 * 6 * 6, 2))
    graph = nn.Graph.chain(seq)
    assert list(graph.state_dict()) == list(seq.state_dict())
    x = RNG.standard_normal((2, 1, 8, 8)).astype(np.float32)
    graph.eval()
    assert not seq[3].training  # the same modules
    np.testing.assert_array_equal(graph(x), seq(x))
    seen = []
    handle = graph.node("2").module.register_forward_hook(
        lambda m, i, o: seen.append(o.shape))
    graph(x)
    handle.remove()
    graph(x)
    assert seen == [(2, 3, 6, 6)]


def test_multiple_outputs_and_an_input_read_twice():
    g = nn.Graph(["a", "b"], [nn.Node("s", nn.Add(), ("a", "b")),
                              nn.Node("p", nn.Mul(), ("a", "a"))], ["p", "s", "a"])
    p, s, a = g(np.full(2, 3.0), np.ones(2))
    np.testing.assert_array_equal(p, [9.0, 9.0])
    np.testing.assert_array_equal(s, [4.0, 4.0])
    np.testing.assert_array_equal(a, [3.0, 3.0])


def test_safe_module_names_and_repr():
    g = nn.Graph(["x"], [nn.Node("/layer1/conv.0", nn.ReLU(), ("x",)),
                         nn.Node("layer1_conv_0", nn.Sigmoid(), ("/layer1/conv.0",))],
                 ["layer1_conv_0"])
    assert g.module_names == {"/layer1/conv.0": "layer1_conv_0",
                              "layer1_conv_0": "layer1_conv_0_2"}
    text = repr(g)
    assert "%layer1_conv_0 = layer1_conv_0_2[Sigmoid](%/layer1/conv.0)" in text
    assert "return %layer1_conv_0" in text


@pytest.mark.parametrize("args,message", [
    ((["x"], [nn.Node("a", nn.ReLU(), ("y",))], ["a"]), "node 'a' reads 'y'"),
    ((["x"], [nn.Node("x", nn.ReLU(), ("x",))], ["x"]), "'x' is used twice"),
    ((["x"], [nn.Node("a", nn.ReLU(), ("x",))], ["b"]), "output 'b' is neither"),
    ((["x"], [nn.Node("a", "relu", ("x",))], ["a"]), "not a convscope Module"),
    ((["x"], [nn.Node("a", nn.ReLU(), ("b",)), nn.Node("b", nn.ReLU(), ("a",))], ["a"]),
     "cycle: .*a -> b|cycle: .*b -> a"),
    (("x", [], ["x"]), "inputs must be a list"),
])
def test_graph_construction_errors(args, message):
    with pytest.raises((ValueError, TypeError), match=message):
        nn.Graph(*args)


def test_forward_with_wrong_number_of_inputs():
    g = nn.Graph(["x"], [nn.Node("a", nn.ReLU(), ("x",))], ["a"])
    with pytest.raises(TypeError, match=r"Graph: forward takes 1 input\(s\) \['x'\], got 2"):
        g(np.zeros(1), np.zeros(1))


def test_add_mul_with_a_constant_and_its_state():
    scale = nn.Mul(np.array([[[2.0]], [[3.0]]]))
    assert list(scale.state_dict()) == ["constant"]
    both(scale, lambda t: t * torch.tensor([[[2.0]], [[3.0]]], dtype=torch.float64),
         RNG.standard_normal((1, 2, 3, 3)))
    with pytest.raises(TypeError, match="Add: needs at least two operands"):
        nn.Add()(np.zeros(2))


def test_graph_state_dict_through_pickle_free_arrays_file(tmp_path):
    from convscope import io
    ours, _ = residual_pair()
    io.save_arrays(tmp_path / "w.npz", ours.state_dict())
    arrays, _ = io.load_arrays(tmp_path / "w.npz")
    fresh, _ = residual_pair()
    for p in fresh.parameters():
        p.data = p.data * 0
    fresh.load_state_dict(arrays)
    x = RNG.standard_normal((1, 4, 8, 8))
    np.testing.assert_array_equal(np.asarray(fresh(x)), np.asarray(ours(x)))


def test_declared_input_shapes_refuse_another_rank():
    g = nn.Graph(["x"], [nn.Node("a", nn.ReLU(), ("x",))], ["a"],
                 input_shapes=[(None, 3, None, None)])
    assert g(np.ones((2, 3, 5, 7))).shape == (2, 3, 5, 7)
    with pytest.raises(ValueError, match=r"input 'x' must have rank 4 \(shape \(\?, 3, \?, "
                                         r"\?\)\), got shape \(3, 5, 7\)"):
        g(np.ones((3, 5, 7)))
    with pytest.raises(ValueError, match="one shape \\(or None\\) per input"):
        nn.Graph(["x"], [nn.Node("a", nn.ReLU(), ("x",))], ["a"], input_shapes=[(1,), (2,)])
