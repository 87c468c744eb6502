"""Layers of keras_lcw."""

from keras_lcw.layers.gmp import GmPConv1D
from keras_lcw.layers.gmp import GmPConv2D
from keras_lcw.layers.gmp import GmPConv3D
from keras_lcw.layers.gmp import GmPDense
from keras_lcw.layers.input_mean_normalization import InputMeanNormalization
from keras_lcw.layers.lcw import LCWConv1D
from keras_lcw.layers.lcw import LCWConv2D
from keras_lcw.layers.lcw import LCWConv3D
from keras_lcw.layers.lcw import LCWDense
from keras_lcw.layers.registry import get_conv
from keras_lcw.layers.registry import get_dense
from keras_lcw.layers.reparameterized import ReparameterizedConv1D
from keras_lcw.layers.reparameterized import ReparameterizedConv2D
from keras_lcw.layers.reparameterized import ReparameterizedConv3D
from keras_lcw.layers.reparameterized import ReparameterizedDense
from keras_lcw.layers.weight_norm import CenteredWeightNormConv1D
from keras_lcw.layers.weight_norm import CenteredWeightNormConv2D
from keras_lcw.layers.weight_norm import CenteredWeightNormConv3D
from keras_lcw.layers.weight_norm import CenteredWeightNormDense
from keras_lcw.layers.weight_norm import WeightNormConv1D
from keras_lcw.layers.weight_norm import WeightNormConv2D
from keras_lcw.layers.weight_norm import WeightNormConv3D
from keras_lcw.layers.weight_norm import WeightNormDense
from keras_lcw.layers.weight_norm import WeightNormalization
