"""Argument checks shared by the numerics modules."""


def check_axis0_length(name, length, minimum):
    """Raises a ValueError unless axis 0 is static and at least `minimum`."""
    if length is None:
        raise ValueError(
            f"`{name}` needs a known length along axis 0; received a dynamic "
            "dimension."
        )
    if length < minimum:
        raise ValueError(
            f"`{name}` needs at least {minimum} entries along axis 0; "
            f"received {length}."
        )
