"""Optional dependencies: import one where it is needed, or say what to install.

The core needs NumPy and Numba only; pictures, progress bars, scale-out, the photo data set
and ONNX files need more (pyproject.toml's extras). `require` imports such a package at the
point of use; when it is missing, a `MissingDependency` (an ImportError) names what needed
it and the pip extra that installs it. It is the user's install, not a bug: the CLI prints
the message and exits 1.
"""

from __future__ import annotations

import importlib

__all__ = ["MissingDependency", "require", "EXTRAS"]

# top-level import name -> (name on PyPI, the extra of convscope that installs it)
EXTRAS = {
    "matplotlib": ("matplotlib", "viz"),
    "tqdm": ("tqdm", "viz"),
    "PIL": ("pillow", "viz"),
    "dask": ("dask[array]", "scale"),
    "distributed": ("distributed", "scale"),
    "zarr": ("zarr", "scale"),
    "skimage": ("scikit-image", "photos"),
    "onnx": ("onnx", "onnx"),
}


class MissingDependency(ImportError):
    """An optional package that a convscope feature needs is not installed (or does not
    import); the message says what to install."""


def require(module: str, purpose: str, extra: str | None = None):
    """Import and return `module` (e.g. 'dask.array', 'PIL.Image').

    Args:
        module: the dotted module name; its top-level package must be one of `EXTRAS`.
        purpose: what needs it, for the message (e.g. 'read_image', 'convscope apply').
        extra: the pip extra to name (default: the package's own in `EXTRAS`; Pillow is in
            both 'viz' and 'scale').

    Raises:
        MissingDependency: the package is missing (or fails to import); the message names
            the pip extra, e.g. ``pip install 'convscope[scale]'``.
    """
    top = module.split(".")[0]
    pip_name, own = EXTRAS[top]
    extra = extra or own
    try:
        importlib.import_module(top)  # a blocked or missing package, even if a part of
        return importlib.import_module(module)  # it was imported before
    except ImportError as exc:
        missing = getattr(exc, "name", None)
        how = f"install it with `pip install 'convscope[{extra}]'` (or `pip install " \
              f"'{pip_name}'`)"
        if missing is None or missing.split(".")[0] == top:
            raise MissingDependency(f"{purpose} needs the optional package {pip_name}, "
                                    f"which is not installed; {how}") from None
        raise MissingDependency(f"{purpose} needs the optional package {pip_name}, which "
                                f"is installed but does not import ({exc}); reinstall it: "
                                f"{how}") from None
