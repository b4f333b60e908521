"""array_files.compat.file_packer: FilePacker's reader, packer and command line, on packs made
here and on packs in FilePacker's own format (built from its documented layout)."""

import io
import json
import os
import struct

import numpy as np
import pytest

from array_files.compat import file_packer as compat


def seed_pack(path, files, base_path="/data/set"):
    """A pack as FilePacker writes it: version u8, count u64, base path padded to 256, names
    padded to 128 characters each, sizes u64, then the data in order."""
    names = list(files)
    out = struct.pack("<BQ", 1, len(names))
    out += base_path.ljust(256).encode()[:256]
    out += "".join(n.ljust(128) for n in names).encode()
    out += b"".join(struct.pack("<Q", len(files[n])) for n in names)
    out += b"".join(files[n] for n in names)
    path.write_bytes(out)


@pytest.fixture
def tree(tmp):
    src = tmp / "src"
    (src / "imgs" / "cats").mkdir(parents=True)
    (src / ".hidden" / "inner").mkdir(parents=True)
    for i in range(3):
        (src / "imgs" / "cats" / f"{i}.jpg").write_bytes(bytes([i]) * 10)
        (src / "imgs" / f"{i}.png").write_bytes(b"png" * i)
    (src / "notes.txt").write_text("hello\nworld\n")
    (src / ".hidden" / "inner" / "c.txt").write_text("secret")
    np.save(src / "w.npy", np.arange(4))
    return src


def test_reads_packs_made_by_filepacker_itself(tmp):
    files = {"a.txt": b"hi", "s/b": b"abc", "s/t/c.json": json.dumps({"k": 1}).encode()}
    seed_pack(tmp / "old.fpack", files)
    reader = compat.FilePackReader(tmp / "old.fpack")
    assert reader.base_path == "/data/set" and len(reader) == 3
    # As in the seed, query paths start with the stored base path ...
    assert reader.read_bytes("/data/set/s/b") == b"abc"
    # ... unless told otherwise.
    assert reader.open("s/t/c.json", "r", exclude_base_path=True).read() == '{"k": 1}'
    assert reader.listdir("s", exclude_base_dir=True) == ["b", "t"]
    assert reader.exists("/data/set/s/t") and reader.isdir("/data/set/s")
    assert not reader.isfile("/data/set/missing") and not reader.exists("elsewhere/x")
    walked = list(reader.walk(exclude_base_path=True, sort_entries=True))
    assert walked == [("", ["s"], ["a.txt"]), ("s", ["t"], ["b"]), ("s/t", [], ["c.json"])]
    # With the base path, the root is the base path itself, as the seed walks.
    assert [d for d, _, _ in reader.walk(sort_entries=True)] == [
        "/data/set", "/data/set/s", "/data/set/s/t"
    ]
    buf = io.StringIO()
    reader.print_directory_structure(file=buf)
    assert buf.getvalue().splitlines()[:2] == ["-/data/set:", "   - a.txt"]
    # The seed's handles are BytesIO and StringIO: getvalue() works on both.
    assert reader.open("s/b", "rb", exclude_base_path=True).getvalue() == b"abc"
    text = reader.open("s/t/c.json", "r", exclude_base_path=True)
    assert text.getvalue() == '{"k": 1}' and text.read() == '{"k": 1}'
    with pytest.raises(FileNotFoundError):
        reader.read_bytes("nope", exclude_base_path=True)


def test_refuses_files_that_are_no_pack(tmp):
    (tmp / "junk.fpack").write_bytes(struct.pack("<BQ", 1, 1 << 40) + b"x" * 300)
    with pytest.raises(ValueError):
        compat.FilePackReader(tmp / "junk.fpack")


def test_packing_and_reading_with_the_seeds_api(tree, tmp):
    out = tmp / "new.fpack"
    summary = compat.pack_directory_contents(str(tree), str(out), permitted_exts=("jpg", "txt"))
    assert summary["files"] == 4  # 3 jpg + notes.txt; hidden skipped (in hidden dirs too)
    reader = compat.FilePackReader(str(out))
    assert sorted(reader.listdir("")) == ["imgs", "notes.txt"]
    assert reader.open("imgs/cats/2.jpg").read() == b"\x02" * 10
    assert reader.open("notes.txt", mode="r").readlines() == ["hello\n", "world\n"]
    assert [d for d, _, _ in reader.walk("imgs")] == ["imgs", "imgs/cats"]
    assert reader.isfile("notes.txt") and not reader.exists(".hidden")
    buf = io.StringIO()
    reader.print_directory_structure(file=buf)
    assert buf.getvalue().splitlines() == [
        "- imgs: (1)", "   - cats: (3)", "      - 0.jpg", "      - 1.jpg", "      - 2.jpg",
        "- notes.txt",
    ]
    with pytest.raises(ValueError, match="not both"):
        compat.pack_directory_contents(str(tree), str(out), ("a",), ("b",))


def test_the_seeds_command_line(tree, tmp, capsys):
    out = str(tmp / "cli.fpack")
    assert compat.main(["-i", str(tree), "-o", out, "--permitted-exts", "png", "npy", "-v"]) == 0
    reader = compat.FilePackReader(out)
    assert sorted(f for _, _, fs in reader.walk() for f in fs) == ["0.png", "1.png", "2.png", "w.npy"]
    np.testing.assert_array_equal(np.load(reader.open("w.npy")), np.arange(4))
    with pytest.raises(SystemExit):
        compat.main(["-i", str(tree), "-o", out])  # exists, no -f
    assert compat.main(["-i", str(tree), "-o", out, "-f", "--include-hidden",
                        "--excluded-exts", "jpg,png"]) == 0
    reader = compat.FilePackReader(out)
    assert reader.isfile(".hidden/inner/c.txt") and not reader.exists("imgs/0.png")
    with pytest.raises(SystemExit):
        compat.main(["-i", str(tree), "-o", out, "-f", "--permitted-exts", "a",
                     "--excluded-exts", "b"])
    capsys.readouterr()
    assert compat.main(["-i", out, "--directories-only"]) == 0
    # Directories the filters emptied are kept (the seed stores no directories at all).
    assert capsys.readouterr().out.splitlines() == [
        "- .hidden: (1)", "   - inner: (1)", "- imgs: (1)", "   - cats: (0)",
    ]


def test_ignore_links(tree, tmp):
    os.symlink(tree / "imgs", tree / "link")
    compat.main(["-i", str(tree), "-o", str(tmp / "a.fpack")])
    followed = compat.FilePackReader(tmp / "a.fpack")
    assert followed.isdir("link") and followed.isfile("link/cats/1.jpg")
    compat.main(["-i", str(tree), "-o", str(tmp / "b.fpack"), "--ignore-links"])
    kept = compat.FilePackReader(tmp / "b.fpack")
    assert "link" in kept.listdir("")  # stored as the link itself, not followed
    assert not kept.isdir("link") and not kept.exists("link/cats/1.jpg")
