"""Train the default model with convscope and with PyTorch, side by side, and compare.

Both frameworks get the same architecture (the PyTorch model is built layer by layer from the
convscope one), the same initial weights (copied), the same mini-batches in the same order
with the same augmentation draws (two `convscope.data.DataLoader`s from the same seed), the
same optimizer and learning-rate schedule, and the same number of threads. Each library
trains in its own process (run one after the other): in one process, whichever runs second
waits on the other's spinning BLAS/OpenMP threads. PyTorch runs twice: with NCHW tensors
and with the model and the batches in channels_last memory (its fastest CPU layout). The
script prints the CPU model and the BLAS kernel (threadpoolctl), then seconds per epoch of
training (evaluation excluded), the ratios convscope / PyTorch for both layouts, and the
test accuracies, as a Markdown table for the README.

Usage:
    python benchmarks/train_vs_torch.py                      # 1 epoch on all 60000 images
    python benchmarks/train_vs_torch.py --epochs 5           # the default run's length
    python benchmarks/train_vs_torch.py --repeat 3           # 3 rounds, per-round ratios
                                                             # and their medians
    python benchmarks/train_vs_torch.py --limit 2000 --limit-test 2000   # a quick look

Any hyper-parameter of `convscope.train.TrainConfig` can be changed with its CLI name
(--batch-size, --lr, --widths 32,64,128, ...); note that the one-cycle schedule is spread
over --epochs, so a 1-epoch benchmark runs a whole (short) cycle.
PyTorch is needed here only; convscope itself never imports it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

from _threads import THREADS as _THREADS  # noqa: E402  (before NumPy)
from _machine import blas, cpu_model  # noqa: E402

from convscope._memory import reuse_freed_memory  # noqa: E402

reuse_freed_memory()  # for both libraries: glibc malloc keeps freed blocks

import dataclasses  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from convscope import nn as cnn  # noqa: E402
from convscope import training as T  # noqa: E402
from convscope.training.loop import NoBar, train_epoch  # noqa: E402


def torch_model(model) -> torch.nn.Sequential:
    """The same layers in torch.nn, with the convscope model's current weights copied in."""
    layers = []
    for m in model:
        kind = type(m).__name__
        if isinstance(m, (cnn.Conv1d, cnn.Conv2d)):
            cls = torch.nn.Conv1d if isinstance(m, cnn.Conv1d) else torch.nn.Conv2d
            layers.append(cls(m.in_channels, m.out_channels, m.kernel_size, stride=m.stride,
                              padding=m.padding, dilation=m.dilation, groups=m.groups,
                              bias=m.bias is not None))
        elif kind in ("BatchNorm1d", "BatchNorm2d"):
            layers.append(getattr(torch.nn, kind)(m.num_features, eps=m.eps,
                                                  momentum=m.momentum))
        elif kind == "ReLU":
            layers.append(torch.nn.ReLU())
        elif kind == "MaxPool2d":
            layers.append(torch.nn.MaxPool2d(m.kernel_size, m.stride, m.padding))
        elif kind == "AdaptiveAvgPool2d":
            layers.append(torch.nn.AdaptiveAvgPool2d(m.output_size))
        elif kind == "Flatten":
            layers.append(torch.nn.Flatten(m.start_dim, m.end_dim))
        elif kind == "Linear":
            layers.append(torch.nn.Linear(m.in_features, m.out_features,
                                          bias=m.bias is not None))
        else:
            raise ValueError(f"torch_model: no PyTorch twin for layer {kind}")
    twin = torch.nn.Sequential(*layers)
    state = {k: torch.from_numpy(np.array(v)) for k, v in model.state_dict().items()}
    missing, unexpected = twin.load_state_dict(state, strict=False)
    if unexpected or any(not k.endswith("num_batches_tracked") for k in missing):
        raise ValueError(f"torch_model: weights do not match: missing {missing}, "
                         f"unexpected {unexpected}")
    return twin


def torch_optimizer(config: T.TrainConfig, model, steps_per_epoch: int):
    """`convscope.train.make_optimizer`'s twin in torch.optim."""
    params = model.parameters()
    if config.optimizer == "sgd":
        opt = torch.optim.SGD(params, lr=config.lr, momentum=config.momentum,
                              nesterov=config.nesterov, weight_decay=config.weight_decay)
    else:
        opt = torch.optim.AdamW(params, lr=config.lr, betas=(config.momentum, 0.999),
                                weight_decay=config.weight_decay)
    total = config.epochs * steps_per_epoch
    if config.schedule == "onecycle":
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=config.lr, total_steps=total,
                                                    cycle_momentum=False)
    elif config.schedule == "cosine":
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total)
    else:
        sched = None
    return opt, sched


def run_convscope(config, data):
    model = T.build_model(config)
    train_loader, test_loader = T.make_loaders(config, *data)
    opt, sched = T.make_optimizer(config, model, len(train_loader))
    times, accs = [], []
    for _ in range(config.epochs):
        t0 = time.perf_counter()
        train_epoch(model, train_loader, opt, sched, config, NoBar())
        times.append(time.perf_counter() - t0)
        accs.append(T.evaluate(model, test_loader)[1])
    return times, accs


def run_torch(config, data, channels_last=False):
    """PyTorch's epochs; with `channels_last`, the model and every batch in channels_last
    memory (PyTorch's fastest CPU layout)."""
    model = torch_model(T.build_model(config))  # the same initial weights
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(memory_format=fmt)

    def batch(xb):
        t = torch.from_numpy(xb)
        return t.contiguous(memory_format=fmt) if t.dim() == 4 else t

    train_loader, test_loader = T.make_loaders(config, *data)  # the same batches
    opt, sched = torch_optimizer(config, model, len(train_loader))
    times, accs = [], []
    for _ in range(config.epochs):
        model.train()
        t0 = time.perf_counter()
        for xb, yb in train_loader:
            loss = torch.nn.functional.cross_entropy(
                model(batch(xb)), torch.from_numpy(yb),
                label_smoothing=config.label_smoothing)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if sched is not None:
                sched.step()
        times.append(time.perf_counter() - t0)
        model.eval()
        correct = 0
        with torch.no_grad():
            for xb, yb in test_loader:
                correct += int((model(batch(xb)).argmax(1).numpy() == yb).sum())
        accs.append(correct / len(test_loader.x))
    return times, accs


def main(argv=None) -> int:
    defaults = T.TrainConfig()
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--epochs", type=int, default=1, help="epochs for both (default: 1)")
    p.add_argument("--limit", type=int, default=None,
                   help="training images (default: all)")
    p.add_argument("--limit-test", type=int, default=None, help="test images (default: all)")
    p.add_argument("--threads", type=int, default=2,
                   help="threads for both (BLAS and torch; default: 2)")
    p.add_argument("--repeat", type=int, default=1,
                   help="rounds: each round runs every side once, in an order that rotates "
                        "from round to round; the table gives each round's ratios and the "
                        "medians (default: 1; on a busy host one epoch's ratio moves by "
                        "0.3x between runs)")
    p.add_argument("--only", choices=["convscope", "torch", "torch-cl"],
                   help="run one side only (default: both, each in its own process)")
    p.add_argument("--keep-openblas-env", action="store_true",
                   help="keep OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE, which pin OpenBLAS to a "
                        "slower kernel on some machines, in the workers (default: unset)")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    for f in dataclasses.fields(T.TrainConfig):
        if f.name in ("epochs", "limit_train", "limit_test", "out"):
            continue
        value = getattr(defaults, f.name)
        flag = "--" + f.name.replace("_", "-")
        if f.name == "widths":
            p.add_argument(flag, type=lambda s: tuple(int(v) for v in s.split(",")))
        elif isinstance(value, bool):
            p.add_argument(flag, type=lambda s: s.lower() in ("1", "true", "yes"))
        elif isinstance(value, (int, float)):
            p.add_argument(flag, type=type(value))
        else:
            p.add_argument(flag)
    args = p.parse_args(argv)
    changes = {f.name: getattr(args, f.name) for f in dataclasses.fields(T.TrainConfig)
               if getattr(args, f.name, None) is not None}
    changes.update(epochs=args.epochs, limit_train=args.limit, limit_test=args.limit_test)
    config = dataclasses.replace(defaults, **changes)
    torch.set_num_threads(args.threads)

    if not args.worker:  # one child process per library, one after the other
        if args.repeat < 1:
            p.error(f"--repeat must be at least 1, got {args.repeat}")
        argv = sys.argv[1:] if argv is None else list(argv)
        argv = [a for i, a in enumerate(argv) if not a.startswith(("--only", "--repeat"))
                and not (i > 0 and argv[i - 1] in ("--only", "--repeat"))]
        env = dict(os.environ)
        if not args.keep_openblas_env:
            env.pop("OPENBLAS_CORETYPE", None)
            env.pop("OPENBLAS_L2_SIZE", None)
        print(f"CPU: {cpu_model()}\nBLAS: {blas()}\n")
        sides = [s for s in ("convscope", "torch", "torch-cl") if args.only in (None, s)]
        rounds = []
        for r in range(args.repeat):
            results = {}
            for side in sides[r % len(sides):] + sides[:r % len(sides)]:
                out = subprocess.run([sys.executable, os.path.abspath(__file__), *argv,
                                      "--only", side, "--worker"], stdout=subprocess.PIPE,
                                     text=True, check=True, env=env)
                results[side] = tuple(json.loads(out.stdout.strip().splitlines()[-1]))
            rounds.append(results)
        _table(rounds, config)
        return 0

    data = T.load_data(config)
    name, kwargs = config.model_spec()
    print(f"{config.dataset}: {len(data[0])} training, {len(data[2])} test images; model "
          f"{name} {kwargs}; {config.epochs} epoch(s), batch {config.batch_size}, "
          f"{config.optimizer} lr {config.lr} ({config.schedule}); {args.threads} threads; "
          f"BLAS {blas()}", file=sys.stderr)
    if args.only == "convscope":
        times, accs = run_convscope(config, data)
    else:
        times, accs = run_torch(config, data, channels_last=args.only == "torch-cl")
    print(f"{args.only}: s/epoch {['%.1f' % t for t in times]}, test accuracy "
          f"{['%.2f%%' % (100 * a) for a in accs]}", file=sys.stderr)
    print(json.dumps([times, accs]))
    return 0


def _table(rounds, config):
    """One row of seconds per epoch per round (and the medians when there are several),
    then the test accuracies of the first round."""
    print("| | convscope | PyTorch | PyTorch channels_last | convscope / PyTorch | "
          "convscope / channels_last |")
    print("|---|---:|---:|---:|---:|---:|")
    rows = []
    for results in rounds:
        runs = [results.get(side) for side in ("convscope", "torch", "torch-cl")]
        rows.append([None if r is None else float(np.mean(r[0])) for r in runs])
    labels = ["seconds per epoch"] if len(rows) == 1 else [
        f"seconds per epoch, round {i + 1}" for i in range(len(rows))]
    ratios_all = []
    for label, sec in zip(labels, rows):
        ratios = [None if None in (sec[0], other) else sec[0] / other for other in sec[1:]]
        ratios_all.append(ratios)
        print(f"| {label} | {_fmt(sec[0], '{:.1f}')} | {_fmt(sec[1], '{:.1f}')} | "
              f"{_fmt(sec[2], '{:.1f}')} | {_fmt(ratios[0], '{:.2f}x')} | "
              f"{_fmt(ratios[1], '{:.2f}x')} |")
    if len(rows) > 1:
        med = [_median([r[i] for r in rows]) for i in range(3)]
        mr = [_median([r[i] for r in ratios_all]) for i in range(2)]
        print(f"| median of {len(rows)} rounds | {_fmt(med[0], '{:.1f}')} | "
              f"{_fmt(med[1], '{:.1f}')} | {_fmt(med[2], '{:.1f}')} | "
              f"{_fmt(mr[0], '{:.2f}x')} | {_fmt(mr[1], '{:.2f}x')} |")
    runs = [rounds[0].get(side) for side in ("convscope", "torch", "torch-cl")]
    acc = [None if r is None else r[1][-1] for r in runs]
    print(f"| test accuracy after {config.epochs} epoch(s) | {_fmt(acc[0], '{:.2%}')} | "
          f"{_fmt(acc[1], '{:.2%}')} | {_fmt(acc[2], '{:.2%}')} | | |")


def _median(values):
    """The median of the values that are not None (None when none is)."""
    values = [v for v in values if v is not None]
    return float(np.median(values)) if values else None


def _fmt(value, pattern):
    return "-" if value is None else pattern.format(value)


if __name__ == "__main__":
    sys.exit(main())
