"""The closing protocol every writer and reader of the package shares."""


class Closing:
    """``with obj:`` closes ``obj`` at the end of the block, and so does garbage collection
    (quietly: a destructor must not raise; call ``close()`` to see its errors)."""

    def close(self):  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __del__(self):
        try:
            self.close()
        except Exception:  # noqa: BLE001 - a destructor must not raise
            pass


class Closed:
    """What a closed reader holds in place of its native core: any use of it raises
    ``ValueError``, as any use of a closed Python file does, naming what was closed."""

    def __init__(self, what, path):
        self.path = path
        self._message = f"I/O operation on closed {what} {path!r}"

    def __getattr__(self, name):
        if name.startswith("_"):  # copy, pickle and hasattr probes: not a use
            raise AttributeError(name)
        raise ValueError(self._message)
