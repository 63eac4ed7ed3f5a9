"""Convolution arithmetic: output sizes, 'same' padding, receptive fields, parameter counts,
and shape-only specs of whole networks.

Pure Python (no NumPy), so that it can describe networks far too large to run. The rooms:

- `arith.sizes`: output sizes of convolution, transposed convolution and pooling, 'same'
  padding, the inverse questions (`padding_for_output_size`, `unused_input`);
- `arith.receptive`: receptive field, jump and effective padding through a stack;
- `arith.counts`: parameters and multiply-accumulates;
- `arith.network`: the shape-only spec graph (`Conv`, `Pool`, `Branches`, ...) and the walker
  `analyze`;
- `arith.grammar`: the command line's layer syntax and spec files (text and JSON);
- `arith.zoo`: the classic networks (`get_network("vgg16")`).

The functions of the first three are re-exported here (`arith.conv_output_size`, ...); every
one is per spatial dimension on plain ints unless its name ends in ``_shape`` (those map the
per-dimension function over a tuple of sizes).

The lecture's formula for the output size of a convolution,

    W' = (W - K + 2P) / S + 1,

generalises to dilation d (the kernel then spans d(K-1)+1 inputs) and to padding that differs
before and after (p_b, p_a):

    W' = floor((W + p_b + p_a - d(K-1) - 1) / S) + 1.

When S does not divide W + p_b + p_a - d(K-1) - 1 the floor drops the last rows of the input:
no window covers them (Dumoulin & Visin, "A guide to convolution arithmetic for deep
learning", the non-divisible cases). `unused_input` counts them and `exact_input_sizes` lists
the input sizes a stack accepts without dropping any.

Receptive fields follow Araujo, Norris & Sim, "Computing Receptive Fields of Convolutional
Neural Networks" (Distill, 2019). Along one axis a unit of layer l sees r_l inputs, adjacent
units are j_l inputs apart (the jump, or effective stride), and the field of the first unit
starts P_l inputs before the first input (the effective padding). Through a layer with kernel
K, stride S, dilation d and padding p_b before:

    r_l = r_{l-1} + (d(K-1)+1 - 1) * j_{l-1}
    j_l = j_{l-1} * S
    P_l = P_{l-1} + p_b * j_{l-1}

so L stacked KxK stride-1 layers see the lecture's 1 + L(K-1).

Example:
    >>> conv_output_size(32, 5)            # a 5x5 filter over 32x32 gives 28x28
    28
    >>> conv_output_size(224, 3, stride=2, padding=1)
    112
    >>> same_padding(224, 3, stride=2)     # TensorFlow 'SAME': the odd pixel goes at the end
    (0, 1)
    >>> rf_stack([(3, 1, 1, 1)] * 4, ndim=1).size
    (9,)
"""


from . import counts, grammar, network, receptive, sizes, zoo
from .counts import *  # noqa: F401,F403
from .receptive import *  # noqa: F401,F403
from .sizes import *  # noqa: F401,F403

__all__ = sizes.__all__ + receptive.__all__ + counts.__all__
