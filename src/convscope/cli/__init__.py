"""The `convscope` command: a thin layer that parses, calls the library, and prints.

Each group of subcommands lives in its own module with a `register(subparsers)` function.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from .._memory import reuse_freed_memory

# Modules that add subcommands; each defines register(subparsers).
_COMMAND_MODULES = ["convscope.cli.train", "convscope.cli.arith", "convscope.cli.animate",
                    "convscope.cli.viz", "convscope.cli.apply", "convscope.cli.report",
                    "convscope.cli.bench"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="convscope",
        description="Convolutional layers you can read, run, measure and see.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        module.register(sub)
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
    except (ValueError, TypeError, FileNotFoundError, OSError) as exc:
        print(f"convscope {args.command}: error: {exc}", file=sys.stderr)
        return 1
