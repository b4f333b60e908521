"""Type stubs of array_files.compat: drop-in modules for the libraries array_files replaces
(each imported on its own)."""
