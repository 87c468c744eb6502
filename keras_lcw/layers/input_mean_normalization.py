"""InputMeanNormalization: subtract the mean of a layer's input."""

import keras
from keras import ops

from keras_lcw import validation
from keras_lcw.numerics import statistics


@keras.saving.register_keras_serializable(package="keras_lcw")
class InputMeanNormalization(keras.layers.Layer):
    """Subtracts the mean of its input: a mean-only batch normalization.

    In training (`training=True`, as in `fit()`) every feature is centred on
    its mean over the batch and, for convolution inputs, the spatial axes:

        y = x - mean(x),

    and a moving average is kept for inference:

        moving_mean = momentum * moving_mean + (1 - momentum) * mean(x).

    At inference (and when the layer is not trainable) `y = x - moving_mean`.
    No scale, no learnable parameters. Used with geometric parameterization
    (`keras_lcw.GmPDense`, `GmPConv2D`, ...), where it centres the input of a
    layer so that the activation boundaries of its units start near the
    data.

    The mean is computed and subtracted in float32, also under mixed
    precision (the inputs are not rounded to 16 bits first, so a large mean
    costs them no precision), and in float64 for float64 inputs
    (`dtype="float64"`, on the backends where Keras has float64:
    TensorFlow, PyTorch, and JAX with `jax_enable_x64`); the output is cast
    to the compute dtype, as `keras.layers.BatchNormalization` does.
    `bake()` returns a `keras.layers.Normalization` with mean `moving_mean`
    and variance 1, computing in that same dtype, which gives exactly the
    inference output (under mixed precision, before its cast to 16 bits).

    Entries that the input's mask marks as padding are left out of the
    batch mean, as in `keras.layers.BatchNormalization` (the output is
    still computed for every entry). A feature whose batch mean is not
    finite (a NaN or infinite input, or, with a mask, no unmasked entry)
    keeps its moving mean as it was, and is centred on it for that batch;
    the check is a `keras.ops.where` on the values, so it holds inside
    compiled train steps.

    Under data-parallel training the batch mean is the mean of which batch
    depends on the backend. On JAX, `keras.distribution` (`DataParallel`,
    `ModelParallel`) runs one program over the global batch: the mean is
    the global batch's, with either value of `synchronized`, as on one
    device. Under `tf.distribute` (`MirroredStrategy`,
    `MultiWorkerMirroredStrategy`, ...) each replica runs on its own slice of
    the batch: by default (`synchronized=False`) each replica centres its
    slice on that slice's own mean; with `synchronized=True` the per-replica
    sums are all-reduced, so every replica uses the global batch's mean and
    training matches a single-device run. The moving mean is the same either
    way when replicas get equal slices (it is averaged across replicas).
    On PyTorch Keras trains on one device, and the flag has no effect.

    Args:
        axis: the feature axis, kept; the mean is taken over every other
            axis. -1 for channels_last inputs, 1 for channels_first.
        momentum: the momentum of the moving average, a number in [0, 1).
        moving_mean_initializer: the initializer of the moving mean.
        synchronized: whether the batch mean is all-reduced across
            `tf.distribute` replicas (TensorFlow backend; accepted and
            without effect on JAX and PyTorch, see above). Costs one
            all-reduce of the per-feature sums per training step.
        **kwargs: base layer keyword arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: a float tensor of rank 2 or more.
        training: whether the layer centres on (and moves toward) the batch
            mean (True, as in `fit()`) or on the moving mean.
        mask: optional boolean tensor, the inputs' shape or a leading part
            of it (`(batch, steps)`): entries where it is False are left out
            of the batch mean. Passed on unchanged.

    Input shape:
        Arbitrary, with a known size along `axis`.

    Output shape:
        The input's shape.

    Reference:
        W. Chen and H. Ge, "Neural Characteristic Activation Analysis and
        Geometric Parameterization for ReLU Networks", NeurIPS 2024,
        arXiv:2305.15912.

    Example:

    >>> model = keras.Sequential([
    ...     keras.Input((8, 8, 1)),
    ...     keras_lcw.InputMeanNormalization(),
    ...     keras_lcw.GmPConv2D(16, 3),
    ...     keras_lcw.InputMeanNormalization(),
    ...     keras_lcw.GmPConv2D(16, 3),
    ... ])
    """

    def __init__(
        self,
        axis=-1,
        momentum=0.99,
        moving_mean_initializer="zeros",
        synchronized=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.axis = validation.axis("axis", axis)
        self.momentum = validation.momentum("momentum", momentum)
        self.synchronized = validation.boolean("synchronized", synchronized)
        self.moving_mean_initializer = keras.initializers.get(
            moving_mean_initializer
        )
        self.supports_masking = True
        self.moving_mean = None
        self._reduction_axes = None

    def build(self, input_shape):
        rank = len(input_shape)
        (axis,) = validation.input_axes(self, "axis", self.axis, input_shape)
        self._reduction_axes = tuple(i for i in range(rank) if i != axis)
        self.input_spec = keras.layers.InputSpec(
            ndim=rank, axes={self.axis: input_shape[axis]}
        )
        self.moving_mean = self.add_weight(
            name="moving_mean",
            shape=(input_shape[axis],),
            initializer=self.moving_mean_initializer,
            trainable=False,
            autocast=False,
            # Replicas each update with their batch's mean; the stored value
            # is their average.
            aggregation="mean",
        )

    @property
    def input_dtype(self):
        """float32 under mixed precision (float64 for a float64 policy): the
        mean is subtracted before the result is rounded to the compute
        dtype, where a 16-bit input would have lost what a large mean
        leaves of its precision."""
        return statistics.statistics_dtype(self.compute_dtype)

    def _broadcast(self, mean, rank):
        shape = [1] * rank
        shape[self.axis] = -1
        return ops.reshape(mean, shape)

    def call(self, inputs, training=None, mask=None):
        validation.real_inputs(self, inputs)
        dtype = statistics.statistics_dtype(inputs.dtype)
        inputs = ops.cast(inputs, dtype)
        moving_mean = ops.cast(self.moving_mean, dtype)
        if training and self.trainable:
            if mask is not None:
                mask = statistics.broadcast_mask(mask, inputs)
            batch_mean = statistics.masked_mean(
                inputs, self._reduction_axes, mask, self.synchronized
            )
            # A batch with a non-finite mean changes nothing (per feature).
            finite = ops.isfinite(batch_mean)
            moved = moving_mean * self.momentum + batch_mean * (
                1.0 - self.momentum
            )
            self.moving_mean.assign(
                ops.cast(
                    ops.where(finite, moved, moving_mean),
                    self.moving_mean.dtype,
                )
            )
            mean = ops.where(finite, batch_mean, moving_mean)
        else:
            mean = moving_mean
        outputs = inputs - self._broadcast(mean, len(inputs.shape))
        return ops.cast(outputs, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "axis": self.axis,
                "momentum": self.momentum,
                "synchronized": self.synchronized,
                "moving_mean_initializer": keras.initializers.serialize(
                    self.moving_mean_initializer
                ),
            }
        )
        return config

    def bake(self):
        """Returns `(Normalization(axis, mean=moving_mean, variance=1), {})`:
        the plain layer holds its mean as a constant, no weights.

        Normalization divides `x - mean` by `max(sqrt(1), epsilon) = 1`,
        which leaves every float unchanged: the inference output, exactly.
        It computes in the dtype this layer computes `x - mean` in (float32
        under mixed precision, where Normalization would otherwise round
        the mean to float16 or bfloat16 first), so its output is this
        layer's before the final cast to the compute dtype, which the next
        layer's own cast then makes the same.
        """
        if not self.built:
            raise ValueError(
                f"Layer '{self.name}' must be built before it can be baked."
            )
        mean = ops.convert_to_numpy(self.moving_mean)
        plain = keras.layers.Normalization(
            axis=self.axis,
            mean=mean.tolist(),
            variance=[1.0] * mean.size,
            name=self.name,
            dtype=statistics.statistics_dtype(self.compute_dtype),
        )
        return plain, {}
