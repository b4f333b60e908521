"""array_files: numpy's array files from Rust, with numpy arrays that view the maps.

Modules:

- :mod:`array_files.npy`: ``load`` (memory-mapped, zero-copy), ``info``, ``Appender``
  (grow a ``.npy`` frame by frame), ``recover``.
- :mod:`array_files.npz`: ``open`` an ``.npz`` (members mapped or decoded, random access to
  frames of compressed members), ``Writer`` (add arrays, stream members).
- :mod:`array_files.filepack`: ``pack`` a directory tree into one file, ``Pack`` to read it.
- :mod:`array_files.varpack`: ``save`` and ``load`` named sets of variables.
- :mod:`array_files.compat`: drop-in modules for the libraries this package replaces.
"""

from array_files._native import __version__

__all__ = ["__version__"]
