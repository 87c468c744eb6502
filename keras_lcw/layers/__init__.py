"""Layers of keras_lcw."""

from keras_lcw.layers.lcw import LCWConv1D
from keras_lcw.layers.lcw import LCWConv2D
from keras_lcw.layers.lcw import LCWConv3D
from keras_lcw.layers.lcw import LCWDense
from keras_lcw.layers.registry import get_conv
from keras_lcw.layers.registry import get_dense
