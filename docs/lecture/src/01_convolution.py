# %% [markdown]
# # 1. The convolution and H' = H - K + 1
#
# The lecture: a convolutional layer slides a small filter over the image; **at each position
# the dot product of the filter and the image patch under it is one output value**. A
# 3 x 5 x 5 filter (its depth matches the image's 3 channels) over a 3 x 32 x 32 image gives a
# 28 x 28 activation map: `H' = H - K + 1`, `W' = W - K + 1`. Each filter has one bias, and
# `C_out` filters give `C_out` output channels.
#
# This notebook computes all of it with convscope's engine (`convscope.functional`) and checks
# each claim with numbers: every `assert` below fails the notebook if the claim does not hold.

# %%
import convscope  # before NumPy: OpenBLAS's idle-thread timeout (README, Threads)
import numpy as np

import convscope.functional as F
from convscope import arith, display
from convscope.data import PHOTO_CLASSES, load_photo_patches
from convscope.viz.animate import conv_animation

rng = np.random.default_rng(0)

# %% [markdown]
# ## The lecture's example: a 3 x 5 x 5 filter over a 3 x 32 x 32 image
#
# The image is a 32 x 32 patch of a real photograph (the built-in `photo-patches` data set,
# cut from the photos scikit-image ships). The filter is random.

# %%
images, labels = load_photo_patches(train=False, per_photo=1)
image = images[0]                                  # (C, H, W) = (3, 32, 32)
print(PHOTO_CLASSES[labels[0]], image.shape)

filt = rng.standard_normal((3, 5, 5)).astype(np.float32)   # depth 3 = the image's channels
bias = np.float32(0.1)

# %% [markdown]
# Slide the filter left to right, top to bottom; at each position take the dot product of
# the filter with the 3 x 5 x 5 patch under it, plus the bias. One number per position:

# %%
C, H, W = image.shape
K = filt.shape[-1]
by_hand = np.empty((H - K + 1, W - K + 1), np.float32)
for i in range(H - K + 1):
    for j in range(W - K + 1):
        patch = image[:, i:i + K, j:j + K]
        by_hand[i, j] = np.sum(patch * filt) + bias

engine = F.conv2d(image[None], filt[None], np.array([bias]))    # N=1, C_out=1
print("by hand:", by_hand.shape, " engine:", engine.shape)
assert by_hand.shape == (H - K + 1, W - K + 1) == (28, 28)       # H' = H - K + 1
assert engine.shape == (1, 1, 28, 28)
assert np.allclose(engine[0, 0], by_hand, atol=1e-4)

# %% [markdown]
# The engine's `algorithm='direct'` is this loop written once for every shape; the default
# (`'auto'`) picks a faster kernel. They agree:

# %%
direct = F.conv2d(image[None], filt[None], np.array([bias]), algorithm="direct")
assert np.allclose(direct, engine, atol=1e-4)

# %%
fig = display.figure(7.5, 2.6)
axes = fig.subplots(1, 3)
axes[0].imshow(image.transpose(1, 2, 0))
axes[0].set_title(f"input 3 x {H} x {W}")
axes[1].imshow(np.abs(filt).sum(0), cmap="gray")
axes[1].set_title(f"filter 3 x {K} x {K} (|w| summed)")
axes[2].imshow(engine[0, 0], cmap="RdBu_r")
axes[2].set_title(f"activation map {H - K + 1} x {W - K + 1}")
for ax in axes:
    ax.set_xticks([]); ax.set_yticks([])
fig

# %% [markdown]
# ## The sliding window, drawn
#
# `conv_animation` lays one convolution out cell by cell (the values come from the engine);
# a notebook shows it inline. A 3 x 3 kernel over a 5 x 5 input gives 3 x 3 outputs:

# %%
anim = conv_animation((5, 5), 3, values=True, seed=0)
assert anim.output_size == (5 - 3 + 1, 5 - 3 + 1)
anim

# %% [markdown]
# ## H' = H - K + 1 for every size
#
# The engine's output shape, `arith`'s formula and the lecture's formula agree for every
# input size and kernel size, rectangular kernels included:

# %%
checked = 0
for h in range(1, 20):
    for w in (1, 7, 16):
        for kh in range(1, h + 1):
            for kw in range(1, w + 1, 2):
                out = F.conv2d(np.zeros((1, 1, h, w), np.float32),
                               np.zeros((1, 1, kh, kw), np.float32))
                assert out.shape[2:] == (h - kh + 1, w - kw + 1)
                assert arith.conv_output_size(h, kh) == h - kh + 1
                checked += 1
print(f"H' = H - K + 1 held for {checked} (H, W, K_h, K_w) settings")

# %% [markdown]
# ## C_out filters give C_out channels, each filter one bias
#
# A layer with `C_out` filters of shape `C_in x K x K` and a batch of `N` images gives
# `N x C_out x H' x W'`. Every output channel is its own filter's map plus its own bias:

# %%
N, C_in, C_out = 4, 3, 6
x = images[:N]
weight = rng.standard_normal((C_out, C_in, 5, 5)).astype(np.float32)
b = rng.standard_normal(C_out).astype(np.float32)
y = F.conv2d(x, weight, b)
assert y.shape == (N, C_out, 32 - 5 + 1, 32 - 5 + 1)
for o in range(C_out):
    alone = F.conv2d(x, weight[o:o + 1])          # one filter, no bias
    assert np.allclose(y[:, o], alone[:, 0] + b[o], atol=1e-4)
print("output", y.shape, "; parameters:", weight.size + b.size, "=", C_out, "x (3*5*5 + 1)")

# %% [markdown]
# ## Two convolutions in a row are one convolution
#
# The lecture: stacking two convolutional layers without anything between them gives *one*
# convolutional layer, which is why an activation function follows each. The combined
# filter of a K1 x K1 layer followed by a K2 x K2 layer is (K1 + K2 - 1) wide: it is the
# first layer's filters convolved (in full) with the second layer's, which the engine
# itself computes, treating the first weights as a batch of images:

# %%
w1 = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)   # 3 -> 4 channels, 3 x 3
b1 = rng.standard_normal(4).astype(np.float32)
w2 = rng.standard_normal((5, 4, 5, 5)).astype(np.float32)   # 4 -> 5 channels, 5 x 5
b2 = rng.standard_normal(5).astype(np.float32)

two_layers = F.conv2d(F.conv2d(x, w1, b1), w2, b2)

# full convolution of w1 with w2: pad w1 by K2 - 1 and correlate with w2 flipped
flipped = np.ascontiguousarray(w2[:, :, ::-1, ::-1])
combined = F.conv2d(w1.transpose(1, 0, 2, 3), flipped, padding=4).transpose(1, 0, 2, 3)
combined_bias = b2 + w2.sum(axis=(2, 3)) @ b1
one_layer = F.conv2d(x, np.ascontiguousarray(combined), combined_bias)

print("combined filter:", combined.shape)             # (5, 3, 7, 7): 3 + 5 - 1 = 7
assert combined.shape == (5, 3, 3 + 5 - 1, 3 + 5 - 1)
assert np.allclose(two_layers, one_layer, atol=1e-3 * np.abs(two_layers).max())

# %% [markdown]
# With a ReLU between the two layers there is no such single filter: the same combined
# filter no longer reproduces the output.

# %%
with_relu = F.conv2d(F.relu(F.conv2d(x, w1, b1)), w2, b2)
gap = np.abs(with_relu - one_layer).max() / np.abs(with_relu).max()
print(f"largest difference with a ReLU between: {gap:.0%} of the output's range")
assert gap > 0.05
