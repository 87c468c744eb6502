"""Argument checks shared by the numerics modules."""


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
