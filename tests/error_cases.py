"""The common mistakes and the errors they raise: the source of docs/errors.md.

Each case is a short description of the mistake, the code that makes it
(shown in the table, and run by `make`), the exception type and a regular
expression the message must match. tests/test_errors.py runs every case;
scripts/errors_table.py renders the table from the messages the code
actually raises.
"""

import dataclasses
import re
import textwrap

import keras
import numpy as np

import keras_lcw

NAMESPACE = {"keras": keras, "keras_lcw": keras_lcw, "np": np}


@dataclasses.dataclass(frozen=True)
class Case:
    mistake: str
    code: str
    error: type
    match: str

    @property
    def make(self):
        """A zero-argument callable that makes the mistake."""
        code = compile(textwrap.dedent(self.code).strip(), f"<case: {self.mistake}>", "exec")
        return lambda: exec(code, dict(NAMESPACE))


def normalize(message):
    """The message without what changes between runs and backends
    (object addresses)."""
    return re.sub(r" at 0x[0-9a-fA-F]+", " at 0x...", message)


CASES = [
    Case("`units` that is not a positive integer", "keras_lcw.LCWDense(0)", ValueError,
         r"`units` must be a positive integer; received units=0\."),
    Case("`units` given as a float", "keras_lcw.GmPDense(8.0)", ValueError,
         r"`units` must be a positive integer; received units=8\.0\."),
    Case("`filters` that is not a positive integer", "keras_lcw.LCWConv2D(-1, 3)", ValueError,
         r"`filters` must be a positive integer; received filters=-1\."),
    Case("`filters` given as a string", "keras_lcw.WeightNormConv1D('8', 3)", ValueError,
         r"`filters` must be a positive integer; received filters='8'\."),
    Case("`axis` given as a bool", "keras_lcw.LinkedReLU(axis=True)", ValueError,
         r"`axis` must be an integer; received axis=True\."),
    Case("`axis` given as a list where one axis is expected", "keras_lcw.InputMeanNormalization(axis=[1])", ValueError,
         r"`axis` must be an integer; received axis=\[1\]\."),
    Case("ANAct `axis` with a repeated entry", "keras_lcw.ANAct(axis=[1, 1])", ValueError,
         r"`axis` must be None, an integer or a non-empty list of distinct integers; received axis=\[1, 1\]\."),
    Case("`axis` outside the input's rank", "keras_lcw.ANAct(axis=3, name='act')(np.zeros((2, 4), 'float32'))", ValueError,
         r"ANAct 'act': every entry of `axis` must be a non-batch axis of the input"),
    Case("`axis` naming the batch axis", "keras_lcw.InputMeanNormalization(axis=0, name='mean')(np.zeros((2, 4), 'float32'))", ValueError,
         r"InputMeanNormalization 'mean': every entry of `axis` must be a non-batch axis"),
    Case("`momentum` of 1 (the average would never move)", "keras_lcw.ANAct(momentum=1.0)", ValueError,
         r"`momentum` must be a number in \[0, 1\); received momentum=1\.0\."),
    Case("`momentum` given as a string", "keras_lcw.InputMeanNormalization(momentum='0.9')", ValueError,
         r"`momentum` must be a number in \[0, 1\); received momentum='0\.9'\."),
    Case("`epsilon` of 0", "keras_lcw.ANAct(epsilon=0)", ValueError,
         r"`epsilon` must be a finite number greater than 0, from 1\.175e-38 to 3\.403e\+38 \(float32's normal range\); received epsilon=0\."),
    Case("`epsilon` that is infinite", "keras_lcw.ANAct(epsilon=float('inf'))", ValueError,
         r"`epsilon` must be a finite number greater than 0, from 1\.175e-38 to 3\.403e\+38 \(float32's normal range\); received epsilon=inf\."),
    Case("an activation that is not elementwise", "keras_lcw.ANAct('softmax')", ValueError,
         r"`activation` must act elementwise; received activation='softmax'"),
    Case("an unknown activation name", "keras_lcw.Linked('relux')", ValueError,
         r"relux"),
    Case("`shared_axes` given as a string", "keras_lcw.LinkedPReLU(shared_axes='1')", ValueError,
         r"`shared_axes` must be None, an integer or a non-empty list of distinct integers; received shared_axes='1'\."),
    Case("`adaptive` given as 0 or 1", "keras_lcw.ANAct(adaptive=1)", ValueError,
         r"`adaptive` must be True or False; received adaptive=1\."),
    Case("ANAct `combination` that is not a known rule", "keras_lcw.ANAct(combination='harmonic')", ValueError,
         r"`combination` must be one of 'geometric', 'arithmetic'; received combination='harmonic'\."),
    Case("ANAct `forward_statistic` that is not a known statistic", "keras_lcw.ANAct(forward_statistic='std')", ValueError,
         r"`forward_statistic` must be one of 'second_moment', 'variance'; received forward_statistic='std'\."),
    Case("ANAct `gain_range` that is negative", "keras_lcw.ANAct(gain_range=-0.3)", ValueError,
         r"`gain_range` must be a finite number greater than or equal to 0, at most 3\.403e\+38 \(float32's largest\); received gain_range=-0\.3\."),
    Case("ANAct `max_scale` below 1 (it would shrink the initial factor)", "keras_lcw.ANAct(max_scale=0.5)", ValueError,
         r"`max_scale` must be None or a finite number of at least 1; received max_scale=0\.5\."),
    Case("ANAct `center` or `statistics_gradient` given as 0 or 1", "keras_lcw.ANAct(statistics_gradient=1)", ValueError,
         r"`statistics_gradient` must be True or False; received statistics_gradient=1\."),
    Case("an unknown ANAct preset", "keras_lcw.ANAct.from_preset('paper')", ValueError,
         r"`preset` must be one of 'keras_lcw', 'published', 'geometric', 'static'; received preset='paper'\."),
    Case("`data_init` given as a string", "keras_lcw.WeightNormDense(4, data_init='yes')", ValueError,
         r"`data_init` must be True or False; received data_init='yes'\."),
    Case("a kernel constraint on a reparameterized layer", "keras_lcw.LCWDense(4, kernel_constraint='non_neg')", ValueError,
         r"kernel_constraint"),
    Case("LoRA on a reparameterized layer (`lora_rank`)", "keras_lcw.GmPDense(4, lora_rank=2)", ValueError,
         r"lora_rank"),
    Case("LoRA enabled on a built reparameterized layer", """
         layer = keras_lcw.LCWDense(4, name='lcw')
         layer.build((None, 3))
         layer.enable_lora(2)
         """, ValueError,
         r"LCWDense 'lcw' does not support LoRA: its kernel is computed\. Call keras_lcw\.bake\(model\) first"),
    Case("a bias constraint on a GmP layer", "keras_lcw.GmPDense(4, bias_constraint='non_neg')", ValueError,
         r"bias_constraint"),
    Case("a bias constraint with data-dependent initialization", "keras_lcw.WeightNormDense(4, data_init=True, bias_constraint='non_neg')", ValueError,
         r"WeightNormDense does not accept `bias_constraint` with data_init=True"),
    Case("an unknown parameterization name", "keras_lcw.layers.ReparameterizedDense(4, parameterization='lcw2')", ValueError,
         r"lcw2"),
    Case("an LCW layer with fan-in 1 (its kernel could only be 0)", "keras_lcw.LCWDense(4, name='lcw')(np.zeros((2, 1), 'float32'))", ValueError,
         r"LCWDense 'lcw' cannot have the kernel shape \(1, 4\), because it needs a fan-in of at least 2"),
    Case("LCWConstraint on a kernel with fan-in 1", "keras_lcw.LCWConstraint()(np.ones((1, 3), 'float32'))", ValueError,
         r"LCWConstraint needs a fan-in of at least 2: over the fan-in axes \(0,\) the kernel of shape \(1, 3\) has one input per unit"),
    Case("an input whose last axis does not match the built layer", """
         layer = keras_lcw.LCWDense(4, name='lcw')
         layer(np.zeros((2, 3), 'float32'))
         layer(np.zeros((2, 5), 'float32'))
         """, ValueError,
         r"Input 0 .*of layer 'lcw' is incompatible with the layer: expected axis -1 of input shape to have value 3"),
    Case("an input of the wrong rank for a convolution", "keras_lcw.GmPConv2D(4, 3, name='conv')(np.zeros((2, 8, 3), 'float32'))", ValueError,
         r"Input 0 .*of layer 'conv' is incompatible with the layer: expected min_ndim=4, found ndim=3"),
    Case("bake of a GmP layer with a non-homogeneous activation", """
         model = keras.Sequential([keras.Input((3,)), keras_lcw.GmPDense(4, activation='tanh', name='gmp')])
         keras_lcw.bake(model)
         """, ValueError,
         r"GmPDense 'gmp' cannot be baked into a plain Dense, because"),
    Case("convert of a subclassed model", """
         class Custom(keras.Model):
             def call(self, x):
                 return x
         keras_lcw.convert(Custom())
         """, ValueError,
         r"subclassed"),
    Case("bake of an unbuilt model", "keras_lcw.bake(keras.Sequential([keras_lcw.LCWDense(2)], name='model'))", ValueError,
         r"Model 'model' must be built before bake\(\)\."),
    Case("tuning with a string where a sequence of names is expected", """
         import keras_tuner
         keras_lcw.tuning.dense(keras_tuner.HyperParameters(), 8, parameterizations='lcw')
         """, ValueError,
         r"`parameterizations` must be a sequence of names, such as \('lcw',\); received the string parameterizations='lcw'\."),
    Case("get_dense with an unknown name", "keras_lcw.layers.get_dense('lcw_dense', 4)", ValueError,
         r"Unknown parameterization 'lcw_dense'; allowed: "),
    Case("get_conv with a bool or float rank", "keras_lcw.layers.get_conv('lcw', 2.0, 8, 3)", ValueError,
         r"`rank` must be 1, 2 or 3; received rank=2\.0\."),
    Case("`use_bias` that is not a bool", "keras_lcw.LCWDense(4, use_bias='no')", ValueError,
         r"`use_bias` must be True or False; received use_bias='no'\."),
    Case("an ANAct epsilon that float32 rounds to 0", "keras_lcw.ANAct(epsilon=1e-46)", ValueError,
         r"`epsilon` must be a finite number greater than 0, from 1\.175e-38 to 3\.403e\+38 \(float32's normal range\); received epsilon=1e-46\."),
    Case("a list where an activation normalization name is expected", "keras_lcw.activations.get_layer(['anact'], 'relu')", ValueError,
         r"Unknown activation normalization \['anact'\]; allowed: "),
    Case("convert with a `layers` pattern that is not a regular expression", """
         model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
         keras_lcw.convert(model, layers='(')
         """, ValueError,
         r"`layers` is not a valid regular expression \(missing \), unterminated subpattern at position 0\); received layers='\('\."),
    Case("a GradientProbe batch size that is not a positive integer", "keras_lcw.diagnostics.GradientProbe(32.0)", ValueError,
         r"`batch_size` must be a positive integer; received batch_size=32\.0\."),
]
