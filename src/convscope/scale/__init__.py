"""Scale-out: exact tiled inference on images larger than memory, and batch inference, on Dask.

`apply_tiled` runs a model's fully convolutional part block by block so that the result
equals the whole-image run (the halo and the alignment come from the convolution
arithmetic, `halo`); `predict` runs a whole model over many images; `io` reads and writes
.npy (memory-mapped inside each task), Zarr and image files. Dask is imported only here.
"""

from .blocks import TilePlan, plan_tiles
from .cluster import local_cluster
from .halo import AxisGeometry, NotTileableError, conv_part, model_layers, tile_geometry
from .layergraph import LayerGraph
from .predict import predict
from .tiled import apply_tiled, run_block

__all__ = ["apply_tiled", "predict", "run_block", "conv_part", "model_layers", "tile_geometry",
           "plan_tiles", "TilePlan", "AxisGeometry", "NotTileableError", "LayerGraph",
           "local_cluster"]
