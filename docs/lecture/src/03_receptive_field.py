# %% [markdown]
# # 3. Receptive fields: 1 + L(K - 1), and the effective field
#
# The lecture: for a convolution with kernel size `K`, each output element depends on a
# `K x K` receptive field in the input; **each further convolution adds `K - 1`**, so after
# `L` layers the receptive field is **`1 + L(K - 1)`** wide.
#
# Here the field is measured, not only computed: the gradient of one output unit with
# respect to the input is non-zero exactly on the pixels the unit depends on (autograd of
# the engine), and `convscope.arith` gives the same number. Then the *effective* receptive
# field (Luo et al. 2016): the theoretical field is a bound, but the gradient mass piles up
# in its centre.

# %%
import convscope  # before NumPy: OpenBLAS's idle-thread timeout (README, Threads)
import numpy as np

from convscope import arith, display, nn, summary, viz

rng = np.random.default_rng(0)


def field_of_centre_unit(model, size=41):
    """Side of the square of input pixels on which the centre output unit depends:
    the support of d(unit) / d(input), computed by the engine's autograd."""
    x = convscope.tensor(rng.standard_normal((1, 1, size, size)), requires_grad=True)
    y = model(x)
    h, w = y.shape[-2:]
    y[0, 0, h // 2, w // 2].backward()
    rows = np.flatnonzero(np.abs(x.grad[0, 0]).sum(axis=1) > 0)
    cols = np.flatnonzero(np.abs(x.grad[0, 0]).sum(axis=0) > 0)
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


def stack(L, K, **conv):
    convscope.manual_seed(L * 10 + K)
    layers = []
    for _ in range(L):
        layers += [nn.Conv2d(1, 1, K, **conv), nn.Tanh()]
    return nn.Sequential(*layers).double()

# %% [markdown]
# ## 1 + L(K - 1), three ways

# %%
rows = []
for K in (3, 5, 7):
    for L in range(1, 6):
        measured = field_of_centre_unit(stack(L, K))
        computed = arith.rf_stack([(K, 1, 0, 1)] * L).size
        lecture = 1 + L * (K - 1)
        assert measured == computed == (lecture, lecture), (K, L, measured, computed)
        rows.append((K, L, lecture))
print("K  L  field (gradient support = arith = 1 + L(K-1))")
for K, L, r in rows:
    print(f"{K}  {L}  {r}")

# %% [markdown]
# Padding does not change the field's size (it only lets the field reach past the image's
# border), and `summary` lists the field layer by layer (`RF`):

# %%
padded = stack(4, 3, padding=1)
assert field_of_centre_unit(padded) == (1 + 4 * 2,) * 2
summary(padded, (1, 32, 32))

# %%
Ls = np.arange(1, 11)
fig = display.figure(5.5, 3.2)
ax = fig.subplots()
for K in (3, 5, 7):
    ax.plot(Ls, [arith.rf_stack([(K, 1, 1, 1)] * L).size[0] for L in Ls], "o-",
            label=f"K = {K}: 1 + L({K} - 1)")
ax.set(xlabel="layers L", ylabel="receptive field (pixels)",
       title="each layer adds K - 1")
ax.grid(alpha=0.3)
ax.legend()
fig

# %% [markdown]
# ## The effective receptive field
#
# A unit depends on every pixel of its field, but not equally: a pixel in the centre reaches
# the unit through many more paths than one at the edge. `viz.effective_receptive_field`
# averages |d unit / d input| over inputs; the result shows itself inline (the picture of
# `viz.plot_receptive_field`). Here: 6 layers of 3 x 3 convolutions with ReLUs, random
# initialisation, random inputs.

# %%
convscope.manual_seed(0)
deep = nn.Sequential(*[m for _ in range(6)
                       for m in (nn.Conv2d(4 if _ else 1, 4, 3, padding=1), nn.ReLU())])
inputs = rng.standard_normal((32, 1, 33, 33)).astype(np.float32)
erf = viz.effective_receptive_field(deep, inputs)
print("theoretical field:", erf.theoretical_size, " share of the gradient inside:",
      erf.mass_inside)
print("half-widths holding 50% / 90% / 99% of the gradient:", erf.halfwidths)
assert erf.theoretical_size == (1 + 6 * 2,) * 2
assert erf.mass_inside == 1.0                         # nothing outside the theoretical field
# if every pixel of the field counted alike, half of the mass would need a centred square
# of side r / sqrt(2); the gradient is concentrated in a smaller one
r = erf.theoretical_size[0]
assert 2 * erf.halfwidths[50] < r / np.sqrt(2)
erf

# %% [markdown]
# The theoretical field grows linearly with depth, the effective one (the width of the
# centred square holding 50% or 90% of the gradient) more slowly (Luo et al. find it grows
# as the square root of the depth), so the effective field fills a shrinking share of the
# theoretical one. `viz.receptive_field_sizes` measures it per layer (a small sample of 32
# random inputs here, so the widths are rough):

# %%
sizes = viz.receptive_field_sizes(deep, inputs)
for row in sizes:
    print(f"layer {row.layer:>2}: theoretical {row.theoretical_size:2d}, "
          f"effective 50% {row.effective[50]:4.1f}, 90% {row.effective[90]:4.1f}")
assert [r.theoretical_size for r in sizes] == [1 + L * 2 for L in range(1, 7)]
share = [r.effective[50] / r.theoretical_size for r in sizes]
print("effective 50% width / theoretical size:", np.round(share, 2))
assert share[-1] < share[0] and share[-1] < 1 / np.sqrt(2)   # the field fills less and less
sizes
