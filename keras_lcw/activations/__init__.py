"""Activation layers of keras_lcw.

- `ANAct`: an activation scaled by its forward and backward gains, measured
  on mini-batches (or fixed at their values for a standard normal input).
- `Linked` and its named forms: `[g(x), g(-x)]` on the channel axis.
- `get_layer(normalization, activation)`: the layers above by name.
"""

from keras_lcw.activations.anact import ANAct
from keras_lcw.activations.linked import Linked
from keras_lcw.activations.linked import LinkedGELU
from keras_lcw.activations.linked import LinkedPReLU
from keras_lcw.activations.linked import LinkedReLU
from keras_lcw.activations.linked import LinkedSELU
from keras_lcw.activations.linked import LinkedSwish
from keras_lcw.activations.registry import get_layer
