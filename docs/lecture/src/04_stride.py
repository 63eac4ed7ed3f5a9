# %% [markdown]
# # 4. Stride and downsampling
#
# With stride `S` the filter moves `S` pixels at a time. The output shrinks, and each layer
# adds more to the receptive field:
#
# `W' = (W - K + 2P) / S + 1`
#
# When `S` does not divide `W - K + 2P` the division is rounded down (the floor): the last
# rows and columns of the input are then **never read** by any window (Dumoulin & Visin's
# non-divisible cases). Reducing the resolution this way, keeping what matters, is
# **downsampling**.

# %%
import math

import convscope  # before NumPy: OpenBLAS's idle-thread timeout (README, Threads)
import numpy as np

import convscope.functional as F
from convscope import arith, display, nn, summary, viz
from convscope.data import load_photo_patches
from convscope.viz.animate import conv_animation

rng = np.random.default_rng(0)

# %% [markdown]
# ## The formula, with its floor, against the engine

# %%
divisible = floors = 0
for W in range(1, 26):
    for K in (1, 2, 3, 5, 7):
        for S in (1, 2, 3, 4):
            for P in (0, 1, 2, 3):
                if W + 2 * P < K:
                    continue
                out = F.conv2d(np.zeros((1, 1, W, W), np.float32),
                               np.zeros((1, 1, K, K), np.float32), stride=S, padding=P)
                formula = math.floor((W - K + 2 * P) / S) + 1
                assert out.shape[-1] == formula == arith.conv_output_size(W, K, S, P)
                if (W - K + 2 * P) % S:
                    floors += 1
                else:
                    divisible += 1
print(f"W' = floor((W - K + 2P)/S) + 1 held in {divisible} divisible and {floors} "
      f"non-divisible settings")

# %% [markdown]
# ## A strided convolution is the dense one, sampled every S pixels
#
# Computing only every `S`-th position is the same as computing all positions and keeping
# every `S`-th: the stride saves `S^2` times the work.

# %%
x = rng.standard_normal((2, 3, 23, 23)).astype(np.float32)
w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
for S in (2, 3, 4):
    strided = F.conv2d(x, w, stride=S, padding=1)
    dense = F.conv2d(x, w, stride=1, padding=1)
    assert np.allclose(strided, dense[..., ::S, ::S], atol=1e-5)
    print(f"S={S}: {dense.shape[-1]} x {dense.shape[-1]} dense -> "
          f"{strided.shape[-1]} x {strided.shape[-1]} strided")

# %% [markdown]
# ## The non-divisible cases: rows no window reads
#
# 6 x 6 input, K = 3, S = 2, P = 0: `(6 - 3)/2 = 1.5`, floored, `W' = 2`, and the last
# column and row of the input are never read; the output does not change whatever they hold.
# `arith.unused_input` counts them; the animation draws them red.

# %%
W, K, S = 6, 3, 2
print("unused rows:", arith.unused_input(W, K, stride=S))
assert arith.unused_input(W, K, stride=S) == 1
x = rng.standard_normal((1, 1, W, W)).astype(np.float32)
w = rng.standard_normal((1, 1, K, K)).astype(np.float32)
changed = x.copy()
changed[..., -1, :] = 100.0
changed[..., :, -1] = -100.0
assert np.array_equal(F.conv2d(x, w, stride=S), F.conv2d(changed, w, stride=S))
conv_animation((W, W), K, stride=S)

# %% [markdown]
# Padding can absorb the remainder: with `P = 1` the same layer reads every input row
# (`(6 - 3 + 2)/2 = 2.5`, floored: the last *padding* row is the one left out). The
# lecture's downsampling setting K = 3, P = 1, S = 2 halves even sizes exactly and gives
# `(W + 1) / 2` for odd ones:

# %%
assert arith.unused_input(6, 3, stride=2, padding=1) == 0
for W in range(2, 40):
    assert arith.conv_output_size(W, 3, stride=2, padding=1) == (W + 1) // 2 == math.ceil(W / 2)
conv_animation((6, 6), 3, stride=2, padding=1)

# %% [markdown]
# ## Strides grow the receptive field faster
#
# After a stride-`S` layer, neighbouring units are `S` input pixels apart (the *jump*), and
# the next layer's `K - 1` extra taps each add a jump:
# `r_l = r_{l-1} + (K - 1) j_{l-1}`, `j_l = j_{l-1} S`. Four 3 x 3 layers see 9 pixels at
# stride 1 but 31 at stride 2; the engine's gradient says the same:

# %%
def centre_field(model, size):
    x = convscope.tensor(rng.standard_normal((1, 1, size, size)), requires_grad=True)
    y = model(x)
    y[0, 0, y.shape[-2] // 2, y.shape[-1] // 2].backward()
    rows = np.flatnonzero(np.abs(x.grad[0, 0]).sum(axis=1) > 0)
    return int(rows[-1] - rows[0] + 1)


for S in (1, 2):
    convscope.manual_seed(0)
    model = nn.Sequential(*[nn.Conv2d(1, 1, 3, stride=S) for _ in range(4)]).double()
    theory = arith.rf_stack([(3, S, 0, 1)] * 4)
    r, j = 1, 1
    for _ in range(4):
        r, j = r + (3 - 1) * j, j * S
    assert centre_field(model, 63) == theory.size[0] == r
    print(f"stride {S}: receptive field {r}, jump {j}")

# %% [markdown]
# ## Downsampling an image
#
# Three K3 P1 S2 layers take a 32 x 32 image to 16, 8 and 4; `summary` gives each layer's
# output, field and jump, and `viz.feature_maps` shows the maps (random filters, so they are
# blurred edge maps of the photo at falling resolution):

# %%
convscope.manual_seed(0)
down = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.ReLU(),
                     nn.Conv2d(8, 8, 3, stride=2, padding=1), nn.ReLU(),
                     nn.Conv2d(8, 8, 3, stride=2, padding=1), nn.ReLU())
s = summary(down, (3, 32, 32))
assert [r.output_shape[-1] for r in s.rows if r.kind == "conv"] == [16, 8, 4]
s

# %%
images, _ = load_photo_patches(train=False, per_photo=1)
viz.feature_maps(down, images[0])
