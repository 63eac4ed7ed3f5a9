# %% [markdown]
# # 6. What the first layer learns: oriented edges and opposing colours
#
# The lecture: "the filters in the front layers will often learn patterns like **oriented
# edges, opposing colors**". This notebook trains two small networks with the engine, a few
# hundred steps each, and measures their first layer with `convscope.measure`:
#
# - **orientation selectivity** (1 minus the circular variance of the filter's response to
#   gratings; 1 for a filter that answers one orientation only) on Fashion-MNIST (grey);
# - **colour opponency** (the share of the filter's energy in uniform colour contrasts such as
#   red against green; 0 for any grey filter) on the built-in colour `photo-patches`.
#
# A random filter already scores something on both, so each trained layer is compared with
# the **null level**: the same measure over 100 random initialisations of that layer. The
# claim holds where the trained layer sits far above it. (These runs are short, for a
# notebook; `convscope train` runs the full recipe and records the same numbers, see
# docs/measure.md.)

# %% [markdown]
# The matrix products of these small networks are faster on one BLAS thread; more to the
# point, where another process keeps the second core busy, OpenBLAS's two threads wait for
# each other and a training step takes ten times longer. So this notebook asks for one
# thread, which works when the cell runs before NumPy is first imported (a fresh kernel).

# %%
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import time

import convscope  # before NumPy: OpenBLAS's idle-thread timeout (README, Threads)
import numpy as np

import convscope.functional as F
from convscope import display, measure, nn, optim, viz
from convscope.data import DataLoader, load_dataset

# %% [markdown]
# ## A short training run

# %%
def first_layer_net(in_channels, K, classes, side, rng):
    """A small CNN whose first layer has 16 K x K filters (the layer we measure)."""
    return nn.Sequential(
        nn.Conv2d(in_channels, 16, K, padding=K // 2, bias=False, rng=rng), nn.MaxPool2d(2),
        nn.BatchNorm2d(16), nn.ReLU(),
        nn.Conv2d(16, 32, 3, padding=1, bias=False, rng=rng), nn.MaxPool2d(2),
        nn.BatchNorm2d(32), nn.ReLU(),
        nn.Flatten(), nn.Linear(32 * (side // 4) ** 2, classes, rng=rng))


def train(model, x, y, steps, lr=0.05, batch_size=64, seed=0):
    """`steps` steps of SGD with momentum on (x, y), in a seeded order."""
    opt = optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    loader = DataLoader(x, y, batch_size=batch_size, shuffle=True, seed=seed)
    model.train()
    step, start = 0, time.perf_counter()
    while step < steps:
        for xb, yb in loader:
            loss = F.cross_entropy(model(convscope.Tensor(xb)), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
            if step == steps:
                break
    model.eval()
    print(f"{steps} steps in {time.perf_counter() - start:.1f} s, last loss {loss.item():.3f}")


def accuracy(model, x, y):
    with convscope.no_grad():
        return float((model(convscope.Tensor(x)).data.argmax(axis=1) == y).mean())


def against_null(model, measure_name, n=100):
    """The trained layer's mean score, the null draws, and how many standard deviations
    above the null mean the trained layer is."""
    factory = measure.init_factory(model)              # re-draws the first layer only
    draws = np.array([measure.filter_stats(factory(np.random.default_rng(i)))[measure_name]
                      for i in range(n)])
    null = measure.null_level(factory, n=n)[measure_name]
    assert np.isclose(draws.mean(), null["mean"]) and np.isclose(draws.std(ddof=1), null["std"])
    trained = measure.filter_stats(model[0].weight.data)[measure_name]
    z = (trained - null["mean"]) / null["std"]
    print(f"{measure_name}: trained {trained:.3f}, null {null['mean']:.3f} ± {null['std']:.3f} "
          f"over {n} random initialisations: {z:+.1f} standard deviations")
    return trained, draws, z


def null_picture(title, trained, draws, initial):
    fig = display.figure(6, 2.6)
    ax = fig.subplots()
    ax.hist(draws, bins=20, color="0.7", label=f"{len(draws)} random initialisations")
    ax.axvline(initial, color="tab:blue", ls="--", label=f"this run's initial layer {initial:.3f}")
    ax.axvline(trained, color="tab:red", lw=2, label=f"trained {trained:.3f}")
    ax.set(title=title, xlabel="layer mean", ylabel="draws")
    ax.legend(fontsize=8)
    return fig

# %% [markdown]
# ## Oriented edges: Fashion-MNIST
#
# The data set comes from the Debian package `dataset-fashion-mnist` (`make data` installs
# it; `convscope.data` finds it in `/usr/share/datasets/fashion-mnist`). 300 steps on
# 20,000 training images with 7 x 7 first-layer filters:

# %%
x_train, y_train = load_dataset("fashion-mnist", train=True)
x_test, y_test = load_dataset("fashion-mnist", train=False)
mean, std = x_train[:20000].mean(), x_train[:20000].std()
x_train = (x_train[:20000] - mean) / std
x_test = (x_test[:2000] - mean) / std
y_train, y_test = y_train[:20000], y_test[:2000]

fashion = first_layer_net(1, 7, 10, 28, np.random.default_rng(0))
fashion_init = fashion[0].weight.data.copy()
train(fashion, x_train, y_train, steps=300)
acc = accuracy(fashion, x_test, y_test)
print(f"test accuracy on 2000 images: {acc:.1%} (chance: 10%)")
assert acc > 0.75

# %%
trained, draws, z = against_null(fashion, "orientation_selectivity")
initial = measure.filter_stats(fashion_init)["orientation_selectivity"]
assert z > 3, "the trained filters are no more oriented than random ones"
null_picture("orientation selectivity of the first layer (Fashion-MNIST)",
             trained, draws, initial)

# %% [markdown]
# The trained filters, most selective first (caption: selectivity and preferred
# orientation), next to the same layer at initialisation. After only 300 steps they are
# still rough (the full 11-epoch run of `make train` gives cleaner ones, see
# docs/images/viz_filters.png), but the most selective already hold light and dark bands
# side by side, edges at one orientation, where the initial weights are salt and pepper.

# %%
viz.plot_filters(fashion[0].weight.data, captions="orientation", sort_by="orientation",
                 title="trained: sorted by orientation selectivity")

# %%
viz.plot_filters(fashion_init, captions="orientation", sort_by="orientation",
                 title="at initialisation")

# %% [markdown]
# ## Opposing colours: photo-patches
#
# Fashion-MNIST is grey, so colours cannot show there. The built-in `photo-patches` data set
# (32 x 32 patches of eight colour photographs; which photo is a patch from?) needs no
# download. 120 steps with 5 x 5 first-layer filters:

# %%
p_train, q_train = load_dataset("photo-patches", train=True)
p_test, q_test = load_dataset("photo-patches", train=False)
p_mean = p_train.mean(axis=(0, 2, 3), keepdims=True)[0]
p_std = p_train.std(axis=(0, 2, 3), keepdims=True)[0]
p_train, p_test = (p_train - p_mean) / p_std, (p_test - p_mean) / p_std

photos = first_layer_net(3, 5, 8, 32, np.random.default_rng(0))
photos_init = photos[0].weight.data.copy()
train(photos, p_train, q_train, steps=120)
acc = accuracy(photos, p_test, q_test)
print(f"test accuracy on the held-out strips: {acc:.1%} (chance: 12.5%)")
assert acc > 0.4

# %%
trained, draws, z = against_null(photos, "colour_opponency")
initial = measure.filter_stats(photos_init)["colour_opponency"]
assert z > 5, "the trained filters are no more colour-opponent than random ones"
orientation = against_null(photos, "orientation_selectivity")[2]
null_picture("colour opponency of the first layer (photo-patches)", trained, draws, initial)

# %% [markdown]
# Most trained filters are one dominant hue against its complement (zero is grey: a filter
# drawn green responds to green *and* against magenta), where the initial ones are random
# confetti. On these photos the first layer learns colour rather than orientation (its
# orientation selectivity stays near the random level): telling the photos apart is mostly a
# matter of colour. Each data set shows one half of the lecture's claim.

# %%
viz.plot_filters(photos[0].weight.data, captions="colour", sort_by="colour",
                 title="trained: sorted by colour opponency")

# %%
viz.plot_filters(photos_init, captions="colour", sort_by="colour", title="at initialisation")
