"""Parameterizations of a kernel and bias, by name.

Each is one object (`keras_lcw.parameterizations.base.Parameterization`)
that declares its variables and maps them to the effective kernel and bias
and back. The reparameterized layers (`keras_lcw.layers`), their
initialization, `keras_lcw.bake`, `keras_lcw.convert`, `get_dense` /
`get_conv` and `keras_lcw.tuning` all go through it, so a new
parameterization is one module and one entry in `PARAMETERIZATIONS`.

- "lcw" (`lcw.ZeroSum`): w = B v, each unit's weights sum to zero.
- "gmp" (`gmp.Geometric`): y = r * act(u(theta) . x + lambda).
- "weight_norm" (`weight_norm.WeightNorm`): w = g v / |v| per unit.
- "centered_weight_norm" (`weight_norm.CenteredWeightNorm`):
  w = g B c / |c| per unit, zero-sum and of norm |g|.
"""

from keras_lcw.parameterizations import base
from keras_lcw.parameterizations import gmp
from keras_lcw.parameterizations import lcw
from keras_lcw.parameterizations import weight_norm

PARAMETERIZATIONS = {
    parameterization.name: parameterization
    for parameterization in (
        lcw.ZeroSum(),
        gmp.Geometric(),
        weight_norm.WeightNorm(),
        weight_norm.CenteredWeightNorm(),
    )
}


def get(name):
    """The parameterization named `name`.

    Example:

    >>> keras_lcw.parameterizations.get("lcw")
    ZeroSum(name='lcw')
    """
    if not isinstance(name, str) or name not in PARAMETERIZATIONS:
        raise ValueError(
            f"Unknown parameterization {name!r}; allowed: "
            f"{', '.join(repr(key) for key in PARAMETERIZATIONS)}."
        )
    return PARAMETERIZATIONS[name]
