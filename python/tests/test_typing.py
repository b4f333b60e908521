"""The type stubs (array_files/*.pyi): they match the runtime (mypy's stubtest), a user's script
over every module passes ``mypy --strict``, and wrong calls are reported.

Both run mypy in a subprocess, from a temporary directory so that the installed package (what
``pip install ./python`` put in site-packages, extension included) is the one checked."""

import importlib.util
import pathlib
import re
import subprocess
import sys
import textwrap

import pytest

HERE = pathlib.Path(__file__).resolve().parent
ALLOWLIST = HERE.parent / "stubtest-allowlist.txt"
USER_SCRIPT = HERE / "typing_user_script.py"

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("mypy") is None,
    reason="mypy is not installed (xtask/python/requirements.txt pins it)",
)


def _mypy(args, cwd):
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=cwd, capture_output=True, text=True, timeout=600
    )


def test_stubs_match_the_runtime(tmp_path):
    run = _mypy(["mypy.stubtest", "array_files", "--allowlist", str(ALLOWLIST)], tmp_path)
    assert run.returncode == 0, f"stubtest:\n{run.stdout}\n{run.stderr}"


# Each line ending in "# E" is a mistake the stubs must catch.
WRONG = '''
import numpy as np
import array_files.filepack as fp
import array_files.npy as npy
import array_files.npz as npz
import array_files.varpack as varpack
from array_files.compat.numpy_writer import NumpyFileManager
from array_files.compat.varpack import Varpack

npy.load(3)  # E
npy.load("a.npy", mmap_mode="w")  # E
fp.Pack("a.fpack").read(1)  # E
data: bytes = fp.Pack("a.fpack").read("x")  # E
fp.pack("src", "out.fpack", no_such_option=True)  # E
frames: str = npz.Writer("a.npz").member("adc", np.int16, (4,)).append(np.zeros(4))  # E
npz.open("a.npz").frames(1)  # E
npz.Writer("a.npz", mode="r")  # E
count: str = len(npz.open("a.npz"))  # E
varpack.load("run", mmap_mode="w")  # E
varpack.Varpack()[1]  # E
NumpyFileManager("f.npy", mode="q")  # E
Varpack("folder", numpy_mmap_mode="w")  # E
'''


def test_user_script_passes_strict_and_mistakes_are_reported(tmp_path):
    # A cache of this test's own: the second run reuses the first's (numpy's stubs).
    cache = ["--cache-dir", str(tmp_path / "mypy-cache")]
    run = _mypy(["mypy", "--strict", *cache, str(USER_SCRIPT)], tmp_path)
    assert run.returncode == 0, f"mypy --strict {USER_SCRIPT.name}:\n{run.stdout}\n{run.stderr}"

    wrong = tmp_path / "wrong.py"
    wrong.write_text(textwrap.dedent(WRONG))
    run = _mypy(["mypy", "--strict", *cache, str(wrong)], tmp_path)
    assert run.returncode == 1, f"mypy on {wrong}:\n{run.stdout}\n{run.stderr}"
    expected = {n for n, line in enumerate(WRONG.splitlines(), 1) if line.endswith("# E")}
    reported = {int(m) for m in re.findall(r"^wrong\.py:(\d+): error:", run.stdout, re.M)}
    assert reported == expected, (
        f"errors expected on lines {sorted(expected)}, reported on {sorted(reported)}:\n"
        f"{run.stdout}"
    )
