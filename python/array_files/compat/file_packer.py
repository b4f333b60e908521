"""A drop-in for FilePacker (``from file_packer import FilePackReader``): change the import,
keep the data loader. Reads this project's packs and the ``.fpack`` files FilePacker itself
wrote, and packs directories with FilePacker's options and command-line flags.

    python -m array_files.compat.file_packer -i DIR -o OUT.fpack [-f] [--include-hidden]
        [--ignore-links] [--permitted-exts jpg png | --excluded-exts txt] [-v]
    python -m array_files.compat.file_packer -i OUT.fpack [--directories-only]

Differences, each on purpose:

- Reads are zero-copy views of a map, not a copy into ``BytesIO``; no lock serializes them
  (the seed holds one global lock for every read of every reader, forked workers included).
- ``isfile``/``isdir`` return False for a missing path (the seed raises ``IOError``), and a
  path through a file is simply missing (the seed raises ``AttributeError``).
- ``walk`` also takes a start directory (``walk("some/dir")``, as the seed's README shows).
- Packs made here keep empty directories, symlinks, modes and mtimes and have checksums; the
  seed's ``base_path`` is not stored, so query paths are relative unless a ``base_path`` is
  given to the reader, which then works as the seed's prefix.
- Packing sorts entries (the seed keeps file-system order), skips hidden files in hidden
  directories too, and does not eat a character of every name when ``top_dir`` ends in ``/``.
"""

import argparse
import io
import mmap
import os
import struct
import sys

from array_files import filepack as _fp
from array_files._args import names as _names

__all__ = ["FilePackReader", "pack_directory_contents", "main"]

_MAGIC = b"\x89FPACK\r\n"


def pack_directory_contents(top_dir, pack_file, permitted_exts=(), excluded_exts=(),
                            skip_hidden=True, follow_links=True, verbose=False, force=True):
    """Packs the files under ``top_dir`` into ``pack_file`` (FilePacker's signature).
    ``permitted_exts`` / ``excluded_exts`` are extensions without the dot; giving both is a
    ValueError, as in the seed."""
    if permitted_exts and excluded_exts:
        raise ValueError("give permitted_exts or excluded_exts, not both")
    options = {"skip_hidden": skip_hidden, "follow_links": follow_links, "replace": force}
    if permitted_exts:
        options["include_ext"] = _names(permitted_exts)
    if excluded_exts:
        options["exclude_ext"] = _names(excluded_exts)
    return _fp.pack(top_dir, pack_file, progress=verbose, **options)


class _LegacyPack:
    """A pack written by FilePacker itself: version u8, count u64, base path (256 bytes), names
    (128 characters each), sizes (u64 each), then the data."""

    def __init__(self, path):
        with open(path, "rb") as f:
            self._map = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        view = memoryview(self._map)
        if len(view) < 9:
            raise ValueError(f"{path}: too short for a FilePacker pack")
        (count,) = struct.unpack_from("<Q", view, 1)
        names_end = 265 + 128 * count
        data_offset = names_end + 8 * count
        if count > len(view) or data_offset > len(view):
            raise ValueError(f"{path}: not a FilePacker pack (it claims {count} files)")
        self.base_path = bytes(view[9:265]).decode("utf-8", "replace").rstrip("\0 ")
        text = bytes(view[265:names_end]).decode("utf-8", "replace")
        names = [text[i:i + 128].rstrip("\0 ") for i in range(0, 128 * count, 128)]
        sizes = struct.unpack_from(f"<{count}Q", view, names_end)
        self.files = {}
        offset = data_offset
        for name, size in zip(names, sizes):
            if offset + size > len(view):
                raise ValueError(f"{path}: {name!r} runs past the end of the file")
            self.files["/".join(p for p in name.split("/") if p)] = (offset, size)
            offset += size
        self.dirs = {"": set()}
        for name in self.files:
            parts = name.split("/")
            for depth in range(len(parts)):
                parent = "/".join(parts[:depth])
                self.dirs.setdefault(parent, set()).add(parts[depth])
                if depth + 1 < len(parts):
                    self.dirs.setdefault("/".join(parts[:depth + 1]), set())
        self._view = view

    def read(self, path):
        if path in self.dirs and path not in self.files:
            raise IsADirectoryError(f"{path!r}: is a directory, not a file")
        try:
            offset, size = self.files[path]
        except KeyError:
            raise FileNotFoundError(f"{path!r}: no such file or directory in the pack") from None
        return self._view[offset:offset + size]

    def listdir(self, path):
        if path not in self.dirs:
            if path in self.files:
                raise NotADirectoryError(f"{path!r}: is a file, not a directory")
            raise FileNotFoundError(f"{path!r}: no such file or directory in the pack")
        return sorted(self.dirs[path])

    def exists(self, path):
        return path in self.files or path in self.dirs

    def isfile(self, path):
        return path in self.files

    def isdir(self, path):
        return path in self.dirs

    def __len__(self):
        return len(self.files)


class FilePackReader:
    """Reads a pack as FilePacker's reader does: ``open``, ``read_bytes``, ``listdir``,
    ``walk``, ``exists``, ``isfile``, ``isdir``, ``print_directory_structure``, ``len()``.

    ``file`` is a pack made here or by FilePacker. ``base_path``, if given, is a prefix every
    query path starts with (stripped before the lookup) unless ``exclude_base_path=True``;
    ``verbose`` and ``multiprocess_lock`` are accepted for compatibility (no lock is needed).
    """

    def __init__(self, file, base_path="", verbose=False, multiprocess_lock=True):
        del verbose, multiprocess_lock
        self.file = os.fsdecode(file)
        with open(self.file, "rb") as f:
            magic = f.read(len(_MAGIC))
        if magic == _MAGIC:
            self._pack, self._legacy = _fp.Pack(self.file), None
            stored_base = ""
        else:
            self._pack, self._legacy = None, _LegacyPack(self.file)
            stored_base = self._legacy.base_path
        self.base_path = base_path or stored_base

    def _rel(self, path, exclude_base_path):
        path = os.fsdecode(path)
        if not exclude_base_path and self.base_path:
            if not path.startswith(self.base_path):
                raise IOError(f"{path!r} does not start with the pack's base path {self.base_path!r}")
            path = path[len(self.base_path):]
        return "/".join(p for p in path.replace(os.sep, "/").split("/") if p)

    def read_bytes(self, filepath, exclude_base_path=False):
        """The contents of ``filepath`` as ``bytes``."""
        return bytes(self._read(self._rel(filepath, exclude_base_path)))

    def _read(self, rel):
        return self._pack.read(rel) if self._pack is not None else self._legacy.read(rel)

    def open(self, filepath, mode="rb", exclude_base_path=False):
        """A file object over ``filepath``: binary for ``"rb"`` (over the map, with the
        ``getvalue()`` of the seed's ``BytesIO``), a ``StringIO`` of the decoded text for
        ``"r"``, as the seed gives."""
        if mode not in ("r", "rb"):
            raise ValueError(f"mode must be 'r' or 'rb', not {mode!r}")
        rel = self._rel(filepath, exclude_base_path)
        data = self._read(rel)
        if mode == "rb":
            return _fp.PackedFile(data, rel)
        return io.StringIO(str(data, "utf-8"))

    def listdir(self, dirpath="", exclude_base_dir=False):
        rel = self._rel(dirpath, exclude_base_dir)
        if self._pack is not None:
            return sorted(self._pack.listdir(rel))
        return self._legacy.listdir(rel)

    def walk(self, top="", exclude_base_path=False, sort_entries=False):
        """``(dirpath, dirnames, filenames)`` for every directory under ``top`` (the whole pack
        by default), top-down. ``walk(True)`` is the seed's ``walk(exclude_base_path=True)``."""
        if isinstance(top, bool):
            top, exclude_base_path = "", top
        rel = self._rel(top, exclude_base_path) if top else ""
        prefix = "" if exclude_base_path else self.base_path
        if self._pack is not None:
            steps = self._pack.walk(rel)
        else:
            steps = self._legacy_walk(rel)
        for dirpath, dirnames, filenames in steps:
            if sort_entries:
                dirnames, filenames = sorted(dirnames), sorted(filenames)
            # The root is the base path itself, as the seed gives it ("ds", not "ds/").
            path = (os.path.join(prefix, dirpath) if dirpath else prefix) if prefix else dirpath
            yield path, dirnames, filenames

    def _legacy_walk(self, top):
        stack = [top]
        while stack:
            d = stack.pop(0)
            names = self._legacy.listdir(d)
            sub = [n for n in names if self._legacy.isdir(f"{d}/{n}" if d else n)]
            files = [n for n in names if n not in sub]
            yield d, sub, files
            stack[0:0] = [f"{d}/{n}" if d else n for n in sub]

    def _ask(self, question, path, exclude_base_path):
        """``exists``/``isfile``/``isdir`` of either kind of pack; False outside the base path."""
        try:
            rel = self._rel(path, exclude_base_path)
        except IOError:
            return False
        return getattr(self._pack if self._pack is not None else self._legacy, question)(rel)

    def exists(self, path, exclude_base_path=False):
        return self._ask("exists", path, exclude_base_path)

    def isfile(self, path, exclude_base_path=False):
        return self._ask("isfile", path, exclude_base_path)

    def isdir(self, path, exclude_base_path=False):
        return self._ask("isdir", path, exclude_base_path)

    def __len__(self):
        return len(self._pack) if self._pack is not None else len(self._legacy)

    def print_directory_structure(self, ignore_base_path=False, directories_only=False,
                                  indentation=3, file=None):
        """Prints the tree as the seed does: ``- dir: (N)`` for directories, ``- name`` for
        files, indented per level."""
        out = file or sys.stdout

        def visit(rel, depth):
            names = self.listdir(rel, exclude_base_dir=True) if rel else self.listdir("", True)
            for name in names:
                child = f"{rel}/{name}" if rel else name
                if self.isdir(child, exclude_base_path=True):
                    count = len(self.listdir(child, exclude_base_dir=True))
                    print(" " * (indentation * depth) + f"- {name}: ({count})", file=out)
                    visit(child, depth + 1)
                elif not directories_only:
                    print(" " * (indentation * depth) + f"- {name}", file=out)

        if not ignore_base_path and self.base_path:
            print(f"-{self.base_path}:", file=out)  # the seed's root line
        visit("", 1 if (not ignore_base_path and self.base_path) else 0)


def _exts(values):
    out = []
    for value in values or ():
        out += [v.strip().lstrip(".") for v in value.split(",") if v.strip()]
    return out


def main(argv=None):
    """FilePacker's ``main.py``: pack with ``-o``, print the tree without."""
    parser = argparse.ArgumentParser(prog="file_packer", description=__doc__.split("\n\n")[0])
    parser.add_argument("-i", "--input", required=True)
    parser.add_argument("-o", "--output-file")
    parser.add_argument("-f", "--force", action="store_true")
    parser.add_argument("--include-hidden", action="store_true")
    parser.add_argument("--ignore-links", action="store_true")
    parser.add_argument("--permitted-exts", nargs="+")
    parser.add_argument("--excluded-exts", nargs="+")
    parser.add_argument("-v", "--verbose", action="store_true")
    parser.add_argument("--directories-only", action="store_true")
    args = parser.parse_args(argv)
    if args.output_file is None:
        FilePackReader(args.input).print_directory_structure(
            ignore_base_path=True, directories_only=args.directories_only
        )
        return 0
    if not os.path.isdir(args.input):
        parser.error(f"{args.input} is not a directory")
    if os.path.exists(args.output_file) and not args.force:
        parser.error(f"{args.output_file} exists; pass -f/--force to replace it")
    permitted, excluded = _exts(args.permitted_exts), _exts(args.excluded_exts)
    if permitted and excluded:
        parser.error("give --permitted-exts or --excluded-exts, not both")
    summary = pack_directory_contents(
        args.input, args.output_file, permitted_exts=permitted, excluded_exts=excluded,
        skip_hidden=not args.include_hidden, follow_links=not args.ignore_links,
        verbose=args.verbose, force=True,
    )
    if args.verbose:
        print(f"\npacked {summary['files']} files ({summary['bytes']} bytes) into {args.output_file}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
