"""Arguments as the package takes them."""


import operator
import os


def shape(value, what):
    """A shape given as a sequence of ints (anything ``operator.index`` takes), as a list;
    ``ValueError`` naming ``what`` for a negative dimension."""
    dims = [operator.index(d) for d in value]
    if any(d < 0 for d in dims):
        raise ValueError(f"{what} {tuple(dims)} has a negative dimension")
    return dims


def non_negative(value, what):
    """``value`` (an int, or None), refused with ``ValueError`` naming ``what`` if negative."""
    if value is not None and operator.index(value) < 0:
        raise ValueError(f"{what} must not be negative, not {value}")
    return value


def paths(value):
    """A list of paths given as an iterable of them, or as one path (``str``, ``bytes`` or
    ``os.PathLike``)."""
    if isinstance(value, (str, bytes, os.PathLike)):
        return [value]
    return list(value)


def names(value):
    """A list of names given as an iterable of them, or as one name: a ``str`` is one name,
    never its characters (``ignore="weights"`` ignores ``weights``, not ``w``)."""
    if isinstance(value, str):
        return [value]
    return list(value)
