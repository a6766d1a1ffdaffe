"""One place that turns user-given numbers into floats or a clear InputError."""
import math

from .errors import InputError


def number(name, value, positive=False, nonneg=False):
    """float(value), finite, optionally > 0 or >= 0; otherwise InputError naming ``name``."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(v):
        raise InputError(f"{name} must be finite, got {value!r}")
    if positive and v <= 0:
        raise InputError(f"{name} must be > 0, got {value!r}")
    if nonneg and v < 0:
        raise InputError(f"{name} must be >= 0, got {value!r}")
    return v
