"""ANAct: activations normalized by their forward and backward gains."""

import types

import keras
from keras import ops

from keras_lcw import backend_utils
from keras_lcw import validation
from keras_lcw.numerics import derivatives
from keras_lcw.numerics import gaussian
from keras_lcw.numerics import statistics

COMBINATIONS = ("geometric", "arithmetic")
FORWARD_STATISTICS = ("second_moment", "variance")

# What a config saved before these arguments existed means.
LEGACY_ARGUMENTS = {
    "center": False,
    "combination": "geometric",
    "forward_statistic": "second_moment",
    "gain_range": 0.0,
    "statistics_gradient": False,
    "max_scale": None,
}

# The public reading of the paper (see docs/anact.md).
_PUBLISHED = {
    "center": True,
    "combination": "arithmetic",
    "forward_statistic": "variance",
    "gain_range": 0.3,
    "statistics_gradient": True,
    "momentum": 0.9,
    "max_scale": None,
}

PRESETS = types.MappingProxyType(
    {
        # The default: the public reading with the factor bounded by its
        # standard-normal value (chosen by examples/anact_default.py).
        "keras_lcw": dict(_PUBLISHED, max_scale=1.0),
        "published": dict(_PUBLISHED),
        "geometric": dict(LEGACY_ARGUMENTS, momentum=0.99),
        "static": {"adaptive": False},
    }
)


@keras.saving.register_keras_serializable(package="keras_lcw")
class ANAct(keras.layers.Layer):
    """An activation scaled so that signals and gradients keep their size.

    An activation f changes the second moment of the signal that the next
    linear layer sees by the forward ratio `rho = E[f(x)^2] / E[x^2]`, and
    that of the gradient flowing back by the backward ratio
    `rho' = E[f'(x)^2]`. The paper (Y. Peiwen, H. Liu, C. Zhu, Y. Wang,
    "ANAct: Adaptive Normalization for Activation Functions",
    arXiv:2208.13315) asks for gradients whose variance stays the same
    across layers, and for the normalizing factor to follow mini-batch
    statistics during training rather than only the state at
    initialization. This layer computes

        y = (s + gain_range * tanh(alpha)) * (f(x) - mu),
        s = min(combine(rho, rho'), max_scale * s0),

    where each part is an argument:

    - `combination="geometric"`: `s = (rho * rho' + epsilon) ** (-1/4)`,
      which makes the forward and backward gains `sqrt(rho / rho')` and its
      reciprocal, so neither grows unless the other shrinks by as much (both
      are exactly 1 for ReLU-like activations); `"arithmetic"`:
      `s^2 = (1 / (rho + epsilon) + 1 / (rho' + epsilon)) / 2`.
    - `forward_statistic="second_moment"`: `rho = E[f(x)^2] / E[x^2]`;
      `"variance"`: `rho = E[f(x)^2] / Var[x]`.
    - `center=True`: `mu` is the mean of f(x) (else 0), a batch statistic
      like the ratios.
    - `gain_range > 0`: a learnable `alpha` (initialized at 0) moves the
      factor by at most `gain_range` either way.
    - `statistics_gradient=True`: in training the gradient flows through the
      batch's `rho`, `rho'` and `mu` (as through the statistics of
      `BatchNormalization`); else they are constants.
    - `max_scale`: `s` is at most `max_scale` times `s0`, its value for a
      standard normal input; `None` is no bound. Where f saturates (tanh or
      sigmoid on large inputs) `rho'` goes to 0, and without a bound only
      `epsilon` stops `s` from growing (to about `epsilon ** -1/4` = 32
      geometric, `(2 epsilon) ** -1/2` = 707 arithmetic).

    The defaults are the one public implementation's reading of the paper
    (centred, arithmetic, variance, gain range 0.3, gradient through the
    statistics, momentum 0.9) with the factor bounded by its
    standard-normal value (`max_scale=1`): of the configurations measured
    on a 30-layer MLP (docs/anact.md), it is the one that trained relu,
    tanh, sigmoid, swish and gelu all at least about as well as the bare
    activation. Its gradient through the statistics needs second
    derivatives of f, which makes a train step slower than with
    `statistics_gradient=False`.

    `ANAct.PRESETS` names whole configurations (`ANAct.from_preset`):
    "keras_lcw" (the defaults), "published" (the public reading, unbounded),
    "geometric" (the default of the releases before presets) and "static"
    (the statistics of a standard normal input, not adapted; the learnable
    gain stays). docs/anact.md says which part comes from the paper,
    which from the public reading and which from keras_lcw, and gives the
    measurement behind the default.

    `rho`, `rho'` and `mu` start at their values for a standard normal input,
    computed by quadrature when the layer is built
    (`keras_lcw.numerics.gaussian`), so an untrained layer is already
    normalized like the fixed constants of normalizer-free networks. In
    training mode the layer uses the mini-batch's statistics and moves the
    non-trainable variables `forward_ratio`, `backward_ratio` and (centred)
    `activation_mean` toward them:
    `stat <- momentum * stat + (1 - momentum) * batch_stat`. At inference,
    or when the layer is frozen, it uses the moving statistics.

    `f'` is exact, in `keras.ops`, for every elementwise built-in activation
    (`keras_lcw.numerics.derivatives`); any other callable is taken to be
    elementwise and differentiated by the backend
    (`keras_lcw.backend_utils.value_and_elementwise_derivative`).

    Batch statistics:

    - They are computed in float32, also under mixed precision, and in
      float64 for float64 inputs (`dtype="float64"`, on the backends where
      Keras has float64: TensorFlow, PyTorch, and JAX with
      `jax_enable_x64`); f and f' are as accurate as the backend computes
      them.
    - Where `E[x^2]` or `E[f(x)^2]` overflows (float32 inputs above about
      1e19), the second moments are taken of `x / c` and `f(x) / c`
      instead, with `c` the mean of `|x|` (at least 1): the same ratios,
      without overflow for inputs up to the largest float. With
      `synchronized=True` they always are, so that every replica runs the
      same all-reduces. `f'` is not scaled: the
      derivatives of the built-in activations other than "exponential" are
      bounded.
    - Entries that the input's mask marks as padding are left out (as in
      `keras.layers.BatchNormalization`): a mask of shape
      `(batch, steps)` for inputs of shape `(batch, steps, ...)`.
    - A batch whose statistics cannot be taken leaves the moving
      statistics as they were, and the layer uses them for that batch: a
      NaN or infinite input, an overflowing activation, with a mask no
      unmasked entry, and an input statistic of 0 (a single sample or a
      constant batch for "variance", all zeros for "second_moment"). The
      variance is taken of the deviations from one entry (with
      `synchronized=True`, the same entry on every replica), so that of a
      constant batch is exactly 0, not its rounding. With `axis` set, this
      holds for each kept entry on its own; with `statistics_gradient`, the
      gradient through such statistics is 0, not NaN. The check is a
      `keras.ops.where` on the values, so it holds inside compiled train
      steps.

    Args:
        activation: an elementwise `keras.activations` name or function, or
            a registered elementwise callable. Defaults to "swish".
        adaptive: if False, the layer keeps no statistics and always uses
            those of a standard normal input: `y = s0 * (f(x) - mu0)` with
            fixed `s0` and `mu0` (plus the learnable gain, if any).
        axis: None for one set of statistics per layer (the default), or an
            integer or list of distinct integers: the axes that keep their
            own statistics (and gain), as in
            `keras.layers.BatchNormalization` (e.g. -1 for per-channel
            statistics). With per-channel statistics a dead unit's ratios
            are 0 and only `epsilon` or `max_scale` bounds its factor.
        momentum: the moving averages' momentum, a number in [0, 1).
        epsilon: a finite number greater than 0, added to the ratios where
            they make the factor (`rho + epsilon`, `rho * rho' + epsilon`),
            which keeps `s` finite for units whose output and derivative
            are both zero. It is no part of `rho`, which is the same for
            inputs of any scale.
        synchronized: if True, on the TensorFlow backend under a
            `tf.distribute` strategy the batch statistics are all-reduced
            across replicas, so every replica uses the global batch's
            statistics (as `keras.layers.BatchNormalization(
            synchronized=True)`). The default, False, has each replica use
            its own slice's. On JAX, `keras.distribution` computes global
            statistics either way; on PyTorch the flag has no effect
            (`keras_lcw.backend_utils.batch_mean`).
        center: whether f(x) is centred by its (moving or batch) mean.
        combination: "geometric" or "arithmetic", how `rho` and `rho'` make
            one factor (above).
        forward_statistic: "second_moment" or "variance", the input
            statistic in `rho`'s denominator.
        gain_range: a number >= 0; with `gain_range > 0` the layer has a
            trainable `alpha` and adds `gain_range * tanh(alpha)` to the
            factor; 0 for none.
        statistics_gradient: whether the gradient flows through the batch
            statistics in training.
        max_scale: None, or a number >= 1: the bound on `s` as a multiple
            of its standard-normal value `s0` (the gain comes on top).
        **kwargs: arguments of `keras.layers.Layer` (name, dtype, ...).

    A config saved before `center`, `combination`, `forward_statistic`,
    `gain_range`, `statistics_gradient` and `max_scale` existed lacks them;
    `from_config` then gives them their values of that time (the
    "geometric" preset: uncentred, geometric, second moment, no gain, no
    gradient, no bound), not today's defaults, so old files load with
    their old outputs.

    Call arguments:
        inputs: a float tensor of any rank of at least 2.
        training: whether the layer uses and updates the batch statistics
            (True, as in `fit()`) or uses the moving ones.
        mask: optional boolean tensor, the inputs' shape or a leading part
            of it (`(batch, steps)`): entries where it is False are left
            out of the batch statistics. Passed on unchanged.

    Input shape:
        Arbitrary. With `axis` set, the sizes of those axes must be known.

    Output shape:
        The input's shape.

    Reference:
        Y. Peiwen, H. Liu, C. Zhu, Y. Wang, "ANAct: Adaptive Normalization
        for Activation Functions", arXiv:2208.13315.

    Example:

    >>> model = keras.Sequential([keras.Input((64,))])
    >>> for _ in range(30):
    ...     model.add(keras.layers.Dense(256, kernel_initializer="lecun_normal"))
    ...     model.add(keras_lcw.ANAct("swish"))

    The public reading of the paper, and the presets:

    >>> layer = keras_lcw.ANAct.from_preset("published", "tanh")
    >>> layer.combination, layer.center, layer.gain_range, layer.momentum
    ('arithmetic', True, 0.3, 0.9)
    >>> sorted(keras_lcw.ANAct.PRESETS)
    ['geometric', 'keras_lcw', 'published', 'static']
    >>> keras_lcw.ANAct("tanh").max_scale
    1.0
    """

    def __init__(
        self,
        activation="swish",
        adaptive=True,
        axis=None,
        momentum=0.9,
        epsilon=1e-6,
        synchronized=False,
        center=True,
        combination="arithmetic",
        forward_statistic="variance",
        gain_range=0.3,
        statistics_gradient=True,
        max_scale=1.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.activation = derivatives.get_elementwise(activation)
        self.adaptive = validation.boolean("adaptive", adaptive)
        self.axis = validation.axes("axis", axis)
        self.momentum = validation.momentum("momentum", momentum)
        self.epsilon = validation.positive_float("epsilon", epsilon)
        self.synchronized = validation.boolean("synchronized", synchronized)
        self.center = validation.boolean("center", center)
        self.combination = validation.choice(
            "combination", combination, COMBINATIONS
        )
        self.forward_statistic = validation.choice(
            "forward_statistic", forward_statistic, FORWARD_STATISTICS
        )
        self.gain_range = validation.non_negative_float("gain_range", gain_range)
        self.statistics_gradient = validation.boolean(
            "statistics_gradient", statistics_gradient
        )
        self.max_scale = validation.optional_float_at_least(
            "max_scale", max_scale, 1.0
        )
        self.supports_masking = True

    @classmethod
    def from_preset(cls, preset, activation="swish", **overrides):
        """An `ANAct` configured by name, with any argument overridden.

        `ANAct.PRESETS` maps each name to its arguments:

        - "keras_lcw": the default configuration, chosen by measurement
          (see docs/anact.md): "published" with `max_scale=1`.
        - "published": the public reading of the paper: centred,
          arithmetic, variance, a learnable gain in +-0.3, gradient through
          the statistics, momentum 0.9, no bound.
        - "geometric": the default of the releases before presets, which a
          saved config without the newer arguments still means: uncentred,
          geometric, second moment, no gain, no gradient through the
          statistics, no bound, momentum 0.99.
        - "static": `adaptive=False` (with the default's other arguments).

        Args:
            preset: one of the names of `ANAct.PRESETS`.
            activation: as for `ANAct`.
            **overrides: any other argument of `ANAct`, which replaces the
                preset's value (e.g. `momentum=0.99`, `name="act"`).

        Returns:
            A new `ANAct` layer.

        Raises:
            ValueError: `preset` is not a name of `ANAct.PRESETS`.
        """
        validation.choice("preset", preset, tuple(PRESETS))
        return cls(activation, **{**PRESETS[preset], **overrides})

    @classmethod
    def from_config(cls, config):
        # Configs saved before `center`, `combination`, ... existed mean the
        # factor of that time: fill the missing arguments with its values,
        # not with today's defaults.
        config = dict(config)
        for key, value in LEGACY_ARGUMENTS.items():
            config.setdefault(key, value)
        return super().from_config(config)

    def build(self, input_shape):
        ndim = len(input_shape)
        if self.axis is None:
            self._kept_axes = []
        else:
            self._kept_axes = validation.input_axes(
                self, "axis", self.axis, input_shape
            )
        shape = tuple(input_shape[a] for a in self._kept_axes)
        self._reduction_axes = [
            a for a in range(ndim) if a not in self._kept_axes
        ]
        self._broadcast_shape = [
            input_shape[a] if a in self._kept_axes else 1 for a in range(ndim)
        ]
        # The statistics' axes and shapes are fixed here: Keras checks
        # later inputs against them.
        self.input_spec = keras.layers.InputSpec(
            ndim=ndim, axes={a: input_shape[a] for a in self._kept_axes}
        )
        self.gaussian_mean, forward, backward = gaussian.moments(
            self.activation, derivatives.exact_derivative(self.activation)
        )
        self.gaussian_ratios = (forward, backward)
        # E[z^2] = Var[z] = 1 for z ~ N(0, 1): rho = E[f(z)^2] for both
        # forward statistics.
        self._gaussian_scale = self._combine(forward, backward)
        if self.adaptive:
            # Replicas each update with their batch's statistics
            # (`synchronized=False`); the stored value is their average, the
            # same on every replica.
            self.forward_ratio = self.add_weight(
                name="forward_ratio",
                shape=shape,
                initializer=keras.initializers.Constant(forward),
                trainable=False,
                autocast=False,
                aggregation="mean",
            )
            self.backward_ratio = self.add_weight(
                name="backward_ratio",
                shape=shape,
                initializer=keras.initializers.Constant(backward),
                trainable=False,
                autocast=False,
                aggregation="mean",
            )
            if self.center:
                self.activation_mean = self.add_weight(
                    name="activation_mean",
                    shape=shape,
                    initializer=keras.initializers.Constant(
                        self.gaussian_mean
                    ),
                    trainable=False,
                    autocast=False,
                    aggregation="mean",
                )
        if self.gain_range > 0:
            self.alpha = self.add_weight(
                name="alpha",
                shape=shape,
                initializer="zeros",
                trainable=True,
                autocast=False,
            )
        self.built = True

    def _combine(self, forward_ratio, backward_ratio):
        """The combined factor of two Python floats (at build time)."""
        if self.combination == "geometric":
            return (forward_ratio * backward_ratio + self.epsilon) ** -0.25
        return (
            0.5 / (forward_ratio + self.epsilon)
            + 0.5 / (backward_ratio + self.epsilon)
        ) ** 0.5

    def scale(self, forward_ratio, backward_ratio):
        """The factor that `combination` makes of the ratios, bounded by
        `max_scale` times its value for a standard normal input.

        "geometric": `s = (rho * rho' + epsilon) ** (-1/4)`. Where
        `rho * rho'` overflows (both ratios large, as for "exponential" on
        inputs of size 20 and more), `s` is `rho ** (-1/4) * rho' ** (-1/4)`,
        to which `epsilon` adds nothing, instead of 0.

        "arithmetic": `s = sqrt((1 / (rho + epsilon) + 1 / (rho' + epsilon))
        / 2)`.

        The learnable gain (`gain_range`) is not part of it.
        """
        if self.combination == "geometric":
            # The moving statistics come as variables.
            forward_ratio = ops.convert_to_tensor(forward_ratio)
            backward_ratio = ops.convert_to_tensor(backward_ratio)
            product = forward_ratio * backward_ratio
            finite = ops.isfinite(product)
            ones = ops.ones_like(product)
            # Each branch sees only the inputs it is picked for: the other
            # branch's infinite derivative (at a ratio of 0, or of an
            # overflowing product) times where's zero would make the
            # gradient through the statistics NaN.
            factor = ops.where(
                finite,
                ops.power(ops.where(finite, product, ones) + self.epsilon, -0.25),
                ops.power(ops.where(finite, ones, forward_ratio), -0.25)
                * ops.power(ops.where(finite, ones, backward_ratio), -0.25),
            )
        else:
            factor = ops.sqrt(
                0.5 / (forward_ratio + self.epsilon)
                + 0.5 / (backward_ratio + self.epsilon)
            )
        if self.max_scale is not None:
            # Not ops.minimum, which is float32 for float64 on PyTorch.
            bound = ops.full_like(factor, self.max_scale * self._gaussian_scale)
            factor = ops.where(factor > bound, bound, factor)
        return factor

    def _batch_statistics(self, x, fx, dfx, mask):
        """The batch's `(rho, rho', E[f(x)])` over the reduction axes (across
        replicas when `synchronized`, unmasked entries only).

        `rho` is not finite where it cannot be taken: where `E[x^2]` (or
        `Var[x]`) is 0, where no entry is left, and where an entry is not
        finite. A gradient flows through the statistics only with
        `statistics_gradient`, and it is 0 (not NaN) where `rho` is not
        finite.
        """
        if mask is not None:
            mask = statistics.broadcast_mask(mask, x)
        complete = None
        if self.statistics_gradient:
            # An infinite entry makes the statistics infinite and their
            # gradient NaN for every entry of the batch, though the layer
            # then uses its moving statistics: it is taken as 0 here, and
            # `rho` is made NaN below. Masked entries are taken as 0 too,
            # so that whatever they hold, the gradient at them is 0.
            finite = ops.isfinite(x)
            bad = ops.logical_not(finite)
            if mask is not None:
                bad = ops.logical_and(bad, mask)
                finite = ops.logical_and(finite, mask)
                fx, dfx = (ops.where(mask, t, ops.zeros_like(t)) for t in (fx, dfx))
            # A share of 0 is exact however the mean is taken.
            complete = backend_utils.batch_mean(
                ops.cast(bad, x.dtype), self._reduction_axes, self.synchronized
            ) == 0
            x = ops.where(finite, x, ops.zeros_like(x))
        else:
            x, fx, dfx = (ops.stop_gradient(t) for t in (x, fx, dfx))
        # Where no entry is kept, every mean is 0 and so is the input
        # statistic: rho is NaN, with finite gradients on the way.
        mean = statistics.masked_mean_function(
            self._reduction_axes, mask, self.synchronized, x.dtype, empty=0.0
        )

        def broadcast(t):
            return ops.reshape(t, self._broadcast_shape)

        d_moment = mean(ops.square(dfx))
        f_mean = mean(fx) if self.center else None

        def x_statistic(t):
            # E[t^2], or E[(t - E[t])^2] for "variance", of the deviations
            # from one kept entry (the same on every replica that
            # synchronizes): exactly 0 for a constant batch, whose
            # deviations from the mean alone would be its rounding (a
            # ratio of 1e7 to 1e14).
            if self.forward_statistic == "variance":
                t = t - ops.stop_gradient(
                    statistics.common_kept_entry(
                        t, self._reduction_axes, mask, self.synchronized
                    )
                )
                t = t - broadcast(mean(t))
            return mean(ops.square(t))

        def scaled_moments():
            # The moments of x / c and f(x) / c, whose ratio is rho. c >= 1
            # and |x| / c <= the number of entries averaged, so no square
            # below overflows. The mean of |x| is taken of |x| / 2**64,
            # which cannot overflow either; where that underflows, c is 1.
            size = mean(ops.abs(x) * 2.0**-64) * 2.0**64
            c = broadcast(ops.maximum(size, ops.ones_like(size)))
            return x_statistic(x / c), mean(ops.square(fx / c))

        if self.synchronized:
            # Every replica must take the same path through the all-reduces.
            x_moment, f_moment = scaled_moments()
        else:
            # The scaled moments cost five more passes over the batch: they
            # are computed only where the plain ones overflow (|x| above
            # about 1e19).
            x_moment = x_statistic(x)
            f_moment = mean(ops.square(fx))
            x_moment, f_moment = ops.cond(
                ops.all(ops.isfinite(x_moment)) & ops.all(ops.isfinite(f_moment)),
                lambda: (x_moment, f_moment),
                scaled_moments,
            )
        # The divisor is 1 where the ratio is not taken, so that its
        # gradient stays finite there.
        valid = x_moment > 0
        if complete is not None:
            valid = ops.logical_and(valid, complete)
        forward = ops.where(
            valid,
            f_moment / ops.where(valid, x_moment, ops.ones_like(x_moment)),
            ops.full_like(x_moment, float("nan")),
        )
        return forward, d_moment, f_mean

    def call(self, inputs, training=None, mask=None):
        validation.real_inputs(self, inputs)
        dtype = statistics.statistics_dtype(inputs.dtype)
        x = ops.cast(inputs, dtype)
        if not self.adaptive:
            fx = ops.cast(self.activation(x), dtype)
            if self.center:
                fx = fx - self.gaussian_mean
            scale = ops.convert_to_tensor(self._gaussian_scale, dtype)
        else:
            forward = ops.cast(self.forward_ratio, dtype)
            backward = ops.cast(self.backward_ratio, dtype)
            f_mean = (
                ops.cast(self.activation_mean, dtype) if self.center else None
            )
            if training and self.trainable:
                fx, dfx = derivatives.value_and_derivative(
                    self.activation, x, differentiable=self.statistics_gradient
                )
                batch_forward, batch_backward, batch_mean = (
                    self._batch_statistics(x, fx, dfx, mask)
                )
                # A batch with non-finite statistics changes nothing (per
                # entry).
                finite = ops.logical_and(
                    ops.isfinite(batch_forward), ops.isfinite(batch_backward)
                )
                moving = [
                    (self.forward_ratio, forward, batch_forward),
                    (self.backward_ratio, backward, batch_backward),
                ]
                if self.center:
                    finite = ops.logical_and(finite, ops.isfinite(batch_mean))
                    moving.append((self.activation_mean, f_mean, batch_mean))
                for variable, old, batch in moving:
                    moved = self.momentum * old + (1.0 - self.momentum) * (
                        ops.stop_gradient(batch)
                    )
                    variable.assign(
                        ops.cast(ops.where(finite, moved, old), variable.dtype)
                    )
                forward = ops.where(finite, batch_forward, forward)
                backward = ops.where(finite, batch_backward, backward)
                if self.center:
                    f_mean = ops.where(finite, batch_mean, f_mean)
            else:
                fx = ops.cast(self.activation(x), dtype)
            if self.center:
                fx = fx - ops.reshape(f_mean, self._broadcast_shape)
            scale = ops.reshape(
                self.scale(forward, backward), self._broadcast_shape
            )
        if self.gain_range > 0:
            gain = self.gain_range * ops.tanh(ops.cast(self.alpha, dtype))
            scale = scale + ops.reshape(gain, self._broadcast_shape)
        return ops.cast(fx * scale, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "activation": keras.activations.serialize(self.activation),
                "adaptive": self.adaptive,
                "axis": self.axis,
                "momentum": self.momentum,
                "epsilon": self.epsilon,
                "synchronized": self.synchronized,
                "center": self.center,
                "combination": self.combination,
                "forward_statistic": self.forward_statistic,
                "gain_range": self.gain_range,
                "statistics_gradient": self.statistics_gradient,
                "max_scale": self.max_scale,
            }
        )
        return config


ANAct.PRESETS = PRESETS
