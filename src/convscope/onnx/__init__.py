"""ONNX model files in and out: any convolutional network exported by PyTorch
(`torch.onnx.export`), Keras (`tf2onnx`) or JAX becomes an ordinary convscope model.

- `load(path)` reads a file into an `nn.Graph` of convscope layers with their weights
  (branches, residual additions, concatenations), in evaluation mode;
- `save(model, path, example_input)` writes a convscope model (a `Sequential`, a `Graph`,
  or a layer) as an ONNX file that `load` and onnxruntime read back.

Needs the `onnx` package (`pip install 'convscope[onnx]'`); it is imported on first use.
Errors are `OnnxError`s (`ValueError`s): `OnnxFormatError` for a broken file,
`OnnxUnsupportedError` for an op or attribute convscope does not translate. The ops read
and written are listed in docs/onnx.md.
"""

from .errors import OnnxError, OnnxFormatError, OnnxUnsupportedError
from .reader import OPSETS, load
from .writer import save

__all__ = ["load", "save", "OnnxError", "OnnxFormatError", "OnnxUnsupportedError", "OPSETS"]
