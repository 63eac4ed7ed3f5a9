"""Pictures: one module per kind of picture, matplotlib imported lazily.

- `training`: training curves, the first-layer filter grid of a run, the confusion matrix.
"""

from .training import (confusion_matrix, format_confusion_matrix, plot_confusion_matrix,
                       plot_filters, plot_training_curves)

__all__ = ["confusion_matrix", "format_confusion_matrix", "plot_confusion_matrix",
           "plot_filters", "plot_training_curves"]
