"""Run an exported SavedModel through the TensorFlow C API, the way TF Serving loads it.

TF Serving never sees the Python objects that wrote an export: its loader calls
`LoadSavedModel` with the tag `serve`, reads the `SignatureDef`s from the
`MetaGraphDef`, and feeds / fetches graph tensors by name. The TF C API exposes the
same loader (`TF_LoadSessionFromSavedModel`, `TF_SessionRun`) from the
`libtensorflow_cc.so.2` shipped inside the tensorflow wheel, so an export that runs
here runs the same graph functions, with the same session loader, as TF Serving.

This module drives that C API with `ctypes`:

- `run_signature(export_dir, signature_name, inputs)` runs one signature in a FRESH
  subprocess (`python -m tfgan_app.export.c_api`), so the TensorFlow Python runtime of
  the caller (its registered functions, its eager context) cannot help the export.
- `CApiSession` is the in-process loader that child uses.
- `signature_def_map(export_dir)` lists signatures, dtypes and shapes from
  `saved_model.pb` without loading TensorFlow at all.

XLA is disabled the way TF Serving disables it. `tensorflow_model_server` calls
`tensorflow::DisableXlaCompilation()` unless `--xla_cpu_compilation_enabled` is set;
that C++ function (`_ZN10tensorflow21DisableXlaCompilationEv`, no arguments, returns
void) is exported by `libtensorflow_cc.so.2`, so we call it through ctypes before
loading, which makes any `jit_compile=True` function fail with "XLA compilation
disabled", exactly as under TF Serving. The session's `ConfigProto` also sets
`global_jit_level = OFF`, so no auto-clustering happens either. (An environment
variable such as `TF_XLA_FLAGS=--tf_xla_auto_jit=-1` only turns off
auto-clustering; it does not refuse explicitly compiled functions, so it is not
equivalent.)

The child does not import TensorFlow's Python package: the `*_pb2` modules we need
(`meta_graph_pb2`, `saved_model_pb2`, `config_pb2`) are plain protobuf modules, and
`_tf_protos()` imports them from the wheel's directory under a stub `tensorflow`
package, so `tensorflow/__init__.py` (the Python runtime) never runs.

What a TensorFlow upgrade can break, checked when the library is loaded (each a
one-line `TFCApiError` naming it, before anything changes the process): the C API
symbols and the two mangled C++ names above must be exported (`_XLA_DISABLE`,
`_XLA_FAIL_ON`), and `TF_TString` must be `_TSTRING_SIZE` (24) bytes, measured
through `TF_StringInit` and confirmed by round-tripping strings through
`TF_StringCopy` / `TF_StringGetDataPointer` / `TF_StringGetSize`.

Supported dtypes: float32, float64, int32, int64, uint8, bool and string
(`TF_STRING`, laid out as `TF_TString` since TF 2.4; string tensors come back as
numpy object arrays of `bytes`, like `tf.make_ndarray`).

CLI:
    python -m tfgan_app.export.c_api EXPORT_DIR SIGNATURE --input z=z.npy \
        [--input labels=labels.npy] [--save out.npz]
    python -m tfgan_app.export.c_api EXPORT_DIR --list
"""

from __future__ import annotations

import argparse
import ctypes
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import types
from pathlib import Path

import numpy as np

from tfgan_app.cli import error_reason

SERVE_TAG = "serve"
# This module's name: `python -m CLI_MODULE` is its command line, and run_signature's child.
CLI_MODULE = "tfgan_app.export.c_api"

# absl / TF status codes (tensorflow/c/tf_status.h, same numbers as gRPC).
OK = 0
UNKNOWN = 2
INVALID_ARGUMENT = 3
NOT_FOUND = 5
FAILED_PRECONDITION = 9
INTERNAL = 13
_CODE_NAMES = {
    0: "OK", 1: "CANCELLED", 2: "UNKNOWN", 3: "INVALID_ARGUMENT",
    4: "DEADLINE_EXCEEDED", 5: "NOT_FOUND", 6: "ALREADY_EXISTS",
    7: "PERMISSION_DENIED", 8: "RESOURCE_EXHAUSTED", 9: "FAILED_PRECONDITION",
    10: "ABORTED", 11: "OUT_OF_RANGE", 12: "UNIMPLEMENTED", 13: "INTERNAL",
    14: "UNAVAILABLE", 15: "DATA_LOSS", 16: "UNAUTHENTICATED",
}

# TF_DataType enum values (tensorflow/c/tf_datatype.h) <-> numpy.
_TF_STRING = 7
_TF_TO_NP = {
    1: np.dtype(np.float32),
    2: np.dtype(np.float64),
    3: np.dtype(np.int32),
    4: np.dtype(np.uint8),
    9: np.dtype(np.int64),
    10: np.dtype(np.bool_),
    _TF_STRING: np.dtype(object),
}
_TF_NAMES = {1: "float32", 2: "float64", 3: "int32", 4: "uint8", 7: "string",
             9: "int64", 10: "bool", 19: "float16", 14: "bfloat16"}
_SUPPORTED = {_TF_NAMES[k] for k in _TF_TO_NP}

# ---- Assumptions about libtensorflow_cc.so.2 that a TensorFlow upgrade can break.
# Each is checked when the library is loaded (`_load_library`), before anything else
# is called, and fails with one line naming it (TFCApiError).
# C++ functions, by mangled name (compiler/jit/flags.h); not part of the stable C API.
_XLA_DISABLE = "_ZN10tensorflow21DisableXlaCompilationEv"   # void DisableXlaCompilation()
_XLA_FAIL_ON = "_ZN10tensorflow20FailOnXlaCompilationEv"    # bool FailOnXlaCompilation()
# sizeof(TF_TString) (static_assert in tsl/platform/ctstring_internal.h): string
# tensors are arrays of it. Measured through TF_StringInit and checked by a round
# trip through TF_StringCopy / TF_StringGetDataPointer / TF_StringGetSize.
_TSTRING_SIZE = 24
_PROBE_BYTES = 256  # room TF_StringInit may write into while sizeof(TF_TString) is measured


class TFCApiError(RuntimeError):
    """A TensorFlow status that is not OK.

    Attributes:
        code: TF's status code (`TF_Code`), e.g. 3 (INVALID_ARGUMENT) for a failed
            `tf.debugging.assert_*` inside the graph, 5 (NOT_FOUND) for a missing
            export.
        message: TF's message (or ours, for checks made before calling TF).
    """

    def __init__(self, code: int, message: str):
        self.code = int(code)
        self.message = str(message)
        super().__init__(f"{_CODE_NAMES.get(self.code, self.code)} (code {self.code}): "
                         f"{self.message}")

    def __reduce__(self):  # keep (code, message) when pickled
        return (type(self), (self.code, self.message))


# --------------------------------------------------------------------------- protos
_PROTOS: types.SimpleNamespace | None = None


def _tensorflow_dir() -> Path:
    """The installed tensorflow package directory, found without importing it."""
    spec = importlib.util.find_spec("tensorflow")
    if spec is None or not spec.submodule_search_locations:
        raise TFCApiError(NOT_FOUND, "the tensorflow wheel is not installed in this "
                          f"Python ({sys.executable}); pip install tensorflow")
    return Path(list(spec.submodule_search_locations)[0])


def _tf_protos() -> types.SimpleNamespace:
    """`meta_graph_pb2`, `saved_model_pb2`, `config_pb2`, `types_pb2` from the wheel.

    If TensorFlow's Python package is already imported, use it. Otherwise import the
    generated protobuf modules under a temporary stub `tensorflow` package (so
    `tensorflow/__init__.py` does not run), then remove every `tensorflow*` entry
    from `sys.modules` again, so a later real `import tensorflow` starts clean.
    """
    global _PROTOS
    if _PROTOS is not None:
        return _PROTOS
    names = ("meta_graph_pb2", "saved_model_pb2", "config_pb2")
    if "tensorflow" in sys.modules and hasattr(sys.modules["tensorflow"], "__version__"):
        from tensorflow.core.framework import types_pb2
        from tensorflow.core.protobuf import config_pb2, meta_graph_pb2, saved_model_pb2
        mods = dict(meta_graph_pb2=meta_graph_pb2, saved_model_pb2=saved_model_pb2,
                    config_pb2=config_pb2, types_pb2=types_pb2)
    else:
        before = {k for k in sys.modules if k == "tensorflow" or k.startswith("tensorflow.")}
        stub = types.ModuleType("tensorflow")
        stub.__path__ = [str(_tensorflow_dir())]
        sys.modules["tensorflow"] = stub
        try:
            import importlib
            mods = {n: importlib.import_module(f"tensorflow.core.protobuf.{n}") for n in names}
            mods["types_pb2"] = importlib.import_module("tensorflow.core.framework.types_pb2")
        finally:
            for k in [k for k in sys.modules
                      if (k == "tensorflow" or k.startswith("tensorflow.")) and k not in before]:
                del sys.modules[k]
    _PROTOS = types.SimpleNamespace(**mods)
    return _PROTOS


def _read_saved_model(export_dir: str | os.PathLike):
    path = Path(export_dir) / "saved_model.pb"
    if not path.is_file():
        raise TFCApiError(NOT_FOUND, f"no SavedModel at '{export_dir}': {path} does not "
                          "exist (expected an export directory such as "
                          "exports/generator/1)")
    sm = _tf_protos().saved_model_pb2.SavedModel()
    sm.ParseFromString(path.read_bytes())
    return sm


def _serve_meta_graph(saved_model, export_dir):
    for mg in saved_model.meta_graphs:
        if SERVE_TAG in mg.meta_info_def.tags:
            return mg
    tags = [list(mg.meta_info_def.tags) for mg in saved_model.meta_graphs]
    raise TFCApiError(NOT_FOUND, f"'{export_dir}' has no MetaGraphDef tagged "
                      f"'{SERVE_TAG}' (tag sets: {tags})")


def _tensor_info_dict(info) -> dict:
    dtype = _TF_NAMES.get(int(info.dtype)) or _tf_protos().types_pb2.DataType.Name(info.dtype)
    if info.tensor_shape.unknown_rank:
        shape = None
    else:
        shape = [None if d.size < 0 else int(d.size) for d in info.tensor_shape.dim]
    return {"name": info.name, "dtype": dtype, "shape": shape}


def _signatures_from_meta_graph(meta_graph) -> dict:
    out = {}
    for key, sig in meta_graph.signature_def.items():
        if key.startswith("__"):  # e.g. __saved_model_init_op
            continue
        out[key] = {
            "method_name": sig.method_name,
            "inputs": {k: _tensor_info_dict(v) for k, v in sorted(sig.inputs.items())},
            "outputs": {k: _tensor_info_dict(v) for k, v in sorted(sig.outputs.items())},
        }
    return dict(sorted(out.items()))


def signature_def_map(export_dir: str | os.PathLike) -> dict:
    """Signatures of the `serve` MetaGraphDef, read from `saved_model.pb` without TF.

    Args:
        export_dir: a SavedModel directory.

    Returns:
        `{signature: {"method_name": str, "inputs": {key: {"name": "op:0",
        "dtype": "float32", "shape": [None, 64]}}, "outputs": {...}}}`. A shape is
        `None` for unknown rank; unknown dimensions are `None`.

    Raises:
        TFCApiError: NOT_FOUND if there is no `saved_model.pb` or no `serve` tag.
    """
    sm = _read_saved_model(export_dir)
    return _signatures_from_meta_graph(_serve_meta_graph(sm, export_dir))


def format_signatures(signatures: dict) -> str:
    """One line per signature: `name(key: dtype[shape], ...) -> key: dtype[shape], ...`."""
    def fmt(tensors):
        return ", ".join(
            f"{k}: {v['dtype']}[" + ("?" if v["shape"] is None else ",".join(
                "?" if d is None else str(d) for d in v["shape"])) + "]"
            for k, v in tensors.items())
    return "\n".join(f"{name}({fmt(sig['inputs'])}) -> {fmt(sig['outputs'])}"
                     for name, sig in signatures.items())


# --------------------------------------------------------------------------- ctypes
class _TFBuffer(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("length", ctypes.c_size_t),
                ("data_deallocator", ctypes.c_void_p)]


class _TFOutput(ctypes.Structure):
    _fields_ = [("oper", ctypes.c_void_p), ("index", ctypes.c_int)]


def _upgrade_hint() -> str:
    try:
        from importlib.metadata import version
        tf_version = version("tensorflow")
    except Exception:  # noqa: BLE001 - only for the message
        tf_version = "this version"
    return (f"a TensorFlow upgrade (installed: {tf_version}) likely changed it; update "
            f"{CLI_MODULE.replace('.', '/')}.py")


def _symbol(lib, lib_path, name: str, what: str):
    """`lib.name`, or TFCApiError NOT_FOUND naming the symbol and the library."""
    try:
        return getattr(lib, name)
    except AttributeError:
        raise TFCApiError(NOT_FOUND, f"symbol {name} ({what}) not found in {lib_path}; "
                          + _upgrade_hint()) from None


_vp, _sz, _i64 = ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int64
# (name, restype, argtypes) of every TF C API function this module calls.
_C_API = [
    ("TF_Version", ctypes.c_char_p, []),
    ("TF_NewStatus", _vp, []),
    ("TF_DeleteStatus", None, [_vp]),
    ("TF_GetCode", ctypes.c_int, [_vp]),
    ("TF_Message", ctypes.c_char_p, [_vp]),
    ("TF_NewSessionOptions", _vp, []),
    ("TF_DeleteSessionOptions", None, [_vp]),
    ("TF_SetConfig", None, [_vp, ctypes.c_char_p, _sz, _vp]),
    ("TF_NewGraph", _vp, []),
    ("TF_DeleteGraph", None, [_vp]),
    ("TF_NewBuffer", ctypes.POINTER(_TFBuffer), []),
    ("TF_DeleteBuffer", None, [ctypes.POINTER(_TFBuffer)]),
    ("TF_LoadSessionFromSavedModel", _vp, [_vp, _vp, ctypes.c_char_p,
                                           ctypes.POINTER(ctypes.c_char_p), ctypes.c_int,
                                           _vp, ctypes.POINTER(_TFBuffer), _vp]),
    ("TF_GraphOperationByName", _vp, [_vp, ctypes.c_char_p]),
    ("TF_OperationNumOutputs", ctypes.c_int, [_vp]),
    ("TF_SessionRun", None, [_vp, _vp, ctypes.POINTER(_TFOutput), ctypes.POINTER(_vp),
                             ctypes.c_int, ctypes.POINTER(_TFOutput), ctypes.POINTER(_vp),
                             ctypes.c_int, ctypes.POINTER(_vp), ctypes.c_int, _vp, _vp]),
    ("TF_CloseSession", None, [_vp, _vp]),
    ("TF_DeleteSession", None, [_vp, _vp]),
    ("TF_AllocateTensor", _vp, [ctypes.c_int, ctypes.POINTER(_i64), ctypes.c_int, _sz]),
    ("TF_DeleteTensor", None, [_vp]),
    ("TF_TensorData", _vp, [_vp]),
    ("TF_TensorByteSize", _sz, [_vp]),
    ("TF_TensorType", ctypes.c_int, [_vp]),
    ("TF_NumDims", ctypes.c_int, [_vp]),
    ("TF_Dim", _i64, [_vp, ctypes.c_int]),
    ("TF_StringInit", None, [_vp]),
    ("TF_StringCopy", None, [_vp, ctypes.c_char_p, _sz]),
    ("TF_StringGetDataPointer", _vp, [_vp]),
    ("TF_StringGetSize", _sz, [_vp]),
    ("TF_StringDealloc", None, [_vp]),
]

_LIB: ctypes.CDLL | None = None
_FAIL_ON = None  # tensorflow::FailOnXlaCompilation, once loaded


def tensorflow_lib_dir() -> Path:
    """The wheel directory holding `libtensorflow_cc.so.2` / `libtensorflow_framework.so.2`."""
    return _tensorflow_dir()


def _check_tstring_layout(lib, lib_path) -> int:
    """sizeof(TF_TString) as the library handles it; TFCApiError unless == _TSTRING_SIZE.

    TF_StringInit zero-fills one TF_TString: on a buffer of 0xA5 bytes the zeroed
    prefix is its size. Then strings are round-tripped at the assumed size: one of
    _TSTRING_SIZE - 2 bytes must be stored inline (the small-string capacity of a
    TF_TString of that size), one of _TSTRING_SIZE - 1 bytes on the heap, and each
    must come back from TF_StringGetDataPointer / TF_StringGetSize unchanged.
    """
    buf = (ctypes.c_uint8 * _PROBE_BYTES)(*([0xA5] * _PROBE_BYTES))
    p = ctypes.addressof(buf)
    lib.TF_StringInit(p)
    measured = next((i for i in range(_PROBE_BYTES) if buf[i] != 0), _PROBE_BYTES)
    lib.TF_StringDealloc(p)
    if measured != _TSTRING_SIZE:
        raise TFCApiError(INTERNAL, f"TF_TString is {measured} bytes in {lib_path} (bytes "
                          f"TF_StringInit zeroes) but {CLI_MODULE} lays out string tensors "
                          f"with _TSTRING_SIZE = {_TSTRING_SIZE}; " + _upgrade_hint())
    for data, inline in ((b"s" * (_TSTRING_SIZE - 2), True),
                         (b"h" * (_TSTRING_SIZE - 1), False),
                         (b"tfgan\x00" * 16, False)):
        lib.TF_StringInit(p)
        lib.TF_StringCopy(p, data, len(data))
        try:
            ptr, size = lib.TF_StringGetDataPointer(p), lib.TF_StringGetSize(p)
            got = ctypes.string_at(ptr, size) if ptr else b""
            stored_inline = bool(ptr) and p <= ptr < p + _TSTRING_SIZE
        finally:
            lib.TF_StringDealloc(p)
        if got != data or stored_inline != inline:
            raise TFCApiError(INTERNAL, f"a {len(data)}-byte string did not round-trip "
                              f"through TF_StringCopy / TF_StringGetDataPointer / "
                              f"TF_StringGetSize in {lib_path} as a {_TSTRING_SIZE}-byte "
                              f"TF_TString (came back {size} bytes, "
                              f"{'inline' if stored_inline else 'on the heap'}); "
                              + _upgrade_hint())
    return measured


def _load_library(lib_dir: str | os.PathLike | None = None) -> ctypes.CDLL:
    """Load the C API once per process, check it, declare signatures, disable XLA.

    Every symbol is resolved and the TF_TString layout checked before anything is
    called that changes the process (DisableXlaCompilation), so a library that does
    not fit fails with a one-line TFCApiError and no side effect.

    Args:
        lib_dir: the directory holding the two libraries (default: the tensorflow
            wheel's); used only by the first successful load of the process.
    """
    global _LIB, _FAIL_ON
    if _LIB is not None:
        return _LIB
    lib_dir = Path(lib_dir) if lib_dir is not None else tensorflow_lib_dir()
    framework = lib_dir / "libtensorflow_framework.so.2"
    cc = lib_dir / "libtensorflow_cc.so.2"
    for p in (framework, cc):
        if not p.is_file():
            raise TFCApiError(NOT_FOUND, f"{p} not found: this tensorflow wheel does not "
                              "ship the TF C API")
    try:
        ctypes.CDLL(str(framework), mode=ctypes.RTLD_GLOBAL)
        lib = ctypes.CDLL(str(cc), mode=ctypes.RTLD_GLOBAL)
    except OSError as e:
        raise TFCApiError(NOT_FOUND, f"cannot load the TF C API from {lib_dir}: "
                          f"{str(e).strip()}") from None

    for name, restype, argtypes in _C_API:
        fn = _symbol(lib, cc, name, "TF C API")
        fn.restype, fn.argtypes = restype, list(argtypes)
    disable = _symbol(lib, cc, _XLA_DISABLE, "tensorflow::DisableXlaCompilation(), which "
                      "TF Serving calls to turn XLA off")
    fail_on = _symbol(lib, cc, _XLA_FAIL_ON, "tensorflow::FailOnXlaCompilation(), which "
                      "tells whether XLA is off")
    disable.restype, disable.argtypes = None, []
    fail_on.restype, fail_on.argtypes = ctypes.c_bool, []
    _check_tstring_layout(lib, cc)

    disable()
    if not fail_on():
        raise TFCApiError(INTERNAL, f"{_XLA_DISABLE} returned but {_XLA_FAIL_ON} still "
                          f"says XLA is on in {cc}; " + _upgrade_hint())
    _LIB, _FAIL_ON = lib, fail_on
    return lib


def xla_compilation_disabled() -> bool:
    """True once the C API is loaded in this process (`FailOnXlaCompilation()`)."""
    _load_library()
    return bool(_FAIL_ON())


class _Status:
    def __init__(self, lib):
        self._lib = lib
        self.ptr = lib.TF_NewStatus()

    def check(self, context: str = ""):
        code = self._lib.TF_GetCode(self.ptr)
        if code != OK:
            msg = (self._lib.TF_Message(self.ptr) or b"").decode("utf-8", "replace")
            raise TFCApiError(code, f"{context}{msg}" if context else msg)

    def __del__(self):
        if getattr(self, "ptr", None):
            self._lib.TF_DeleteStatus(self.ptr)
            self.ptr = None


def _np_to_tensor(lib, array: np.ndarray, tf_dtype: int):
    """Copy a numpy array into a new TF_Tensor (caller deletes it)."""
    dims = (ctypes.c_int64 * max(array.ndim, 1))(*array.shape)
    if tf_dtype == _TF_STRING:
        flat = array.reshape(-1)
        tensor = lib.TF_AllocateTensor(tf_dtype, dims, array.ndim, flat.size * _TSTRING_SIZE)
        base = lib.TF_TensorData(tensor)
        for i, item in enumerate(flat):
            b = item.encode("utf-8") if isinstance(item, str) else bytes(item)
            lib.TF_StringInit(base + i * _TSTRING_SIZE)
            lib.TF_StringCopy(base + i * _TSTRING_SIZE, b, len(b))
        return tensor
    array = np.ascontiguousarray(array, dtype=_TF_TO_NP[tf_dtype])
    tensor = lib.TF_AllocateTensor(tf_dtype, dims, array.ndim, array.nbytes)
    if array.nbytes:
        ctypes.memmove(lib.TF_TensorData(tensor), array.ctypes.data, array.nbytes)
    return tensor


def _tensor_to_np(lib, tensor, what: str) -> np.ndarray:
    """Copy a TF_Tensor into a new numpy array (does not delete the tensor)."""
    tf_dtype = lib.TF_TensorType(tensor)
    shape = tuple(lib.TF_Dim(tensor, d) for d in range(lib.TF_NumDims(tensor)))
    count = int(np.prod(shape, dtype=np.int64))
    base = lib.TF_TensorData(tensor)
    if tf_dtype == _TF_STRING:
        out = np.empty(count, dtype=object)
        for i in range(count):
            elem = base + i * _TSTRING_SIZE
            out[i] = ctypes.string_at(lib.TF_StringGetDataPointer(elem),
                                      lib.TF_StringGetSize(elem))
        return out.reshape(shape)
    if tf_dtype not in _TF_TO_NP:
        raise TFCApiError(UNKNOWN, f"{what}: dtype {_TF_NAMES.get(tf_dtype, tf_dtype)} is "
                          "not supported by tfgan_app.export.c_api (supported: "
                          + ", ".join(_TF_NAMES[k] for k in sorted(_TF_TO_NP)) + ")")
    dtype = _TF_TO_NP[tf_dtype]
    nbytes = lib.TF_TensorByteSize(tensor)
    buf = ctypes.string_at(base, nbytes) if nbytes else b""
    return np.frombuffer(buf, dtype=dtype, count=count).reshape(shape).copy()


def _tensor_output(lib, graph, tensor_name: str) -> _TFOutput:
    op_name, _, index = tensor_name.rpartition(":")
    if not op_name:
        op_name, index = tensor_name, "0"
    op = lib.TF_GraphOperationByName(graph, op_name.encode())
    if not op:
        raise TFCApiError(NOT_FOUND, f"operation '{op_name}' (tensor '{tensor_name}') is "
                          "not in the loaded graph")
    return _TFOutput(op, int(index))


def default_session_config(intra_op_threads: int = 0, inter_op_threads: int = 0):
    """The `ConfigProto` `CApiSession` uses: XLA auto-clustering OFF.

    0 threads means TF's default (one per core).
    """
    config_pb2 = _tf_protos().config_pb2
    config = config_pb2.ConfigProto(intra_op_parallelism_threads=intra_op_threads,
                                    inter_op_parallelism_threads=inter_op_threads)
    config.graph_options.optimizer_options.global_jit_level = (
        config_pb2.OptimizerOptions.OFF)
    return config


def _find_signature(signatures: dict, name: str, export_dir) -> dict:
    """The signature `name`, or FAILED_PRECONDITION listing the available ones."""
    if name not in signatures:
        raise TFCApiError(FAILED_PRECONDITION,
                          f"signature '{name}' not found in '{export_dir}'; "
                          f"available: {', '.join(signatures) or '(none)'}")
    return signatures[name]


def _check_inputs(signature_name: str, sig: dict, inputs: dict) -> dict:
    """Inputs as arrays, or INVALID_ARGUMENT naming the input that does not fit `sig`."""
    expected = sig["inputs"]
    missing = sorted(set(expected) - set(inputs))
    unknown = sorted(set(inputs) - set(expected))
    if missing or unknown:
        parts = []
        if missing:
            parts.append("missing input(s) " + ", ".join(repr(m) for m in missing))
        if unknown:
            parts.append("unknown input(s) " + ", ".join(repr(u) for u in unknown))
        raise TFCApiError(INVALID_ARGUMENT, f"signature '{signature_name}': "
                          + "; ".join(parts) + "; expected: "
                          + ", ".join(f"{k} ({v['dtype']} {v['shape']})"
                                      for k, v in expected.items()))
    arrays = {}
    for key, info in expected.items():
        value = np.asarray(inputs[key])
        want = info["dtype"]
        if want not in _SUPPORTED:
            raise TFCApiError(INVALID_ARGUMENT, f"signature '{signature_name}': input "
                              f"'{key}' has dtype {want}, which tfgan_app.export.c_api "
                              "does not support")
        if want == "string":
            ok = value.dtype == object or value.dtype.kind in "SU"
            got = value.dtype
        else:
            ok = value.dtype == np.dtype(want)
            got = value.dtype
        if not ok:
            raise TFCApiError(INVALID_ARGUMENT, f"signature '{signature_name}': input "
                              f"'{key}' must be {want}, got {got} (cast it, e.g. "
                              f"np.asarray(x, dtype='{want}'))")
        shape = info["shape"]
        if shape is not None and (value.ndim != len(shape) or any(
                d is not None and d != s for d, s in zip(shape, value.shape))):
            raise TFCApiError(INVALID_ARGUMENT, f"signature '{signature_name}': input "
                              f"'{key}' must have shape {shape} (None = any), got "
                              f"{list(value.shape)}")
        arrays[key] = value
    return arrays


class CApiSession:
    """A SavedModel loaded with `TF_LoadSessionFromSavedModel` (tag `serve`).

    Use it in a process that has not imported TensorFlow's Python runtime
    (`run_signature` does that for you). Close it, or use it as a context manager.
    Loading the library disables XLA for the whole process (TF's Python runtime
    included, if it shares the process): never create one inside a training process.

    Args:
        export_dir: the SavedModel directory (e.g. `exports/generator/1`).
        config: a `ConfigProto` (default: `default_session_config()`).

    Raises:
        TFCApiError: with TF's code and message if loading fails (NOT_FOUND for a
            missing directory, FAILED_PRECONDITION / NOT_FOUND for variables that
            the graph cannot find, ...).
    """

    def __init__(self, export_dir: str | os.PathLike, config=None):
        self.export_dir = str(export_dir)
        if not Path(self.export_dir, "saved_model.pb").is_file():
            # TF would also say NOT_FOUND; we add what was expected.
            _read_saved_model(self.export_dir)
        lib = self._lib = _load_library()
        self._session = None
        status = _Status(lib)
        opts = lib.TF_NewSessionOptions()
        self._graph = lib.TF_NewGraph()
        meta_buf = lib.TF_NewBuffer()
        try:
            cfg = (config or default_session_config()).SerializeToString()
            lib.TF_SetConfig(opts, cfg, len(cfg), status.ptr)
            status.check("session config: ")
            tags = (ctypes.c_char_p * 1)(SERVE_TAG.encode())
            self._session = lib.TF_LoadSessionFromSavedModel(
                opts, None, self.export_dir.encode(), tags, 1, self._graph, meta_buf,
                status.ptr)
            status.check(f"loading '{self.export_dir}' (tag '{SERVE_TAG}'): ")
            raw = ctypes.string_at(meta_buf.contents.data, meta_buf.contents.length)
        except BaseException:
            self.close()
            raise
        finally:
            lib.TF_DeleteSessionOptions(opts)
            lib.TF_DeleteBuffer(meta_buf)
        self.meta_graph_def = _tf_protos().meta_graph_pb2.MetaGraphDef()
        self.meta_graph_def.ParseFromString(raw)
        self.signatures = _signatures_from_meta_graph(self.meta_graph_def)

    def run(self, signature_name: str, inputs: dict) -> dict:
        """Run one signature.

        Args:
            signature_name: a key of `self.signatures`, e.g. "serving_default".
            inputs: `{input key: array}`; dtypes must match the signature exactly.

        Returns:
            `{output key: np.ndarray}`; string outputs are object arrays of bytes.

        Raises:
            TFCApiError: INVALID_ARGUMENT for missing / unknown inputs, a wrong dtype
                or shape, or a failed assertion in the graph; FAILED_PRECONDITION for
                an unknown signature; TF's code otherwise.
        """
        if self._session is None:
            raise TFCApiError(FAILED_PRECONDITION, "session is closed")
        lib = self._lib
        sig = _find_signature(self.signatures, signature_name, self.export_dir)
        arrays = _check_inputs(signature_name, sig, inputs)
        in_keys = list(sig["inputs"])
        out_keys = list(sig["outputs"])
        n_in, n_out = len(in_keys), len(out_keys)
        feeds = (_TFOutput * max(n_in, 1))(
            *[_tensor_output(lib, self._graph, sig["inputs"][k]["name"]) for k in in_keys])
        fetches = (_TFOutput * max(n_out, 1))(
            *[_tensor_output(lib, self._graph, sig["outputs"][k]["name"]) for k in out_keys])
        in_values = (ctypes.c_void_p * max(n_in, 1))()
        out_values = (ctypes.c_void_p * max(n_out, 1))()
        tf_dtypes = {v: k for k, v in _TF_NAMES.items()}
        status = _Status(lib)
        try:
            for i, k in enumerate(in_keys):
                in_values[i] = _np_to_tensor(lib, arrays[k], tf_dtypes[sig["inputs"][k]["dtype"]])
            lib.TF_SessionRun(self._session, None, feeds, in_values, n_in, fetches,
                              out_values, n_out, None, 0, None, status.ptr)
            status.check()
            return {k: _tensor_to_np(lib, out_values[i], f"output '{k}'")
                    for i, k in enumerate(out_keys)}
        finally:
            for arr in (in_values, out_values):
                for i in range(len(arr)):
                    if arr[i]:
                        lib.TF_DeleteTensor(arr[i])

    def close(self):
        """Close and delete the session and graph (idempotent)."""
        lib = self._lib
        if self._session:
            status = _Status(lib)
            lib.TF_CloseSession(self._session, status.ptr)
            lib.TF_DeleteSession(self._session, status.ptr)
            self._session = None
        if getattr(self, "_graph", None):
            lib.TF_DeleteGraph(self._graph)
            self._graph = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# --------------------------------------------------------------------------- npz I/O
# String arrays travel between processes without pickle: the bytes concatenated
# (uint8) plus one length per element, shaped like the original array.
_STR_DATA, _STR_LEN = "__tstring_data__", "__tstring_lengths__"


def save_arrays(path: str | os.PathLike, arrays: dict) -> None:
    """Write `{name: array}` to an .npz; string arrays are stored without pickle."""
    flat = {}
    for name, a in arrays.items():
        a = np.asarray(a)
        if a.dtype == object or a.dtype.kind in "SU":
            items = [x.encode("utf-8") if isinstance(x, str) else bytes(x)
                     for x in a.reshape(-1)]
            flat[name + _STR_DATA] = np.frombuffer(b"".join(items), dtype=np.uint8)
            flat[name + _STR_LEN] = np.array([len(x) for x in items],
                                             dtype=np.int64).reshape(a.shape)
        else:
            flat[name] = a
    np.savez(path, **flat)


def load_arrays(path: str | os.PathLike) -> dict:
    """Read an .npz written by `save_arrays` (string arrays come back as bytes objects)."""
    out = {}
    with np.load(path, allow_pickle=False) as data:
        for key in data.files:
            if key.endswith(_STR_LEN):
                name = key[: -len(_STR_LEN)]
                lengths = data[key]
                blob = data[name + _STR_DATA].tobytes()
                ends = np.cumsum(lengths.reshape(-1))
                starts = ends - lengths.reshape(-1)
                arr = np.empty(lengths.size, dtype=object)
                for i, (s, e) in enumerate(zip(starts, ends)):
                    arr[i] = blob[s:e]
                out[name] = arr.reshape(lengths.shape)
            elif not key.endswith(_STR_DATA):
                out[key] = data[key]
    return out


# --------------------------------------------------------------------------- subprocess
def run_signature(export_dir: str | os.PathLike, signature_name: str, inputs: dict,
                  timeout: float = 300.0) -> dict:
    """Run one signature of an export through the C API in a fresh subprocess.

    Args:
        export_dir: SavedModel directory.
        signature_name: e.g. "serving_default", "generate", "generate_png".
        inputs: `{input key: np.ndarray}` with the signature's exact dtypes.
        timeout: seconds before the child is killed.

    Returns:
        `{output key: np.ndarray}` (string outputs: object arrays of bytes).

    Raises:
        TFCApiError: TF's code and message from the child (or UNKNOWN with the
            child's stderr if it died without reporting one; DEADLINE_EXCEEDED on
            timeout). A missing export, an unknown signature and inputs that do not
            fit the signature are reported before any child starts.
    """
    # Fail fast, without a child, on what saved_model.pb alone can tell.
    signatures = signature_def_map(export_dir)
    _check_inputs(signature_name, _find_signature(signatures, signature_name, export_dir),
                  inputs)
    # The directory holding the `tfgan_app` package (one parent per dotted component).
    repo_root = str(Path(__file__).resolve().parents[CLI_MODULE.count(".")])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (repo_root, env.get("PYTHONPATH")) if p)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with tempfile.TemporaryDirectory(prefix="tf_c_api_") as tmp:
        in_path = os.path.join(tmp, "inputs.npz")
        out_path = os.path.join(tmp, "outputs.npz")
        err_path = os.path.join(tmp, "error.json")
        save_arrays(in_path, inputs)
        cmd = [sys.executable, "-m", CLI_MODULE, str(export_dir), signature_name,
               "--inputs-npz", in_path, "--save", out_path, "--error-json", err_path,
               "--quiet"]
        try:
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True,
                                  timeout=timeout)
        except subprocess.TimeoutExpired:
            raise TFCApiError(4, f"the C API child did not finish within {timeout} s "
                              f"(signature '{signature_name}' of '{export_dir}')") from None
        if os.path.exists(err_path):
            with open(err_path) as f:
                err = json.load(f)
            raise TFCApiError(err["code"], err["message"])
        if proc.returncode != 0 or not os.path.exists(out_path):
            tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
            raise TFCApiError(UNKNOWN, f"the C API child exited with code {proc.returncode} "
                              f"and no error report; its stderr ends with:\n{tail}")
        return load_arrays(out_path)


# --------------------------------------------------------------------------- CLI
def _parse_input(spec: str):
    key, sep, path = spec.partition("=")
    if not sep or not key or not path:
        raise SystemExit(f"--input: expected NAME=FILE.npy, got '{spec}'")
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as e:
        raise SystemExit(f"--input {spec}: {path} is not a .npy array file: {error_reason(e)}") from None
    if array.dtype.kind in "SU":
        array = np.vectorize(lambda s: s.encode() if isinstance(s, str) else s,
                             otypes=[object])(array)
    return key, array


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog=f"python -m {CLI_MODULE}",
        description="Run a SavedModel signature through the TF C API (tag 'serve', XLA "
                    "disabled), the way TF Serving loads exports.")
    parser.add_argument("export_dir", help="SavedModel directory, e.g. exports/generator/1")
    parser.add_argument("signature", nargs="?", default="serving_default",
                        help="signature name (default: serving_default)")
    parser.add_argument("--input", action="append", default=[], metavar="NAME=FILE.npy",
                        help="one input array per flag, e.g. --input z=z.npy")
    parser.add_argument("--save", metavar="OUT.npz",
                        help="write outputs here (string outputs without pickle; read "
                             "with tfgan_app.export.c_api.load_arrays)")
    parser.add_argument("--list", action="store_true",
                        help="print the signatures (from saved_model.pb) and exit")
    parser.add_argument("--inputs-npz", help=argparse.SUPPRESS)
    parser.add_argument("--error-json", help=argparse.SUPPRESS)
    parser.add_argument("--quiet", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        if args.list:
            print(format_signatures(signature_def_map(args.export_dir)))
            return 0
        inputs = load_arrays(args.inputs_npz) if args.inputs_npz else {}
        inputs.update(_parse_input(s) for s in args.input)
        with CApiSession(args.export_dir) as session:
            outputs = session.run(args.signature, inputs)
        if args.save:
            save_arrays(args.save, outputs)
        if not args.quiet:
            for k, v in outputs.items():
                dtype = "string" if v.dtype == object else v.dtype.name
                print(f"{k}: shape={list(v.shape)} dtype={dtype}")
        return 0
    except TFCApiError as e:
        if args.error_json:
            with open(args.error_json, "w") as f:
                json.dump({"code": e.code, "message": e.message}, f)
        print(f"error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
