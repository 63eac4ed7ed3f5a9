# %% [markdown]
# # 7. 1D and 3D convolution
#
# The lecture's note: what we have seen is **2D convolution**; there is also **1D
# convolution** (sequences: text, audio, sensor traces) and **3D convolution** (volumes and
# videos: 3D computer vision). The rule is the same along every axis: the kernel slides, each
# position is one dot product, and each axis shrinks by `K - 1` (or follows
# `(W - K + 2P)/S + 1`).

# %%
import convscope  # before NumPy: OpenBLAS's idle-thread timeout (README, Threads)
import numpy as np

import convscope.functional as F
from convscope import arith, display, models, nn, summary
from convscope.viz.animate import conv_animation

rng = np.random.default_rng(0)

# %% [markdown]
# ## 1D: a signal
#
# A signal of length `L` with `C` channels is `(C, L)`; a filter is `(C, K)`, and the output
# has length `L - K + 1`. With one channel it is NumPy's `np.correlate` (no flip: a
# convolutional layer computes a cross-correlation):

# %%
t = np.linspace(0, 1, 200, dtype=np.float32)
signal = (np.sin(2 * np.pi * 3 * t) + (t > 0.5) + 0.1 * rng.standard_normal(200)).astype(np.float32)
kernels = {"difference [-1, 0, 1]": np.array([-1, 0, 1], np.float32),
           "average of 9": np.full(9, 1 / 9, np.float32)}
fig = display.figure(8, 3)
ax = fig.subplots()
ax.plot(signal, color="0.6", label=f"signal, L = {len(signal)}")
for name, k in kernels.items():
    out = F.conv1d(signal[None, None], k[None, None])[0, 0]
    assert out.shape == (len(signal) - len(k) + 1,)
    assert np.allclose(out, np.correlate(signal, k, mode="valid"), atol=1e-5)
    ax.plot(np.arange(len(out)) + len(k) // 2, out, label=f"{name}: L' = {len(out)}")
ax.legend(fontsize=8)
ax.set(xlabel="position", title="conv1d: each output is one dot product of the kernel "
       "with a window")
fig

# %% [markdown]
# The animation of a 1D convolution with stride 2 and padding 1, and the same size formula:

# %%
anim = conv_animation(7, 3, stride=2, padding=1, values=True)
assert anim.output_size == (arith.conv_output_size(7, 3, stride=2, padding=1),) == ((7 - 3 + 2) // 2 + 1,)
anim

# %% [markdown]
# ## 1D on text: filters as n-gram detectors
#
# In NLP a sentence of `L` words is a `(C, L)` array: one column per word, its embedding
# (here one-hot, `C` = vocabulary size). A filter of width 2 scores each pair of
# neighbouring words: this one fires on "not good" and on nothing else.

# %%
vocabulary = ["the", "film", "was", "not", "good", "very", "bad", "boring"]
sentence = "the film was not good not very boring".split()
onehot = np.zeros((len(vocabulary), len(sentence)), np.float32)
for j, word in enumerate(sentence):
    onehot[vocabulary.index(word), j] = 1
detector = np.zeros((1, len(vocabulary), 2), np.float32)
detector[0, vocabulary.index("not"), 0] = 1
detector[0, vocabulary.index("good"), 1] = 1
scores = F.conv1d(onehot[None], detector, np.array([-1.0], np.float32))[0, 0]
for (a, b), s in zip(zip(sentence, sentence[1:]), scores):
    print(f"{a:>6} {b:<7} {s:+.0f}")
assert scores.shape == (len(sentence) - 1,)
assert [i for i, s in enumerate(scores) if s > 0] == [sentence.index("not")]

# %% [markdown]
# A whole 1D network: `models.signal_cnn`, three K3 P1 blocks (stride 2 after the first),
# summarised with the same tools as a 2D one:

# %%
s = summary(models.signal_cnn(length=128, rng=np.random.default_rng(0)), (1, 128))
assert s.output_shape == (10,)
s

# %% [markdown]
# ## 3D: a volume
#
# A volume of depth `D` is `(C, D, H, W)`; a filter is `(C, K, K, K)`; every axis shrinks by
# `K - 1`. A 3D convolution is a sum of 2D convolutions: each depth offset of the kernel is a
# 2D filter applied to one slice, and the slices' results add up.

# %%
D = H = W = 16
z, y, x = np.mgrid[:D, :H, :W] - 7.5
ball = ((x ** 2 + y ** 2 + z ** 2) < 6 ** 2).astype(np.float32)   # a solid ball, radius 6
volume = ball[None, None]                                          # (N, C, D, H, W)
w3 = rng.standard_normal((2, 1, 3, 3, 3)).astype(np.float32)
out = F.conv3d(volume, w3)
assert out.shape == (1, 2, D - 3 + 1, H - 3 + 1, W - 3 + 1)

by_slices = np.zeros_like(out)
for d in range(D - 2):
    for k in range(3):                              # kernel depth offset k on slice d + k
        by_slices[:, :, d] += F.conv2d(volume[:, :, d + k], w3[:, :, k])
assert np.allclose(out, by_slices, atol=1e-4)

for K, S, P in [(3, 1, 1), (3, 2, 1), (5, 2, 0), (2, 2, 0)]:
    o = F.conv3d(volume, rng.standard_normal((1, 1, K, K, K)).astype(np.float32),
                 stride=S, padding=P)
    assert o.shape[2:] == (arith.conv_output_size(16, K, S, P),) * 3 == ((16 - K + 2 * P) // S + 1,) * 3
print("3D output", out.shape, "= the sum of 2D convolutions of the slices")

# %% [markdown]
# A 3D edge filter (the difference of neighbouring voxels along each axis, summed as
# magnitudes) finds the ball's surface: a ring in every slice through it.

# %%
edges = np.zeros((3, 1, 3, 3, 3), np.float32)
edges[0, 0, 0, 1, 1], edges[0, 0, 2, 1, 1] = -1, 1     # along depth
edges[1, 0, 1, 0, 1], edges[1, 0, 1, 2, 1] = -1, 1     # along height
edges[2, 0, 1, 1, 0], edges[2, 0, 1, 1, 2] = -1, 1     # along width
surface = np.sqrt((F.conv3d(volume, edges, padding=1) ** 2).sum(axis=1))[0]
assert surface.shape == (D, H, W)
assert surface[8, 8, 8] == 0 and surface[8, 8, 1] > 0     # inside the ball 0, on its surface > 0
fig = display.figure(9, 4)
axes = fig.subplots(2, 5)
for k, d in enumerate((2, 4, 6, 8, 10)):
    axes[0, k].imshow(ball[d], cmap="gray", vmin=0, vmax=1)
    axes[0, k].set_title(f"slice {d}", fontsize=9)
    axes[1, k].imshow(surface[d], cmap="magma")
axes[0, 0].set_ylabel("volume")
axes[1, 0].set_ylabel("|3D gradient|")
for ax in axes.ravel():
    ax.set_xticks([]); ax.set_yticks([])
fig
