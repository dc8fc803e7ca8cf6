"""Export a run's generator (any game's served networks) as a versioned SavedModel that TF Serving can serve.

    run directory  ->  restore_run  ->  the game's Signatures  ->  ExportArchive  ->  BASE/NAME/.tmp-*
                   ->  contract check (load, call, compare)    ->  rename to BASE/NAME/<version>

This module is the same for every game: it writes, checks and publishes.  What a game serves
is its `Signatures` (export/signatures.py), in export/NAME.py and named in `SIGNATURES`.

The export holds the networks of the run's LATEST checkpoint that the game exports
(`exported_networks()`: a GAN's generator, or its weight average when the run trained with
--g-ema).  It is written through `keras.export.ExportArchive` -- never a hand-rolled
`tf.saved_model.save`, which TF Serving cannot load (tensorflow/serving issue 2250;
docs/serving.md).

The "gan" game's signatures, seed rules and conditional labels: export/gan.py.  Every
export carries its contract as assets.extra/signature_contract.json (export/contract.py), which
serving/client.py and the tests read; every input is batch-major, B = 1..256.

Publishing is atomic: the export is written to a hidden temporary directory inside
BASE/NAME (TF Serving only looks at all-digit directory names), loaded and checked
there (`validate_export`), then renamed to its version directory with a rename that
never replaces anything. An existing version is refused, never overwritten.
Also written: `assets.extra/tf_serving_warmup_requests` (TF Serving replays it
before serving: batches 1 and 64 of every signature) and `assets.extra/export_info.json`.
"""

from __future__ import annotations

import ctypes
import dataclasses
import errno
import json
import os
import re
import shutil
import tempfile
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from tfgan_app.export import contract as contract_lib
from tfgan_app.export.chargan import CharGANSignatures
from tfgan_app.export.gan import GANSignatures
from tfgan_app.export.lapgan import LAPGANSignatures
from tfgan_app.export.midinet import MidiNetSignatures
from tfgan_app.export.stackgan import StackGANSignatures
from tfgan_app.export.signatures import ExportError, Signatures
from tfgan_app.export.translation import CycleGANSignatures, Pix2PixSignatures, SRGANSignatures
from tfgan_app.training import run_dir

# config.game -> the class of its serving signatures (export/signatures.py).
SIGNATURES = {
    "gan": GANSignatures,
    "pix2pix": Pix2PixSignatures,
    "cyclegan": CycleGANSignatures,
    "srgan": SRGANSignatures,
    "lapgan": LAPGANSignatures,
    "stackgan": StackGANSignatures,
    "chargan": CharGANSignatures,
    "midinet": MidiNetSignatures,
}

DEFAULT_EXPORT_BASE = "exports"
DEFAULT_NAME = "generator"
PREDICT_METHOD = "tensorflow/serving/predict"
WARMUP_FILE = "tf_serving_warmup_requests"
INFO_FILE = "export_info.json"
EXTRA_DIR = "assets.extra"          # TF Serving reads warmup requests from here
TEMP_PREFIX = ".tmp-export-"        # not all digits: TF Serving ignores it
CHECK_BATCH_SIZES = (1, 256)        # batch sizes the contract check runs every signature at
WARMUP_BATCH_SIZES = (1, 64)
MAX_BATCH_SIZE = 256                # serving/batching_parameters.txt
# Graph function vs. eager Keras call in one process: same kernels, but oneDNN may
# order sums differently; measured differences are ~1e-7.
CHECK_ATOL = 1e-5
CHECK_RTOL = 1e-5

_VERSION_DIR = re.compile(r"[0-9]+")  # what TF Serving counts as a version


@dataclasses.dataclass
class ExportResult:
    export_dir: Path     # BASE/NAME/<version>
    version: int
    signatures: dict     # the contract: {signature: {"inputs": ..., "outputs": ...}}
    epochs: int | None   # epochs the exported generator was trained for (None: unknown)


# --------------------------------------------------------------------------- requests
def write_warmup_requests(path, contract: dict, model_name: str, signatures: Signatures,
                          batch_sizes=WARMUP_BATCH_SIZES) -> int:
    """TFRecord of PredictionLog: one PredictRequest per signature and batch size.

    Returns:
        The number of records written.
    """
    from tensorflow_serving.apis import predict_pb2, prediction_log_pb2

    count = 0
    with tf.io.TFRecordWriter(str(path)) as writer:
        for signature in contract:
            for batch in batch_sizes:
                request = predict_pb2.PredictRequest()
                request.model_spec.name = model_name
                request.model_spec.signature_name = signature
                for key, value in signatures.example_inputs(contract, signature, batch).items():
                    request.inputs[key].CopyFrom(tf.make_tensor_proto(value))
                log = prediction_log_pb2.PredictionLog(
                    predict_log=prediction_log_pb2.PredictLog(request=request))
                writer.write(log.SerializeToString())
                count += 1
    return count


def read_warmup_requests(path) -> list:
    """The PredictRequests of a warmup file, in order."""
    from tensorflow_serving.apis import prediction_log_pb2

    requests = []
    for record in tf.data.TFRecordDataset(str(path)):
        log = prediction_log_pb2.PredictionLog()
        log.ParseFromString(record.numpy())
        requests.append(log.predict_log.request)
    return requests


# --------------------------------------------------------------------------- checks
def _meta_graph(export_dir):
    from tensorflow.core.protobuf import saved_model_pb2

    sm = saved_model_pb2.SavedModel()
    sm.ParseFromString((Path(export_dir) / "saved_model.pb").read_bytes())
    metas = [m for m in sm.meta_graphs if "serve" in m.meta_info_def.tags]
    if not metas:
        raise ExportError("saved_model.pb has no MetaGraph tagged 'serve'")
    return metas[0]


def check_structure(export_dir, contract: dict) -> None:
    """SignatureDefs as the contract says, no DT_HALF, no XLA-must-compile functions.

    Raises:
        ExportError: naming the signature, tensor and what differs.
    """
    meta = _meta_graph(export_dir)
    sigs = {k: v for k, v in meta.signature_def.items() if not k.startswith("__")}
    if set(sigs) != set(contract):
        raise ExportError(f"signatures {sorted(sigs)} != contract {sorted(contract)}")
    for name, want in contract.items():
        sig = sigs[name]
        if sig.method_name != PREDICT_METHOD:
            raise ExportError(f"{name}: method_name {sig.method_name!r}, expected {PREDICT_METHOD}")
        for kind in ("inputs", "outputs"):
            got = getattr(sig, kind)
            if set(got) != set(want[kind]):
                raise ExportError(f"{name}: {kind} {sorted(got)} != {sorted(want[kind])}")
            for key, (dtype, shape) in want[kind].items():
                info = got[key]
                got_dtype = tf.dtypes.as_dtype(info.dtype).name
                got_shape = (None if info.tensor_shape.unknown_rank else
                             [None if d.size < 0 else d.size for d in info.tensor_shape.dim])
                if got_dtype != dtype or got_shape != shape:
                    raise ExportError(f"{name}: {kind[:-1]} {key!r} is {got_dtype} {got_shape}, "
                                      f"expected {dtype} {shape}")
                if not got_shape:  # rank 0 breaks server-side batching
                    raise ExportError(f"{name}: {kind[:-1]} {key!r} has rank 0")
    functions = list(meta.graph_def.library.function)
    for fn in functions:
        if fn.attr["_XlaMustCompile"].b:
            raise ExportError(f"function {fn.signature.name} must be compiled with XLA "
                              "(jit_compile); TF Serving disables XLA")
    nodes = [n for fn in functions for n in fn.node_def] + list(meta.graph_def.node)
    for node in nodes:
        if node.attr["_XlaMustCompile"].b:
            raise ExportError(f"node {node.name} must be compiled with XLA (jit_compile); "
                              "TF Serving disables XLA")


def compare_outputs(signature: str, got: dict, want: dict, atol=CHECK_ATOL, rtol=CHECK_RTOL):
    """Raise ExportError unless `got` (signature outputs) matches `want` (`Signatures.reference`)."""
    if set(got) != set(want):
        raise ExportError(f"{signature}: outputs {sorted(got)} != {sorted(want)}")
    for key, expected in want.items():
        value = np.asarray(got[key])
        if expected.dtype == object and key != "images_bytes":  # strings (text): exactly
            if value.shape != expected.shape or [bytes(v) for v in value.reshape(-1)] != \
                    [bytes(v) for v in expected.reshape(-1)]:
                raise ExportError(f"{signature}: {key} differs from the Keras generator's: "
                                  f"{value.reshape(-1)[:3]} != {expected.reshape(-1)[:3]}")
            continue
        if key == "images_bytes":
            if value.shape != (len(expected),):
                raise ExportError(f"{signature}: {key} has shape {value.shape}, "
                                  f"expected ({len(expected)},)")
            decoded = np.stack([tf.io.decode_png(bytes(b), channels=expected.shape[-1]).numpy()
                                for b in value])  # (B, H, W, C) uint8
            diff = np.abs(decoded.astype(np.int32) - expected.astype(np.int32)).max()
            if decoded.shape != expected.shape or diff > 1:
                raise ExportError(f"{signature}: decoded PNGs {decoded.shape} differ from the "
                                  f"generator's pixels {expected.shape} by up to {diff}")
            continue
        if value.dtype != expected.dtype or value.shape != expected.shape:
            raise ExportError(f"{signature}: {key} is {value.dtype} {value.shape}, expected "
                              f"{expected.dtype} {expected.shape}")
        if not np.allclose(value, expected, atol=atol, rtol=rtol):
            worst = float(np.max(np.abs(value.astype(np.float64) - expected)))
            raise ExportError(f"{signature}: {key} differs from the Keras generator by up to "
                              f"{worst:.3g} (tolerance atol={atol}, rtol={rtol})")


def validate_export(export_dir, signatures: Signatures, contract: dict, model_name: str = DEFAULT_NAME,
                    batch_sizes=CHECK_BATCH_SIZES) -> None:
    """Check an export against the contract before it is published.

    Structure (`check_structure`); then `tf.saved_model.load` and every signature at
    each batch size in `batch_sizes`, compared with the game's Keras networks; then every
    warmup request replayed.

    Raises:
        ExportError: naming the signature and what failed.
    """
    export_dir = Path(export_dir)
    check_structure(export_dir, contract)
    loaded = tf.saved_model.load(str(export_dir))
    try:
        for signature in contract:
            fn = loaded.signatures[signature]
            for batch in batch_sizes:
                inputs = signatures.example_inputs(contract, signature, batch, seed=batch)
                try:
                    got = fn(**{k: tf.constant(v) for k, v in inputs.items()})
                except tf.errors.OpError as e:
                    raise ExportError(f"{signature} failed at batch {batch}: "
                                      f"{e.message.splitlines()[0]}") from None
                compare_outputs(signature, {k: v.numpy() for k, v in got.items()},
                                signatures.reference(contract, signature, inputs))
        warmup = export_dir / EXTRA_DIR / WARMUP_FILE
        requests = read_warmup_requests(warmup)
        covered = {r.model_spec.signature_name for r in requests}
        if covered != set(contract) or any(r.model_spec.name != model_name for r in requests):
            raise ExportError(f"{warmup}: requests cover {sorted(covered)} for model(s) "
                              f"{sorted({r.model_spec.name for r in requests})}, expected "
                              f"{sorted(contract)} for {model_name!r}")
        for r in requests:
            fn = loaded.signatures[r.model_spec.signature_name]
            fn(**{k: tf.constant(tf.make_ndarray(v)) for k, v in r.inputs.items()})
    finally:
        del loaded


# --------------------------------------------------------------------------- publishing
def existing_versions(model_dir) -> list[int]:
    """Integer versions under BASE/NAME (all-digit directory names, as TF Serving reads them)."""
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        return []
    return sorted(int(p.name) for p in model_dir.iterdir()
                  if _VERSION_DIR.fullmatch(p.name) and p.is_dir())


def next_version(model_dir) -> int:
    """max existing version + 1, or 1."""
    return max(existing_versions(model_dir), default=0) + 1


def _umask() -> int:
    """The process umask, read without changing it (os.umask would, for all threads)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    return 0o022


_RENAME_NOREPLACE = 1  # linux/fs.h


def _rename_noreplace(src: Path, dst: Path) -> None:
    """Rename src to dst; FileExistsError if dst exists, even if another process races us.

    Uses Linux renameat2(RENAME_NOREPLACE) when available; elsewhere checks first
    (os.rename never replaces a non-empty directory either).
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        renameat2 = None
    if renameat2 is not None:
        at_fdcwd = -100
        rc = renameat2(at_fdcwd, os.fsencode(src), at_fdcwd, os.fsencode(dst),
                       _RENAME_NOREPLACE)
        if rc == 0:
            return
        err = ctypes.get_errno()
        if err == errno.EEXIST:
            raise FileExistsError(err, os.strerror(err), str(dst))
        if err not in (errno.ENOSYS, errno.EINVAL):  # else: no support on this filesystem
            raise OSError(err, os.strerror(err), str(dst))
    if os.path.lexists(dst):
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(dst))
    os.rename(src, dst)


def _check_target(export_base: Path, name: str, version: int | None) -> Path:
    if not name or name in (".", "..") or "/" in name or os.sep in name or name.startswith("."):
        raise ExportError(f"--name: {name!r} is not a model name; use a plain directory "
                          f"name such as {DEFAULT_NAME!r}")
    if version is not None and (isinstance(version, bool) or int(version) < 1):
        raise ExportError(f"--version: expected a positive integer, got {version}")
    for path in (export_base, export_base / name):
        if path.exists() and not path.is_dir():
            raise ExportError(f"--export-base {export_base}: {path} is a file; expected a "
                              "directory")
    model_dir = export_base / name
    if version is not None and int(version) in existing_versions(model_dir):
        raise ExportError(f"--version {version}: {model_dir / str(version)} already exists; "
                          f"exports are never overwritten (omit --version to write the next "
                          f"one, {next_version(model_dir)})")
    return model_dir


def export_game(signatures: Signatures, export_base=DEFAULT_EXPORT_BASE, name: str = DEFAULT_NAME,
                version: int | None = None, info: dict | None = None) -> ExportResult:
    """Write a game's export (its `signatures`) to BASE/NAME/<version>/, checked, atomically.

    Args:
        signatures: the game's Signatures (e.g. `GANSignatures(gan)`; `SIGNATURES[config.game]`).
        export_base: directory holding one directory per model (TF Serving's base).
        name: model name (TF Serving's model name; warmup requests use it).
        version: integer version; None = next free (max existing + 1, from 1).
        info: extra fields for `assets.extra/export_info.json` (e.g. the run's config).

    Returns:
        ExportResult.

    Raises:
        ExportError: a bad name / version, an existing version, or an export that
            failed its contract check (nothing is published then).
    """
    export_base = Path(export_base)
    model_dir = _check_target(export_base, name, version)
    try:
        model_dir.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX, dir=model_dir))
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes it 0700; a server may run as another user
    except OSError as e:
        raise ExportError(f"--export-base {export_base}: cannot create {model_dir}: "
                          f"{e.strerror or e}") from None
    try:
        archive, contract = signatures.build()
        archive.write_out(str(tmp), verbose=False)
        extra = tmp / EXTRA_DIR
        extra.mkdir(exist_ok=True)
        write_warmup_requests(extra / WARMUP_FILE, contract, name, signatures)
        # The contract as data, for clients and tests (serving/client.py --contract).
        contract_lib.write_contract(extra / contract_lib.CONTRACT_FILE, contract)
        doc = {
            "model_name": name,
            "signatures": contract_lib.to_document(contract)["signatures"],
            **signatures.info(),
            "tensorflow": tf.__version__, "keras": keras.__version__,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            **(info or {}),
        }
        (extra / INFO_FILE).write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
        validate_export(tmp, signatures, contract, model_name=name)
        return _publish(tmp, model_dir, version, contract, (info or {}).get("epochs"))
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def export_gan(gan, export_base=DEFAULT_EXPORT_BASE, name: str = DEFAULT_NAME,
               version: int | None = None, info: dict | None = None) -> ExportResult:
    """`export_game` with the GAN's signatures (gan: a `games.gan.GAN` or anything sampling like it)."""
    return export_game(GANSignatures(gan), export_base, name, version, info)


def _publish(tmp: Path, model_dir: Path, version: int | None, contract: dict,
             epochs) -> ExportResult:
    """Rename tmp to its version directory; with version None, take the next free one."""
    for _ in range(100):
        v = int(version) if version is not None else next_version(model_dir)
        target = model_dir / str(v)
        try:
            _rename_noreplace(tmp, target)
            return ExportResult(target, v, contract, epochs)
        except FileExistsError:
            if version is not None:
                raise ExportError(f"--version {version}: {target} already exists (written "
                                  "while this export ran); exports are never overwritten") \
                    from None
            # Another exporter took this number first: take the next.
    raise ExportError(f"{model_dir}: could not find a free version number")


def export_run(workdir, export_base=DEFAULT_EXPORT_BASE, name: str = DEFAULT_NAME,
               version: int | None = None) -> ExportResult:
    """Export the latest checkpoint of the run in `workdir` with its game's signatures.

    The export holds the checkpoint's `exported_networks()`: a GAN's generator, its weight
    average if the run used --g-ema.

    Args:
        workdir: a run directory written by `training.train` (train.py).
        export_base, name, version: see `export_game`.

    Returns:
        ExportResult.

    Raises:
        run_dir.RunDirError: `workdir` is missing, a file, or holds no
            restorable run (message starts with `--workdir WORKDIR:`).
        ExportError: see `export_game`.
    """
    workdir = Path(workdir)
    if not workdir.exists():
        raise run_dir.RunDirError(f"--workdir {workdir}: does not exist; expected a run "
                                        "directory written by train.py")
    if not workdir.is_dir():
        raise run_dir.RunDirError(f"--workdir {workdir}: is a file; expected a run "
                                        "directory written by train.py")
    _check_target(Path(export_base), name, version)  # fail before restoring anything
    config, game, epochs = run_dir.restore_run(workdir)
    if config.game not in SIGNATURES:
        raise ExportError(f"--workdir {workdir}: game {config.game!r} has no serving signatures; "
                          f"exportable games: {', '.join(SIGNATURES)}")
    info = {"workdir": str(workdir.resolve()), "epochs": epochs,
            "config": dataclasses.asdict(config)}
    return export_game(SIGNATURES[config.game](game), export_base, name, version, info=info)
