"""The `convscope` command under random argument lists (hypothesis), in-process.

Every subcommand the parser knows (nested ones such as `viz filters` included, listed from
the parser itself) gets random lists of its own positionals and options with values drawn
from pools of good and bad ones: a real tiny run folder and its data, missing paths,
garbage files, folders where files belong, bad numbers (negative, zero, NaN, inf, words),
bad layer specs and shapes, unknown options and stray words. Whatever happens, the command
never shows a traceback; it exits 0, 1 for a user error with exactly one line
``convscope CMD: error: ...`` (the last on stderr, no "internal error"), or 2 for an
argparse usage error (argparse's usage and one error line).

Options that make a valid run long come first with small values (one epoch on 32 images,
a few optimisation steps...), so a random run that succeeds stays short; the random
options after them may still change them to other small values.
"""

import argparse
import contextlib
import io
import json
import re

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from convscope.cli import build_parser, main  # noqa: E402

from tiny_run import synthetic_fashion  # noqa: E402


def _leaves(parser, path=()):
    """(command words, parser) of every subcommand that runs something."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield path, parser
        return
    for name, sub in subs[0].choices.items():
        yield from _leaves(sub, path + (name,))


COMMANDS = {" ".join(path): parser for path, parser in _leaves(build_parser())}

# cheap settings put before the random options (argparse: the last one given wins): few
# epochs, steps and images; a missing --data, so that a full (seconds-long) run happens only
# when the random options name the real data
_NO_DATA = ["--data", "{missing}"]
CHEAP = {
    "train": ["--epochs", "1", "--limit-train", "32", "--limit-test", "32", "--widths",
              "2,2,2", "--batch-size", "32", "--eval-batch-size", "64", "--no-progress",
              *_NO_DATA],
    "evaluate": _NO_DATA,
    "viz filters": _NO_DATA,
    "viz maps": _NO_DATA,
    "viz rf": ["--samples", "4", *_NO_DATA],
    "viz patches": ["-k", "2", *_NO_DATA],
    "viz cam": _NO_DATA,
    "viz optimize": ["--steps", "2", *_NO_DATA],
    "report": ["--images", "1", *_NO_DATA],
    "animate": ["--output", "{tmp}/a.svg"],
    "apply": ["--no-progress"],
    "bench": ["--repeat", "1"],
}

RUNS = ["{run}", "{ckpt}", "{missing}", "{garbage}", "{empty}", "{data}", "{npy}"]
PATHS = {
    "run": RUNS, "checkpoint": RUNS, "model": RUNS, "run_dir": RUNS, "resume": RUNS,
    "data": ["{data}", "{data}", "{missing}", "{empty}", "{garbage}", "{run}"],
    "out": ["{tmp}/o", "{tmp}/o.png", "{tmp}/o.npy", "{missing}/x", "{garbage}", "{empty}",
            "{run}", ""],
    "output": ["{tmp}/o.npy", "{tmp}/o.zarr", "{tmp}/o.png", "{tmp}/o.gif", "{tmp}/o.html",
               "{tmp}/o.txt", "{missing}/x.npy", "{garbage}", "{empty}", "{npy}", ""],
    "image": ["{png}", "{gif}", "{png16}", "{missing}", "{garbage}", "{npy}", "{empty}"],
}
SHAPES = ["1x28x28", "3x32x32", "1x16", "2x8x8x8", "0x4x4", "1x2x2", "3x", "-1x4x4", "abc",
          "100000x100000", "100000",
          "8", "1x100000x100000", ""]
LAYERS = ["conv:c4,k3", "conv:c4,k3,s2,p1", "pool:k2", "maxpool:k2", "conv:c1,k9",
          "conv:c0,k2", "conv:c1,k2,p0-1-2", "conv:c2,k3,d0", "fc:o10", "flatten", "zzz",
          "conv:", ""]
VALUES = {
    "input": SHAPES, "layers": LAYERS, "explain": LAYERS,
    "network": ["lenet", "resnet18", "vgg16", "nope", "{spec}", "{badspec}", "{missing}",
                "{garbage}", "{empty}"],
    "layer": ["0", "4", "8", "-1", "99", "conv1", "features.0", "x", ""],
    "unit": ["1,1", "0,0", "-1,0", "99,99", "a", "1", "1,2,3"],
    "widths": ["2,2,2", "2,4", "0", "-1,2", "a", "", "2,2,2,2,2,2", "2,,2"],
    "sections": ["filters", "cam", "filters,maps", "nope", "", ","],
    "endpoint": ["layer4", "conv1", "nope", ""],
    "scheduler": ["not-an-address", ""],
    "workers": ["0", "-1", "x"],  # a real cluster would take seconds to start
    "input_size": SHAPES,
}
GEOMETRY = ["3", "1", "0", "-1", "3x3", "2x1", "same", "valid", "1-2", "a", "2x", "9", ""]
INTS = ["-1", "0", "1", "2", "3", "x", "1.5", "", "1e3", "99999999999999999999999"]
FLOATS = ["0", "-1", "0.1", "1", "nan", "inf", "-inf", "x", "1e-3", "", "1e400"]
STRAYS = ["--bogus", "-z", "--", "extra", "{missing}", "--json=1", "-"]


def _values(command: str, action) -> list[str]:
    """The pool of values for one positional or option."""
    dest = action.dest
    if action.choices:
        return [str(c) for c in action.choices] + ["bogus", ""]
    if command == "animate" and dest in ("kernel", "padding", "stride", "dilation",
                                         "output_padding", "channels"):
        return GEOMETRY
    if command == "apply" and dest == "input":
        return ["{npy}", "{npy2}", "{png}", "{missing}", "{garbage}", "{empty}", "{zarr}"]
    if dest in PATHS:
        return PATHS[dest]
    if dest in VALUES:
        return VALUES[dest]
    kind = getattr(action.type, "__name__", None)
    if kind == "float":
        return FLOATS
    return INTS


@st.composite
def _argv(draw, command: str):
    parser = COMMANDS[command]
    positionals = [a for a in parser._actions if not a.option_strings]
    options = [a for a in parser._actions if a.option_strings and a.dest != "help"]
    argv = list(command.split()) + CHEAP.get(command, [])
    for action in positionals:
        if draw(st.integers(0, 9)) == 0:
            continue  # a missing positional now and then: argparse's usage error
        count = draw(st.integers(1, 3)) if action.nargs in ("+", "*") else 1
        argv += [draw(st.sampled_from(_values(command, action))) for _ in range(count)]
    for action in draw(st.lists(st.sampled_from(options), max_size=4)) if options else []:
        argv.append(draw(st.sampled_from(action.option_strings)))
        if action.nargs != 0:
            argv.append(draw(st.sampled_from(_values(command, action))))
    if draw(st.integers(0, 5)) == 0:
        argv.insert(draw(st.integers(len(command.split()), len(argv))),
                    draw(st.sampled_from(STRAYS)))
    return argv


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """The paths the pools name: a real tiny run and its data, and things that are not."""
    from PIL import Image

    from convscope import train as T
    root = tmp_path_factory.mktemp("fuzz")
    (root / "data").mkdir()
    data = synthetic_fashion(root / "data")
    run = root / "run"
    T.train(T.TrainConfig(data=data, out=str(run), widths=(2, 2, 2), epochs=1,
                          batch_size=32, limit_train=64, limit_test=64, eval_batch_size=64),
            progress=False, pictures=False, log=None)
    (root / "garbage.bin").write_bytes(b"\x00\xffnot anything at all")
    (root / "empty").mkdir()
    rng = np.random.default_rng(0)
    np.save(root / "x.npy", rng.integers(0, 256, (1, 40, 30), dtype=np.uint8))
    np.save(root / "x2.npy", rng.standard_normal((3, 9)))
    Image.fromarray(rng.integers(0, 256, (20, 24), dtype=np.uint8)).save(root / "x.png")
    Image.new("RGB", (9, 9), (255, 0, 0)).save(root / "x.gif")
    Image.fromarray(np.full((8, 8), 40000, np.uint16)).save(root / "x16.png")
    (root / "spec.json").write_text(json.dumps(
        {"input": [1, 28, 28], "layers": [{"type": "conv", "out_channels": 4,
                                           "kernel_size": 3}]}))
    (root / "bad.json").write_text('{"layers": [')
    work = root / "work"
    work.mkdir()
    return {"run": str(run), "ckpt": str(run / "checkpoint.npz"), "data": data,
            "missing": str(root / "missing"), "garbage": str(root / "garbage.bin"),
            "empty": str(root / "empty"), "npy": str(root / "x.npy"),
            "npy2": str(root / "x2.npy"), "png": str(root / "x.png"),
            "gif": str(root / "x.gif"), "png16": str(root / "x16.png"),
            "zarr": str(root / "missing.zarr"), "spec": str(root / "spec.json"),
            "badspec": str(root / "bad.json"), "tmp": str(work)}


def run_cli(argv):
    """main(argv) in-process: (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
            code = exc.code if isinstance(exc.code, int) else 1
    return code, out.getvalue(), err.getvalue()


def check_outcome(argv, code, err):
    """No traceback; 0, or 1 with one error line, or 2 from argparse."""
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err, (argv, err)
    assert "internal error" not in err, (argv, err)
    assert code in (0, 1, 2), (argv, code, err)
    errors = [line for line in lines if re.match(r"convscope( \S+)*: error: ", line)]
    if code == 0:
        assert errors == [], (argv, err)
        return
    assert lines, (argv, code, "no message on stderr")
    if code == 2 and not errors:  # a command group without its subcommand: its help
        assert lines[0].startswith("usage: convscope"), (argv, err)
        return
    assert len(errors) == 1 and lines[-1] == errors[0], (argv, err)
    if code == 1:  # a user error: the library's message, not argparse's usage
        assert not any(line.startswith("usage:") for line in lines), (argv, err)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_random_arguments_never_give_a_traceback(files, command):
    @settings(max_examples=25, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(_argv(command))
    def fuzz(argv):
        argv = [a.format(**files) for a in argv]
        with contextlib.chdir(files["tmp"]):  # whatever a command writes lands there
            code, _, err = run_cli(argv)
        check_outcome(argv, code, err)
    fuzz()


def test_the_fuzz_covers_every_subcommand_and_the_check_bites():
    assert {"train", "apply", "viz filters", "viz optimize", "shape", "report",
            "bench"} <= set(COMMANDS)
    assert not any(c == "viz" for c in COMMANDS)  # groups are opened, not fuzzed whole
    with pytest.raises(AssertionError):
        check_outcome(["x"], 1, "Traceback (most recent call last):\n  ...\nValueError: x\n")
    with pytest.raises(AssertionError):
        check_outcome(["x"], 1, "convscope x: error: a\nconvscope x: error: b\n")
    with pytest.raises(AssertionError):
        check_outcome(["x"], 1, "convscope x: error: KeyError: 'a' (an internal error; "
                                "please report it)\n")
    with pytest.raises(AssertionError):
        check_outcome(["x"], 3, "convscope x: error: a\n")
    check_outcome(["x"], 1, "some progress\nconvscope x: error: a\n")
    check_outcome(["x"], 2, "usage: convscope x [-h]\nconvscope x: error: unrecognized "
                            "arguments: --bogus\n")
