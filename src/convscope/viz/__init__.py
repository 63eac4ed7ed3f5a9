"""Pictures: one module per kind of picture, matplotlib imported lazily.

Every picture is two steps: a function that computes the numbers (returning a small
dataclass with a `to_dict()` for JSON) and a `plot_*` function that draws them, writing a PNG
atomically when given a path and otherwise returning the matplotlib Figure (shown inline in
a notebook; pyplot's backend is never switched). The result objects show their picture
inline too (`_repr_png_`, see `convscope.display`). Each works on any convscope model
(`nn.Sequential` or a custom `nn.Module`) and plain NumPy inputs, normalised as for the model.

- `training`: training curves and the confusion matrix of a run.
- `filters`: filter grids (`filter_grid`, `plot_filters`), captions and sorting by the
  orientation / colour numbers of `convscope.measure`.
- `maps`: activation maps of one image through every convolution (`feature_maps`).
- `rf`: theoretical and effective receptive fields (`effective_receptive_field`,
  `receptive_field_sizes`).
- `patches`: the images that excite a channel most, cropped to the unit's field
  (`top_patches`).
- `cam`: Grad-CAM at one layer or all (`grad_cam`, `grad_cam_layers`) and its sanity check,
  the cascading randomisation of every parameter and buffer (`cam_sanity_check`).
- `optimize`: feature visualisation by optimisation (`visualize_channels`).

See docs/viz.md.
"""

from .cam import (CamSanityCheck, CascadeStep, GradCAM, GradCAMs, cam_sanity_check,
                  cascade_copies, grad_cam, grad_cam_layers, parametrised_layers,
                  plot_cam_sanity_check, plot_grad_cam, plot_grad_cam_layers, randomized_copy,
                  reinitialise, spearman)
from .filters import FilterGrid, filter_grid, plot_filters
from .maps import FeatureMaps, feature_maps, plot_feature_maps
from .optimize import FeatureVisualization, plot_feature_visualization, visualize_channels
from .patches import TopPatches, plot_top_patches, top_patches
from .rf import (EffectiveReceptiveField, FieldSizes, LayerFieldSizes, effective_receptive_field,
                 plot_receptive_field, plot_receptive_field_sizes, receptive_field_sizes)
from .training import (confusion_matrix, format_confusion_matrix, plot_confusion_matrix,
                       plot_training_curves)

__all__ = [
    "CamSanityCheck", "CascadeStep", "EffectiveReceptiveField", "FeatureMaps",
    "FeatureVisualization", "FieldSizes", "FilterGrid", "GradCAM", "GradCAMs",
    "LayerFieldSizes", "TopPatches", "cam_sanity_check", "cascade_copies", "confusion_matrix",
    "effective_receptive_field", "feature_maps", "filter_grid", "format_confusion_matrix",
    "grad_cam", "grad_cam_layers", "parametrised_layers", "plot_cam_sanity_check",
    "plot_confusion_matrix", "plot_feature_maps", "plot_feature_visualization",
    "plot_filters", "plot_grad_cam", "plot_grad_cam_layers", "plot_receptive_field",
    "plot_receptive_field_sizes", "plot_top_patches", "plot_training_curves",
    "randomized_copy", "receptive_field_sizes", "reinitialise", "spearman", "top_patches",
    "visualize_channels",
]
