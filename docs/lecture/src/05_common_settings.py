# %% [markdown]
# # 5. The common settings and 1 x 1 convolutions
#
# The lecture's rules of thumb: square kernels, `P = (K - 1) / 2`, channels in
# {32, 64, 128, 256}, and four standard configurations:
#
# | K | P | S | purpose |
# |---|---|---|---|
# | 3 | 1 | 1 | standard conv |
# | 5 | 2 | 1 | large receptive field |
# | 1 | 0 | 1 | channel mixing |
# | 3 | 1 | 2 | downsample |
#
# Each is checked below on a 64-channel 56 x 56 input: output size, parameters
# `C_out (C_in K^2 + 1)`, multiply-accumulates `C_out C_in K^2 H' W'` and receptive field.

# %%
import convscope  # before NumPy: OpenBLAS's idle-thread timeout (README, Threads)
import numpy as np

import convscope.functional as F
from convscope import arith, display, nn, summary
from convscope.data import load_photo_patches

rng = np.random.default_rng(0)

# %%
C_in, C_out, H = 64, 64, 56
settings = {"standard conv": (3, 1, 1), "large receptive field": (5, 2, 1),
            "channel mixing": (1, 0, 1), "downsample": (3, 1, 2)}
convscope.manual_seed(0)
layers = {name: nn.Conv2d(C_in, C_out, K, stride=S, padding=P)
          for name, (K, P, S) in settings.items()}
x = convscope.Tensor(rng.standard_normal((1, C_in, H, H)).astype(np.float32))
print(f"{'setting':22s} K P S  output      params     MACs        RF")
for name, (K, P, S) in settings.items():
    layer = layers[name]
    with convscope.no_grad():
        y = layer(x)
    out = y.shape[-1]
    params = sum(p.data.size for p in layer.parameters())
    s = summary(nn.Sequential(layer), (C_in, H, H))
    assert params == C_out * (C_in * K * K + 1) == s.total_params
    assert s.total_macs == C_out * C_in * K * K * out * out
    assert out == (H if S == 1 else H // 2)            # 'same' keeps, S = 2 halves
    assert s.rows[0].field.size == (K, K)
    print(f"{name:22s} {K} {P} {S}  {C_out}x{out}x{out}  {params:9,d}  {s.total_macs:11,d}  {K}")

# %% [markdown]
# Stacked, they make a small network; `summary` shows every layer's shape, cost and field
# (inline as a table), and the model itself shows its layers:

# %%
convscope.manual_seed(0)
net = nn.Sequential(
    nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(),             # standard
    nn.Conv2d(32, 32, 5, padding=2), nn.ReLU(),            # large receptive field
    nn.Conv2d(32, 64, 3, stride=2, padding=1), nn.ReLU(),  # downsample 32 -> 16
    nn.Conv2d(64, 32, 1), nn.ReLU(),                       # channel mixing 64 -> 32
    nn.Conv2d(32, 128, 3, stride=2, padding=1), nn.ReLU(), # downsample 16 -> 8
)
s = summary(net, (3, 32, 32))
assert s.output_shape == (128, 8, 8)
r, j = 1, 1                                   # field and jump: r += (K - 1) j, j *= S
for K, S in [(3, 1), (5, 1), (3, 2), (1, 1), (3, 2)]:
    r, j = r + (K - 1) * j, j * S
assert s.rows[-1].field.size == (r, r) == (13, 13)
s

# %%
net

# %% [markdown]
# ## 1 x 1 convolution: a small fully connected layer at every pixel
#
# The lecture's example: at one pixel the RGB values are `[0.2, 0.8, 0.1]`; a 1 x 1 filter
# with weights `[0.3, 0.5, 0.2]` gives `0.3 R + 0.5 G + 0.2 B = 0.48`:

# %%
pixel = np.array([0.2, 0.8, 0.1], np.float32).reshape(1, 3, 1, 1)
weights = np.array([0.3, 0.5, 0.2], np.float32).reshape(1, 3, 1, 1)
value = F.conv2d(pixel, weights)
print(value.ravel())
assert np.isclose(value.item(), 0.48)

# %% [markdown]
# On a whole image the same weights apply at every pixel independently: the 1 x 1
# convolution equals a matrix product over the channel axis (`einsum`), and moving a pixel
# moves its output with it: no neighbour is mixed in.

# %%
images, _ = load_photo_patches(train=False, per_photo=1)
w = rng.standard_normal((5, 3, 1, 1)).astype(np.float32)
b = rng.standard_normal(5).astype(np.float32)
y = F.conv2d(images, w, b)
per_pixel = np.einsum("oc,nchw->nohw", w[:, :, 0, 0], images) + b[:, None, None]
assert np.allclose(y, per_pixel, atol=1e-5)

shuffled = rng.permutation(32 * 32)
scramble = lambda a: a.reshape(*a.shape[:2], -1)[..., shuffled].reshape(a.shape)
assert np.allclose(F.conv2d(scramble(images), w, b), scramble(y), atol=1e-5)
print("1x1 conv == per-pixel linear map; it commutes with any shuffling of the pixels")

# %% [markdown]
# Two 1 x 1 filters applied to the photo patches: the luminance `0.299 R + 0.587 G +
# 0.114 B` and a red-minus-green channel. Same size out, one number per pixel and filter:

# %%
mix = np.array([[0.299, 0.587, 0.114], [1.0, -1.0, 0.0]], np.float32)[:, :, None, None]
mixed = F.conv2d(images[:4], mix)
assert mixed.shape == (4, 2, 32, 32)
fig = display.figure(8, 6)
axes = fig.subplots(3, 4)
for k in range(4):
    axes[0, k].imshow(images[k].transpose(1, 2, 0))
    axes[1, k].imshow(mixed[k, 0], cmap="gray")
    v = np.abs(mixed[k, 1]).max()
    axes[2, k].imshow(mixed[k, 1], cmap="RdYlGn_r", vmin=-v, vmax=v)
for ax, label in zip(axes[:, 0], ("RGB input", "luminance", "red - green")):
    ax.set_ylabel(label)
for ax in axes.ravel():
    ax.set_xticks([]); ax.set_yticks([])
fig
