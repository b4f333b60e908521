"""Arguments as the package takes them."""


def names(value):
    """A list of names given as an iterable of them, or as one name: a ``str`` is one name,
    never its characters (``ignore="weights"`` ignores ``weights``, not ``w``)."""
    if isinstance(value, str):
        return [value]
    return list(value)
