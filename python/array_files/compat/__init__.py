"""Drop-in modules for the libraries array_files replaces: change one import, keep the script.

- :mod:`array_files.compat.npy_append_array`: ``from npy_append_array import NpyAppendArray``
  becomes ``from array_files.compat.npy_append_array import NpyAppendArray``.
- :mod:`array_files.compat.file_packer`: FilePacker's ``FilePackReader`` (reading its own
  ``.fpack`` files too), ``pack_directory_contents`` and its command line.
- :mod:`array_files.compat.numpy_writer`: pyctbgui's ``NumpyFileManager`` and
  ``NpzFileWriter``.
- :mod:`array_files.compat.varpack`: Varpack's ``Varpack`` (variables as attributes, saved to
  a folder, arrays memory-mapped on load) and ``mmap_var_to_memory``.
"""
