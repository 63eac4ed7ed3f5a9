"""The `convscope` command: a thin layer that parses, calls the library, and prints.

Each group of subcommands lives in its own module with a `register(subparsers)` function.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from .._memory import reuse_freed_memory
from .._optional import MissingDependency

# Modules that add subcommands; each defines register(subparsers).
_COMMAND_MODULES = ["convscope.cli.train", "convscope.cli.arith", "convscope.cli.animate",
                    "convscope.cli.viz", "convscope.cli.apply", "convscope.cli.report",
                    "convscope.cli.explain", "convscope.cli.bench"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="convscope",
        description="Convolutional layers you can read, run, measure and see.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    reuse_freed_memory()  # the tool owns its process: reuse big temporaries (see _memory)
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (ValueError, TypeError, RuntimeError, OSError, MissingDependency) as exc:
        # bad input, or an optional package missing from the user's install (the message
        # says what to pip install): the user's to fix, not a bug
        print(error_line(args.command, exc), file=sys.stderr)
        return 1
    except MemoryError as exc:  # sizes too large for this machine: the user's to change
        print(error_line(args.command, MemoryError(
            f"not enough memory ({exc or 'MemoryError'}); try a smaller input, batch or "
            f"chunk")), file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 - a user never gets a traceback
        print(error_line(args.command, exc, internal=True), file=sys.stderr)
        return 1


def error_line(command: str, exc: BaseException, internal: bool = False) -> str:
    """The one line on stderr for an error: ``convscope CMD: error: MESSAGE``.

    The library's messages name the function, the argument, the value and the rule; an
    unexpected exception (a bug) also names its type.
    """
    message = " ".join(str(exc).split()) or type(exc).__name__
    if internal:
        message = f"{type(exc).__name__}: {message} (an internal error; please report it)"
    return f"convscope {command}: error: {message}"
