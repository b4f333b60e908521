"""Type stubs of the package array_files (its submodules are imported on their own:
``import array_files.npy``)."""

__version__: str

__all__ = ["__version__"]
