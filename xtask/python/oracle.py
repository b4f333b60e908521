"""The numpy oracle: numpy's own answers about NPY files, for the Rust interop tests.

A long-lived process speaking JSON lines: one request per line on stdin, one response per
line on stdout. Every response is {"ok": true, ...} or {"ok": false, "error": "<type>: <msg>"};
a bad request never ends the loop. The loop ends on {"op": "quit"} or at end of input.

Ops:
  exec        {"code": str} -> {"result": ...}
              Runs the code in one persistent globals dict holding np, os, json, io, zipfile
              and dtype_from_descr_text. `result` is reset to None before each exec; whatever
              the code leaves in it is returned, made JSON-able (numpy scalars and arrays
              become Python values and lists, tuples become lists, bytes become lists of ints,
              complex numbers [re, im], non-finite floats the strings "nan", "inf", "-inf").
  save        {"path", "descr", "shape", "fortran_order", "data_path"} -> {}
              np.save of the array whose raw bytes (in the given order) are in data_path.
  check_load  {"path", "descr", "shape", "fortran_order", "data_path"}
              -> {"equal": bool, "reason": str}
              np.load(path) compared with the expected dtype, shape, order and raw bytes.
  header      {"path"} -> {"version": [maj, min], "descr": ..., "shape": [...],
                           "fortran_order": bool, "data_offset": int}
              The header as numpy's own reader parses it.
  quit        {} -> {}

"descr" in requests is the descr's Python literal text as it appears in an NPY header, for
example "'<f8'" or "[('a', '<i4'), ('b', '<f8', (2,))]".

Anything the code prints goes to stderr: stdout carries only the protocol.
"""

import ast
import io
import json
import math
import os
import sys
import traceback
import zipfile

import numpy as np
import numpy.lib.format as npformat

try:  # numpy >= 2.0 keeps the implementation here; the private reader is only here in 2.3+.
    from numpy.lib import _format_impl as _format_impl
except ImportError:  # pragma: no cover - older numpy
    _format_impl = npformat


def dtype_from_descr_text(text):
    """The dtype numpy reads for a header whose descr is this Python literal text."""
    return npformat.descr_to_dtype(ast.literal_eval(text))


def jsonable(value):
    """`value` as plain JSON-able Python data."""
    if value is None or isinstance(value, (bool, str, int)):
        return value
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return value
    if isinstance(value, complex):
        return [jsonable(value.real), jsonable(value.imag)]
    if isinstance(value, (bytes, bytearray, memoryview)):
        return list(bytes(value))
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.dtype):
        return str(value)
    if isinstance(value, np.generic):
        return jsonable(value.item())
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset, range)):
        return [jsonable(v) for v in value]
    return repr(value)


def _expected_array_parts(req):
    dtype = dtype_from_descr_text(req["descr"])
    shape = tuple(int(d) for d in req["shape"])
    order = "F" if req["fortran_order"] else "C"
    with open(req["data_path"], "rb") as f:
        raw = f.read()
    return dtype, shape, order, raw


def op_exec(req, env):
    env["result"] = None
    exec(compile(req["code"], "<oracle exec>", "exec"), env)
    return {"result": jsonable(env.get("result"))}


def op_save(req, env):
    dtype, shape, order, raw = _expected_array_parts(req)
    count = math.prod(shape)
    if dtype.itemsize == 0:
        if raw:
            raise ValueError(f"dtype {dtype!r} has itemsize 0 but data_path holds {len(raw)} bytes")
        arr = np.empty(shape, dtype=dtype, order=order)
    else:
        if len(raw) != count * dtype.itemsize:
            raise ValueError(
                f"data_path holds {len(raw)} bytes, shape {shape} of {dtype!r} needs "
                f"{count * dtype.itemsize}"
            )
        arr = np.frombuffer(raw, dtype=dtype, count=count).reshape(shape, order=order)
    with open(req["path"], "wb") as f:
        np.save(f, arr, allow_pickle=False)
    return {}


def op_check_load(req, env):
    a = np.load(req["path"], allow_pickle=False)
    dtype, shape, order, raw = _expected_array_parts(req)
    reasons = []
    if a.dtype != dtype:
        reasons.append(f"dtype {a.dtype!r} != expected {dtype!r}")
    elif a.dtype.descr != dtype.descr:
        reasons.append(f"dtype descr {a.dtype.descr!r} != expected {dtype.descr!r}")
    if a.shape != shape:
        reasons.append(f"shape {a.shape} != expected {shape}")
    got = a.tobytes(order=order)
    if got != raw:
        first = next(
            (i for i, (x, y) in enumerate(zip(got, raw)) if x != y), min(len(got), len(raw))
        )
        reasons.append(
            f"data differs: {len(got)} bytes loaded (in {order} order), {len(raw)} expected, "
            f"first difference at byte {first}"
        )
    if a.ndim > 1:
        if order == "F" and not a.flags.f_contiguous:
            reasons.append("expected a Fortran-order array, numpy loaded one not F-contiguous")
        if order == "C" and not a.flags.c_contiguous:
            reasons.append("expected a C-order array, numpy loaded one not C-contiguous")
    return {"equal": not reasons, "reason": "; ".join(reasons) if reasons else "equal"}


def op_header(req, env):
    with open(req["path"], "rb") as f:
        version = npformat.read_magic(f)
        shape, fortran_order, dtype = _format_impl._read_array_header(
            f, version, max_header_size=2**64
        )
        return {
            "version": list(version),
            "descr": jsonable(npformat.dtype_to_descr(dtype)),
            "shape": [int(d) for d in shape],
            "fortran_order": bool(fortran_order),
            "data_offset": f.tell(),
        }


OPS = {
    "exec": op_exec,
    "save": op_save,
    "check_load": op_check_load,
    "header": op_header,
}


def main():
    # The protocol keeps the real stdout; everything else written to fd 1 (print in exec'd
    # code, C extensions) goes to stderr.
    proto = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8", newline="\n")
    sys.stdout.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
    stdin = sys.stdin.buffer

    env = {
        "__name__": "__oracle__",
        "np": np,
        "os": os,
        "json": json,
        "io": io,
        "zipfile": zipfile,
        "dtype_from_descr_text": dtype_from_descr_text,
        "result": None,
    }
    while True:
        line = stdin.readline()
        if not line:
            break  # end of input: the client is gone
        if not line.strip():
            continue
        quit_after = False
        try:
            req = json.loads(line)
            if not isinstance(req, dict):
                raise ValueError(f"a request is a JSON object, got {type(req).__name__}")
            op = req.get("op")
            if op == "quit":
                quit_after = True
                body = {}
            elif op in OPS:
                body = OPS[op](req, env)
            else:
                raise ValueError(f"unknown op {op!r}; ops: {sorted(OPS) + ['quit']}")
            response = json.dumps({"ok": True, **body}, allow_nan=False)
        except BaseException as e:  # noqa: BLE001 - SystemExit from exec'd code too
            if isinstance(e, KeyboardInterrupt):
                raise
            tb = traceback.format_exc()
            response = json.dumps({"ok": False, "error": f"{type(e).__name__}: {e}\n{tb}"})
        proto.write(response + "\n")
        proto.flush()
        if quit_after:
            break


if __name__ == "__main__":
    main()
