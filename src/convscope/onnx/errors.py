"""The errors of `convscope.onnx`, and the lazy import of the `onnx` package.

Every problem with a file is a `ValueError` subclass whose message starts with the file's
name: `OnnxFormatError` for a file that is not a valid ONNX model (truncated, corrupted,
a cycle, a missing initializer, a wrong input rank), `OnnxUnsupportedError` for a valid
model that uses an op or an attribute convscope does not implement (it names the node, the
op and what is missing: convscope never guesses a result).
"""

from __future__ import annotations

__all__ = ["OnnxError", "OnnxFormatError", "OnnxUnsupportedError", "import_onnx"]

INSTALL_HINT = "pip install 'convscope[onnx]'"


class OnnxError(ValueError):
    """A problem with an ONNX file or with writing a model as one."""


class OnnxFormatError(OnnxError):
    """The file is not a valid ONNX model (or not one convscope can read as a model)."""


class OnnxUnsupportedError(OnnxError):
    """The model uses an op, an attribute or a layer convscope does not translate."""


def import_onnx(func: str):
    """The `onnx` package, or an ImportError saying which extra installs it."""
    try:
        import onnx
        import onnx.checker  # noqa: F401
        import onnx.helper  # noqa: F401
        import onnx.numpy_helper  # noqa: F401
        import onnx.shape_inference  # noqa: F401
    except ImportError as exc:
        raise ImportError(f"{func} needs the 'onnx' package, which is not installed: "
                          f"{INSTALL_HINT}") from exc
    return onnx
