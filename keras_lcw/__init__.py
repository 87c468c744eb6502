"""keras_lcw: training-stability layers for Keras 3.

- Linearly constrained weights (LCW): `LCWConstraint` and the reparameterized
  `LCWDense`, `LCWConv1D/2D/3D`.
- Geometric parameterization (GmP): `GmPDense`, `GmPConv1D/2D/3D`, with
  `InputMeanNormalization`.
- Weight normalization, plain and centered: `WeightNormDense`,
  `WeightNormConv1D/2D/3D`, `CenteredWeightNormDense`,
  `CenteredWeightNormConv1D/2D/3D`; `WeightNormalization(layer)` for code
  that used tensorflow-addons' wrapper.
- Normalized (`ANAct`) and linked (`Linked`, `LinkedReLU`, ...) activations.
- `bake()` and `convert()` between keras_lcw and plain Keras layers, name
  lookups and keras-tuner search spaces (`tuning`).

Runs on the TensorFlow, JAX and PyTorch backends.
"""

try:
    # Imports the backend Keras is set to: say what to do if it is missing.
    import keras  # noqa: F401
except ModuleNotFoundError as error:
    if error.name not in ("tensorflow", "jax", "torch"):
        raise
    import os

    raise ImportError(
        f"Keras is set to the {error.name!r} backend, which is not installed "
        f"(KERAS_BACKEND={os.environ.get('KERAS_BACKEND')!r}; when it is "
        "unset, Keras uses the backend in ~/.keras/keras.json, by default "
        "'tensorflow'). Set KERAS_BACKEND to an installed backend before "
        "importing keras_lcw (export KERAS_BACKEND=jax, or torch), or install "
        f"this one (pip install {error.name})."
    ) from error

from keras_lcw import activations
from keras_lcw import constraints
from keras_lcw import diagnostics
from keras_lcw import initializers
from keras_lcw import layers
from keras_lcw import numerics
from keras_lcw import parameterizations
from keras_lcw import tuning
from keras_lcw.activations import ANAct
from keras_lcw.activations import Linked
from keras_lcw.activations import LinkedGELU
from keras_lcw.activations import LinkedPReLU
from keras_lcw.activations import LinkedReLU
from keras_lcw.activations import LinkedSELU
from keras_lcw.activations import LinkedSwish
from keras_lcw.bake import bake
from keras_lcw.constraints import LCWConstraint
from keras_lcw.convert import convert
from keras_lcw.initializers import LCWInitializer
from keras_lcw.layers import CenteredWeightNormConv1D
from keras_lcw.layers import CenteredWeightNormConv2D
from keras_lcw.layers import CenteredWeightNormConv3D
from keras_lcw.layers import CenteredWeightNormDense
from keras_lcw.layers import GmPConv1D
from keras_lcw.layers import GmPConv2D
from keras_lcw.layers import GmPConv3D
from keras_lcw.layers import GmPDense
from keras_lcw.layers import InputMeanNormalization
from keras_lcw.layers import LCWConv1D
from keras_lcw.layers import LCWConv2D
from keras_lcw.layers import LCWConv3D
from keras_lcw.layers import LCWDense
from keras_lcw.layers import WeightNormConv1D
from keras_lcw.layers import WeightNormConv2D
from keras_lcw.layers import WeightNormConv3D
from keras_lcw.layers import WeightNormDense
from keras_lcw.layers import WeightNormalization

__version__ = "0.1.0"
