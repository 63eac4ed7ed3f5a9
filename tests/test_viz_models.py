"""Every picture on the library's own models (an RGB cifar_cnn with strided convolutions) and
on a custom Module with a residual connection, not only on nn.Sequential stacks."""

import numpy as np

from convscope import models, nn, random, viz
from convscope.autograd import Tensor
from pictures import check_png


class Residual(nn.Module):
    """A custom model: stem -> (conv + skip) -> head, written as a forward method."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 3, padding=1)
        self.body = nn.Sequential(nn.ReLU(), nn.Conv2d(4, 4, 3, padding=1))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(4, 5)

    def forward(self, x):
        h = self.stem(x)
        h = h + self.body(h)
        return self.head(self.pool(h).flatten(1))


def _check(draw, result, path):
    fig = draw(result)
    draw(result, path)
    check_png(path, fig)


def test_every_picture_on_an_rgb_cifar_cnn(tmp_path):
    random.manual_seed(0)
    model = models.cifar_cnn(widths=(4, 8), blocks_per_stage=1)
    x = np.random.default_rng(0).normal(size=(6, 3, 16, 16)).astype(np.float32)
    convs = [n for n, m in model.named_modules() if type(m).__name__ == "Conv2d"]
    first = dict(model.named_modules())[convs[0]].weight.data
    assert viz.filter_grid(first).mode == "rgb"
    _check(viz.plot_filters, first, tmp_path / "f.png")
    maps = viz.feature_maps(model, x[0])
    assert [n for n, _ in maps.layers] == convs
    _check(viz.plot_feature_maps, maps, tmp_path / "m.png")
    erf = viz.effective_receptive_field(model, x)
    # two 3x3 convolutions, the second with stride 2: r = 3 + 2 = 5
    assert erf.theoretical_size == (5, 5) and erf.mass_inside == 1.0
    _check(viz.plot_receptive_field, erf, tmp_path / "rf.png")
    top = viz.top_patches(model, x, channel=1, k=3)
    assert top.patches.shape == (3, 3, 5, 5)
    _check(viz.plot_top_patches, top, tmp_path / "p.png")
    cams = viz.grad_cam_layers(model, x[0])
    assert [c.layer for c in cams] == ["2", "5"]  # the ReLU ending each block
    _check(viz.plot_grad_cam_layers, cams, tmp_path / "c.png")
    vis = viz.visualize_channels(model, (3, 16, 16), channels=[0, 1], steps=3)
    _check(viz.plot_feature_visualization, vis, tmp_path / "o.png")


def test_custom_module_with_a_skip_connection(tmp_path):
    random.manual_seed(1)
    model = Residual()
    x = np.random.default_rng(1).normal(size=(4, 3, 12, 12)).astype(np.float32)
    maps = viz.feature_maps(model, x[0])
    assert [n for n, _ in maps.layers] == ["stem", "body.1"]
    model.eval()
    assert np.allclose(maps.layers[0][1], model.stem(Tensor(x[:1])).data[0])
    erf = viz.effective_receptive_field(model, x, layer="body.1", unit=(0, 5))
    (y0, y1), (x0, x1) = erf.box
    assert erf.theoretical_size == (5, 5)
    outside = np.ones(erf.gradient.shape, bool)
    outside[max(y0, 0):y1, max(x0, 0):x1] = False
    assert np.all(erf.gradient[outside] == 0) and erf.mass_inside == 1.0
    cam = viz.grad_cam(model, x[0], layer="body.1", target=2)
    assert cam.cam.shape == (12, 12)
    _check(viz.plot_grad_cam, cam, tmp_path / "cam.png")
