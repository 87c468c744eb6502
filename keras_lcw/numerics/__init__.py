"""Shared math of keras_lcw, each piece in one place and tested directly.

- `zero_sum`: the O(m) orthonormal basis of the zero-sum subspace used by LCW.
- `hyperspherical`: hyperspherical coordinates of unit vectors (GmP), with
  exact gradients at every angle.
- `norms`: the inverse norm of each column, with a guarded zero column
  (weight normalization).
- `statistics`: masked batch means in the input's precision.
- `trigonometry`: sine and cosine of the same angles as one polynomial, which
  XLA fuses (used for GmP on JAX).
- `derivatives`: exact `keras.ops` derivatives of Keras's elementwise
  activations (the backend's automatic differentiation for other callables).
- `gaussian`: expectations of an activation (and its derivative) under a
  standard normal input, by composite Gauss-Legendre quadrature.
"""

from keras_lcw.numerics import derivatives
from keras_lcw.numerics import gaussian
from keras_lcw.numerics import hyperspherical
from keras_lcw.numerics import norms
from keras_lcw.numerics import statistics
from keras_lcw.numerics import trigonometry
from keras_lcw.numerics import zero_sum
