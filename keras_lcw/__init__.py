"""keras_lcw: training-stability layers for Keras 3.

Linearly constrained weights (LCW) as a constraint and as reparameterized
Dense and convolution layers, geometric parameterization (GmP) layers with
input mean normalization, and `bake()` to turn them into plain Keras layers. Runs on the TensorFlow, JAX and PyTorch backends.
"""

from keras_lcw import constraints
from keras_lcw import initializers
from keras_lcw import layers
from keras_lcw import numerics
from keras_lcw import tuning
from keras_lcw.bake import bake
from keras_lcw.constraints import LCWConstraint
from keras_lcw.convert import convert
from keras_lcw.initializers import LCWInitializer
from keras_lcw.layers import GmPConv1D
from keras_lcw.layers import GmPConv2D
from keras_lcw.layers import GmPConv3D
from keras_lcw.layers import GmPDense
from keras_lcw.layers import InputMeanNormalization
from keras_lcw.layers import LCWConv1D
from keras_lcw.layers import LCWConv2D
from keras_lcw.layers import LCWConv3D
from keras_lcw.layers import LCWDense

__version__ = "0.1.0"
