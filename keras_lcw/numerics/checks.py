"""Argument checks and static shapes shared by the numerics modules."""

import keras


def static_length(tensor, axis=0):
    """`tensor.shape[axis]` as a Python int, or None where it is dynamic.

    The numerics branch on lengths that are fixed when a layer is built (a
    kernel's fan-in, the feature axis of its input). The torch tracer behind
    `torch.onnx` export returns every size as a traced tensor, whose use as a
    Python number raises a `TracerWarning` and is recorded as a constant all
    the same; there the size is read with the tracer paused.
    """
    length = tensor.shape[axis]
    if length is None or isinstance(length, int):
        return length
    if keras.backend.backend() == "torch":
        import torch

        state = torch._C._get_tracing_state()
        if state is not None:
            torch._C._set_tracing_state(None)
            try:
                return int(tensor.shape[axis])
            finally:
                torch._C._set_tracing_state(state)
    return int(length)


def check_axis_length(name, length, minimum, axis=0):
    """Raises a ValueError unless `axis` is static and at least `minimum`."""
    if length is None:
        raise ValueError(
            f"`{name}` needs a known length along axis {axis}; received a "
            "dynamic dimension."
        )
    if length < minimum:
        raise ValueError(
            f"`{name}` needs at least {minimum} entries along axis {axis}; "
            f"received {length}."
        )
