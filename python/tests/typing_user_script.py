"""A user's script over every public module of array_files, for the type checker: it must pass
``mypy --strict`` with the package's stubs (python/tests/test_typing.py checks it). The
``assert_type`` calls pin what the stubs say each call returns.

It is also a working script (``python typing_user_script.py DIR`` writes its files in DIR),
never collected by pytest (its name is not ``test_*``).
"""

from __future__ import annotations

import io
import json
import os
import pathlib
import sys
from typing import Any, Optional, Union

import numpy as np
import numpy.typing as npt
from typing_extensions import assert_type

import array_files
import array_files.filepack as fp
import array_files.npy as npy
import array_files.npz as npz
import array_files.varpack as varpack
from array_files.compat.file_packer import FilePackReader, pack_directory_contents
from array_files.compat.npy_append_array import (
    NpyAppendArray,
    ensure_appendable,
    is_appendable,
    needs_recovery,
)
from array_files.compat.npy_append_array import recover as naa_recover
from array_files.compat.numpy_writer import NpzFileWriter, NumpyFileManager
from array_files.compat.varpack import Varpack as SeedVarpack
from array_files.compat.varpack import mmap_var_to_memory


def use_npy(work: pathlib.Path) -> None:
    path = work / "frames.npy"
    with npy.Appender(path, np.uint16, (2, 2), mode="w") as out:
        assert_type(out, npy.Appender)
        n: int = out.append(np.zeros((3, 2, 2), np.uint16))
        out.append([[1, 2], [3, 4]])
        out.flush()
        out.sync()
        shape: Optional[tuple[int, ...]] = out.shape
        dtype: Optional[np.dtype[Any]] = out.dtype
        print(n, shape, dtype, len(out), out.closed, out.path)
    later = npy.Appender(str(path), buffer_size=1 << 20, wait=True)
    later.append(np.ones((2, 2), np.uint16))
    later.close()

    mapped = npy.load(path, mmap_mode="r")
    assert_type(mapped, npt.NDArray[Any])
    whole = npy.load(os.fsencode(path))  # bytes paths, as np.load takes them
    last = npy.read_frames(path, -2)
    middle = npy.read_frames(path, start=1, stop=3)
    print(mapped.shape, whole.sum(), last.shape, middle.shape)
    about = npy.info(path)
    assert_type(about, dict[str, Any])
    report = npy.recover(path, zero_fill=True, dry_run=True)
    print(about["shape"], report)


def use_npz(work: pathlib.Path) -> None:
    path = work / "run.npz"
    with npz.Writer(path) as out:
        out.add("x", np.arange(10))
        out.add("list", [1.0, 2.0])
        member = out.member("adc", np.int16, (4,))
        assert_type(member, npz.MemberWriter)
        with member as adc:
            for _ in range(5):
                count: int = adc.append(np.zeros((1, 4), np.int16))
            adc.flush()
            print(count, adc.frames, adc.key, adc.dtype, adc.frame_shape, adc.fortran_order)
        shape = member.close()
        assert_type(shape, Optional[tuple[int, ...]])
    with npz.Writer(path, "a", compress=True, level=9) as more:
        more.add("y", np.ones(3))
    doomed = npz.Writer(work / "doomed.npz", mode="x")
    doomed.abort()

    z = npz.open(path)
    assert_type(z, npz.NpzFile)
    x = z["x"]
    assert_type(x, npt.NDArray[Any])
    frames = z.frames("adc", -2)
    print(x[-1], frames.shape, z.frames("adc", 0, None).shape, z.path, z.files)
    for key, array in z.items():
        print(key, array.dtype)
    print(len(z), "x.npy" in z, list(z), z.info()[0]["name"])
    z.close()
    assert z.closed

    with npz.NpzFile(str(path)) as again:
        print(sorted(again.keys()))
    indexed: dict[str, tuple[int, int, Optional[str]]] = npz.index(path, ["adc"], span=1 << 16)
    print(indexed)
    npz.savez(work / "plain.npz", np.arange(3), b=np.zeros(2))
    npz.savez_compressed(work / "small.npz", a=[1, 2, 3])


def use_filepack(work: pathlib.Path) -> None:
    src = work / "tree"
    (src / "sub").mkdir(parents=True, exist_ok=True)
    (src / "sub" / "a.json").write_text(json.dumps({"k": 1}))
    (src / "b.bin").write_bytes(b"\x00\x01")
    summary = fp.pack(src, work / "tree.fpack", skip_hidden=True, include_glob="*", threads=2)
    assert_type(summary, dict[str, int])
    print(summary["files"])

    with fp.Pack(work / "tree.fpack", verify=True) as pack:
        data = pack.read("b.bin")
        assert_type(data, Union[memoryview, bytes])
        batch = pack.read_many(["b.bin", pathlib.PurePosixPath("sub/a.json")])
        assert_type(batch, list[Union[memoryview, bytes]])
        raw: bytes = pack.read_bytes("b.bin")
        text: str = pack.read_text("sub/a.json")
        with pack.open("sub/a.json", "r") as f:
            assert_type(f, io.TextIOWrapper)
            print(json.load(f))
        with pack.open("b.bin") as binary:
            assert_type(binary, fp.PackedFile)
            head: bytes = binary.read(1)
            binary.seek(0, io.SEEK_END)
            print(head, binary.tell(), binary.getbuffer().nbytes, binary.name)
        print(len(data), len(batch), raw, text, pack.listdir(), pack.listdir("sub"))
        for dirpath, dirnames, filenames in pack.walk():
            print(dirpath, dirnames, filenames)
        st = pack.stat("b.bin", follow_symlinks=False)
        print(st.st_size, pack.exists("sub"), pack.isfile("b.bin"), pack.isdir("sub"))
        print(pack.verify(), pack.files(), len(pack), "b.bin" in pack, list(pack), pack.path)
    print(pack.closed)


def use_varpack(work: pathlib.Path) -> None:
    path = work / "run1"
    varpack.save(path, {"x": np.arange(10), "cams": {"left": np.zeros((2, 3))},
                        "settings": {"fast": True}})
    vp = varpack.load(path)
    assert_type(vp, varpack.Varpack)
    print(vp["x"][-1], vp["settings"]["fast"], len(vp), list(vp), vp.path)
    vp["y"] = np.ones(3)
    del vp["y"]
    vp.save()
    vp.save_as(work / "run2.npz")
    copy = varpack.load(str(work / "run2.npz"), ignore=["cams"], mmap_mode=None).detach()
    assert_type(copy, varpack.Varpack)
    fresh = varpack.Varpack({"a": 1}, path=work / "run3")
    fresh.save()


def use_compat(work: pathlib.Path) -> None:
    # npy_append_array
    filename = work / "naa.npy"
    with NpyAppendArray(filename, delete_if_exists=True) as naa:
        naa.append(np.zeros((2, 3)))
        naa.append(np.ones((1, 3)))
        naa.update_header()
        print(naa.shape, naa.dtype, naa.fortran_order, naa.filename)
    print(is_appendable(filename), needs_recovery(filename), ensure_appendable(filename),
          naa_recover(filename, zerofill_incomplete=True))

    # numpy_writer
    npw = NumpyFileManager(str(work / "frames.npy"), "w", frameShape=(2,), dtype=np.int32,
                           bufferMax=10)
    npw.addFrame(np.zeros(2, np.int32))
    npw.writeOneFrame(np.ones(2, np.int32))
    npw.flushBuffer(strict=True)
    npw.flush()
    npw.updateHeader()
    some = npw[0:2]
    assert_type(some, npt.NDArray[Any])
    print(npw.frameCount, len(npw), npw.readFrames(0, 1), npw[-1], npw.read(1), some.shape)
    npw.seek(0)
    npw.close()
    with NumpyFileManager(work / "frames.npy") as reader:
        print(reader.frameShape, reader.dtype, reader.cursorPosition)
    with NpzFileWriter(work / "nw.npz", "w", compress_file=True) as nw:
        nw.writeArray("adc", np.zeros((4, 2)))
    with NpzFileWriter(work / "nw.npz", "r") as nr:
        member = nr["adc"]
        print(nr.namelist(), nr.readFrames("adc", 1, 3).shape, member.frameCount, member[1:])
    NpzFileWriter.zipNpyFiles(work / "zipped.npz", [work / "frames.npy"], ["frames"],
                              deleteOriginals=False, compressed=True)

    # file_packer
    summary = pack_directory_contents(work / "tree", work / "tree2.fpack", permitted_exts=["json"])
    reader2 = FilePackReader(work / "tree2.fpack")
    data: bytes = reader2.read_bytes("sub/a.json")
    with reader2.open("sub/a.json", "r") as f:
        assert_type(f, io.StringIO)
        print(json.load(f), data, summary)
    with reader2.open("sub/a.json") as binary:
        assert_type(binary, fp.PackedFile)
        copied: bytes = binary.getvalue()
        print(copied)
    for dirpath, dirnames, filenames in reader2.walk(sort_entries=True):
        print(dirpath, dirnames, filenames)
    print(reader2.listdir(), reader2.exists("sub"), reader2.isfile("sub/a.json"),
          reader2.isdir("sub"), len(reader2), reader2.base_path)
    reader2.print_directory_structure(directories_only=True, file=sys.stdout)

    # varpack
    seed = SeedVarpack()
    seed.x = np.arange(4)
    seed.settings = {"fast": True}
    seed.set_attached_folder(work / "seed")
    saved = seed.save(sep_vars=["settings"])
    assert_type(saved, SeedVarpack)
    seed.save_then_copy(work / "seed-copy", min_dict_numpy_size=10)
    loaded = SeedVarpack(work / "seed", numpy_mmap_mode="r", skip_loading=["settings"])
    reloaded = SeedVarpack().load(work / "seed", numpy_mmap_mode="c", stop_on_error=False)
    if reloaded is not None:
        print(reloaded.x)
    x_in_memory = mmap_var_to_memory(loaded.x)
    print(loaded.get_attached_folder(), loaded.detach(), x_in_memory)


def main(work: pathlib.Path) -> None:
    print(array_files.__version__)
    use_npy(work)
    use_npz(work)
    use_filepack(work)
    use_varpack(work)
    use_compat(work)


if __name__ == "__main__":
    main(pathlib.Path(sys.argv[1]))
