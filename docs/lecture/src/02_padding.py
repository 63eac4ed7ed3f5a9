# %% [markdown]
# # 2. Padding: zeros, other fills, and 'same'
#
# Without padding every layer shrinks the map by `K - 1` (`W' = W - K + 1`), which limits how
# many layers a network can have. Padding adds `P` rows and columns around the map first
# (usually zeros; the lecture notes there are other fills), so
# `W' = W - K + 2P + 1`. The common choice `P = (K - 1) / 2` keeps the size: **'same'
# padding**.

# %%
import convscope  # before NumPy: OpenBLAS's idle-thread timeout (README, Threads)
import numpy as np

import convscope.functional as F
from convscope import arith, display, nn
from convscope.data import load_photo_patches
from matplotlib.patches import Rectangle

rng = np.random.default_rng(0)
images, _ = load_photo_patches(train=False, per_photo=1)

# %% [markdown]
# ## Without padding the maps shrink
#
# A stack of 3 x 3 convolutions on a 32 x 32 image loses 2 pixels per layer: after 15
# layers 2 x 2 are left, and a 16th layer has nothing to slide over.

# %%
x = images[:1]
sizes = [x.shape[-1]]
w = rng.standard_normal((3, 3, 3, 3)).astype(np.float32) * 0.2
while x.shape[-1] >= 3:
    x = F.conv2d(x, w)
    sizes.append(x.shape[-1])
print(" -> ".join(map(str, sizes)))
assert sizes == [32 - 2 * L for L in range(len(sizes))] and sizes[-1] == 2
try:
    F.conv2d(x, w)
except ValueError as error:
    print("the next layer:", error)

# %% [markdown]
# ## Zero padding and W' = W - K + 2P + 1
#
# `F.pad` adds the border (PyTorch's argument order: last axis first); a convolution's
# `padding=P` pads with zeros and convolves. The two agree, and the size follows the formula:

# %%
image = images[:1]
for K in (1, 3, 5, 7):
    for P in range(0, 4):
        out = F.conv2d(image, rng.standard_normal((2, 3, K, K)).astype(np.float32), padding=P)
        assert out.shape[-1] == 32 - K + 2 * P + 1 == arith.conv_output_size(32, K, padding=P)
w5 = rng.standard_normal((4, 3, 5, 5)).astype(np.float32)
padded = F.pad(image, (2, 2, 2, 2))                    # zeros, 2 on each side
assert padded.shape == (1, 3, 36, 36) and np.all(padded[..., :2, :] == 0)
assert np.allclose(F.conv2d(padded, w5), F.conv2d(image, w5, padding=2), atol=1e-5)
print("W' = W - K + 2P + 1 held for K in 1..7, P in 0..3")

# %% [markdown]
# ## 'same' padding: P = (K - 1) / 2
#
# For odd kernels `P = (K - 1) / 2` gives `W' = W`, at every depth: a stack of 20 same-padded
# layers still has 32 x 32 maps. `padding='same'` computes `P` itself; for an even kernel the
# extra row goes to the far side (as PyTorch does), and with a stride `arith.same_padding`
# gives TensorFlow's 'SAME' (output `ceil(W / S)`).

# %%
for K in (1, 3, 5, 7, 9):
    P = (K - 1) // 2
    w = rng.standard_normal((3, 3, K, K)).astype(np.float32)
    assert F.conv2d(image, w, padding=P).shape[-2:] == (32, 32)
    assert np.array_equal(F.conv2d(image, w, padding=P), F.conv2d(image, w, padding="same"))

deep = nn.Sequential(*[nn.Conv2d(3, 3, 3, padding="same") for _ in range(20)])
with convscope.no_grad():
    assert deep(convscope.Tensor(image)).shape == (1, 3, 32, 32)

print("even kernel K=4:", arith.same_padding(32, 4), "(before, after)")
for W, K, S in [(224, 7, 2), (225, 3, 2), (32, 4, 1), (17, 5, 3)]:
    before, after = arith.same_padding(W, K, stride=S)
    out = F.conv2d(np.zeros((1, 1, W, W), np.float32), np.zeros((1, 1, K, K), np.float32),
                   stride=S, padding=((before, after), (before, after)))
    assert out.shape[-1] == -(-W // S)                  # ceil(W / S)
    print(f"W={W} K={K} S={S}: padding ({before}, {after}) -> {out.shape[-1]} = ceil(W/S)")

# %% [markdown]
# ## Other fills
#
# Zeros are the usual fill, but not the only one: **reflect** mirrors the map at its border
# (without repeating the edge), **replicate** repeats the edge pixel, **circular** wraps
# around (the map as a torus). Each equals NumPy's `np.pad` mode of the same meaning:

# %%
small = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
numpy_names = {"constant": "constant", "reflect": "reflect", "replicate": "edge",
               "circular": "wrap"}
for mode, np_mode in numpy_names.items():
    ours = F.pad(small, (2, 2, 2, 2), mode=mode)
    assert np.array_equal(ours[0, 0], np.pad(small[0, 0], 2, mode=np_mode)), mode
print(F.pad(small, (2, 2, 2, 2), mode="reflect")[0, 0].astype(int))

# %%
P = 8
fig = display.figure(9.5, 2.6)
axes = fig.subplots(1, 4)
for ax, mode in zip(axes, numpy_names):
    shown = F.pad(image, (P, P, P, P), mode=mode)[0].transpose(1, 2, 0)
    ax.imshow(np.clip(shown, 0, 1))
    ax.add_patch(Rectangle(
        (P - 0.5, P - 0.5), 32, 32, fill=False, edgecolor="yellow", linewidth=1.5))
    ax.set_title(f"{mode} (P={P})")
    ax.set_xticks([]); ax.set_yticks([])
fig

# %% [markdown]
# The fill changes only the outputs whose window reaches into the padding: the outer
# `(K - 1) / 2` rows and columns. `nn.Conv2d(..., padding_mode=...)` pads this way and then
# convolves:

# %%
K = 5
maps = {}
for mode in ("zeros", "reflect", "replicate", "circular"):
    convscope.manual_seed(0)
    layer = nn.Conv2d(3, 1, K, padding="same", padding_mode=mode)
    with convscope.no_grad():
        maps[mode] = layer(convscope.Tensor(image)).data[0, 0]
inner = slice((K - 1) // 2, 32 - (K - 1) // 2)
for mode, y in maps.items():
    assert y.shape == (32, 32)
    assert np.allclose(y[inner, inner], maps["zeros"][inner, inner], atol=1e-5)
    border = np.abs(y - maps["zeros"]).max()
    print(f"{mode:9s}: same as zeros inside, differs by up to {border:.3f} on the border")
    if mode != "zeros":
        assert border > 1e-3

fig = display.figure(9.5, 2.5)
v = max(np.abs(y).max() for y in maps.values())
for ax, (mode, y) in zip(fig.subplots(1, 4), maps.items()):
    ax.imshow(y, cmap="RdBu_r", vmin=-v, vmax=v)      # one colour scale for all four
    ax.set_title(f"padding_mode={mode!r}", fontsize=9)
    ax.set_xticks([]); ax.set_yticks([])
fig
