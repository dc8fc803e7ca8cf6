"""TEST DOUBLE for TF Serving, and tiny generator exports written by the real exporter.

`FakeTFServing` is NOT a server for users: it exists so tests can exercise
`serving/client.py` without Docker. It serves one SavedModel, loaded with
`tf.saved_model.load` (so it does NOT prove an export loads in real TF Serving; the
C API loader `python -m tfgan_app.export.c_api` is the check for that), and it
follows TF Serving as far as the client can see it (checked against TF Serving's
`http_rest_api_handler.cc`, `http_rest_api_util.cc`, `get_model_metadata_impl.cc`,
`predict_util.cc`, `json_tensor.cc`):

- REST on 127.0.0.1 (random port):
  `POST /v1/models/NAME[/versions/V]:predict` with `"inputs"` (columnar) or
  `"instances"` (row) format, `signature_name` defaulting to `serving_default`;
  `GET /v1/models/NAME[/versions/V]` (status) and `.../metadata`.
  Errors are `{"error": "..."}` with TF Serving's status mapping (INVALID_ARGUMENT
  and FAILED_PRECONDITION -> 400, NOT_FOUND -> 404, ...). Messages are copied from
  TF Serving's sources where they exist. String outputs whose name ends in `_bytes`
  are written as `{"b64": ...}`; a signature with a single output has its output
  name dropped.
- gRPC on 127.0.0.1 (random port): `PredictionService.Predict` and
  `GetModelMetadata`; errors are INVALID_ARGUMENT / FAILED_PRECONDITION / NOT_FOUND.
- Model metadata lists EVERY SignatureDef of the MetaGraphDef, `__saved_model_init_op`
  included (GetModelMetadataImpl copies the whole map); REST prints it with default
  fields (`always_print_primitive_fields`), so sizes come as strings ("-1").
- Inputs are NOT checked against the SignatureDef's shapes: like TF Serving's
  session, the graph runs and its first failing op answers (a z of the wrong width:
  INVALID_ARGUMENT "Matrix size-incompatible: ..." -> HTTP 400 `{"error": ...}`).
  Nothing a request can send drops the connection: a failure of the double itself
  is HTTP 500 / INTERNAL.
- Server-side batching is OFF unless `enable_batching=True` (TF Serving's
  `--enable_batching`, default false): only then is a request larger than
  `max_batch_size` refused ("Task size N is larger than maximum input batch size M").

`write_tiny_generator_export` writes exports of a `TinyGAN` (a few Dense weights)
through the real exporter (`tfgan_app.export.archive.export_gan`), so the served
signatures, warmup requests and `assets.extra/signature_contract.json` are exactly
those of a real export, and tests can compare served outputs with direct Keras calls.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
import threading
import types
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

# --------------------------------------------------------------------------- export
LATENT_DIM = 4
NUM_CLASSES = 3
IMAGE_SHAPE = (2, 3, 1)  # (H, W, C)


def reference_z(seeds, latent_dim: int = LATENT_DIM) -> np.ndarray:
    """The latent vectors the exports draw for `seeds` (one stateless draw each)."""
    import tensorflow as tf
    return np.stack([
        tf.random.stateless_normal([latent_dim], seed=tf.constant([int(s), 0], tf.int64))
        .numpy() for s in np.asarray(seeds).reshape(-1)])  # (B, latent)


def reference_labels(seeds, num_classes: int = NUM_CLASSES) -> np.ndarray:
    """The labels conditional exports draw for `seeds` (seed-only signatures), int32 (B,)."""
    import tensorflow as tf
    return np.array([
        tf.random.stateless_uniform([], tf.constant([int(s), 1], tf.int64), 0, num_classes,
                                    dtype=tf.int32).numpy()
        for s in np.asarray(seeds).reshape(-1)], np.int32)


class TinyGAN:
    """A stand-in for `tfgan_app.games.gan.GAN` with only what the exporter reads.

    One Dense layer (tanh) from z (and a label embedding, if conditional) to an
    image of `image_shape`; normal noise; no weight average.
    """

    def __init__(self, latent_dim: int = LATENT_DIM, num_classes: int = 0,
                 image_shape=IMAGE_SHAPE, seed: int = 0):
        import keras

        keras.utils.set_random_seed(seed)
        self.latent_dim, self.num_classes = int(latent_dim), int(num_classes)
        self.image_shape = tuple(image_shape)
        self.noise, self.noise_range = "normal", 1.0
        self.ema_decay, self.generator_ema = 0.0, None
        n_pixels = int(np.prod(image_shape))
        z_in = keras.Input((latent_dim,), name="z")
        if num_classes:
            labels_in = keras.Input((), dtype="int32", name="labels")
            emb = keras.layers.Embedding(num_classes, latent_dim)(labels_in)  # (B, latent)
            h, inputs = keras.layers.Concatenate()([z_in, emb]), [z_in, labels_in]
        else:
            h, inputs = z_in, z_in
        x = keras.layers.Dense(n_pixels, activation="tanh")(h)
        self.generator = keras.Model(inputs, keras.layers.Reshape(image_shape)(x),
                                     name="tiny_cg" if num_classes else "tiny_g")

    @property
    def conditional(self) -> bool:
        return self.num_classes > 0

    @property
    def sampler(self):
        return self.generator

    def generate(self, z, labels=None):
        import tensorflow as tf
        inputs = [z, labels] if self.conditional else z
        return tf.cast(self.sampler(inputs, training=False), tf.float32)

    def samples(self, z, labels=None) -> np.ndarray:
        """generate() on numpy inputs, as numpy float32."""
        z = np.asarray(z, np.float32)
        labels = None if labels is None else np.asarray(labels, np.int32)
        return self.generate(z, labels).numpy()


def make_tiny_generator_archive(num_classes: int = NUM_CLASSES, latent_dim: int = LATENT_DIM,
                                image_shape=IMAGE_SHAPE, seed: int = 0):
    """A not-yet-written ExportArchive of a TinyGAN, built by the GAN's signatures (`export.gan`).

    Returns:
        (archive, contract, gan): add endpoints if a test needs more, then
        `archive.write_out(dir)`; `contract` is the export's signature contract.
    """
    from tfgan_app.export.gan import GANSignatures

    gan = TinyGAN(latent_dim, num_classes, image_shape, seed)
    archive, contract = GANSignatures(gan).build()
    return archive, contract, gan


def write_tiny_generator_export(export_base, num_classes: int = 0, name: str = "generator",
                                version: int = 1, **kwargs):
    """Export a TinyGAN with the real exporter to EXPORT_BASE/NAME/VERSION (checked, atomic).

    Returns:
        A namespace: `gan` (TinyGAN: `gan.samples(z, labels)`), `export_dir`,
        `contract_path` (its `assets.extra/signature_contract.json`), `latent_dim`,
        `num_classes`, `image_shape`.
    """
    from tfgan_app.export import archive as exporting
    from tfgan_app.export import contract as contract_lib

    gan = TinyGAN(num_classes=num_classes, **kwargs)
    result = exporting.export_gan(gan, export_base, name, version)
    return types.SimpleNamespace(
        gan=gan, export_dir=result.export_dir,
        contract_path=result.export_dir / exporting.EXTRA_DIR / contract_lib.CONTRACT_FILE,
        latent_dim=gan.latent_dim, num_classes=gan.num_classes, image_shape=gan.image_shape)


# --------------------------------------------------------------------------- serving core
_HTTP_STATUS = {  # TF Serving's ToHTTPStatusCode (model_servers/http_server.cc)
    "CANCELLED": 499, "UNKNOWN": 500, "INVALID_ARGUMENT": 400, "DEADLINE_EXCEEDED": 504,
    "NOT_FOUND": 404, "ALREADY_EXISTS": 409, "PERMISSION_DENIED": 403,
    "RESOURCE_EXHAUSTED": 429, "FAILED_PRECONDITION": 400, "ABORTED": 409,
    "OUT_OF_RANGE": 400, "UNIMPLEMENTED": 501, "INTERNAL": 500, "UNAVAILABLE": 503,
    "DATA_LOSS": 500, "UNAUTHENTICATED": 401,
}
_METHOD_NAMES = ("tensorflow/serving/predict", "tensorflow/serving/classify",
                 "tensorflow/serving/regress")  # predict_util.cc
_TF_CODE_NAMES = {1: "CANCELLED", 2: "UNKNOWN", 3: "INVALID_ARGUMENT",
                  4: "DEADLINE_EXCEEDED", 5: "NOT_FOUND", 6: "ALREADY_EXISTS",
                  7: "PERMISSION_DENIED", 8: "RESOURCE_EXHAUSTED", 9: "FAILED_PRECONDITION",
                  10: "ABORTED", 11: "OUT_OF_RANGE", 12: "UNIMPLEMENTED", 13: "INTERNAL",
                  14: "UNAVAILABLE", 15: "DATA_LOSS", 16: "UNAUTHENTICATED"}


class ServingStatus(Exception):
    """A non-OK status of the fake server: `code` is a gRPC / absl code name."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def _json_type(v) -> str:
    if v is None:
        return "Null"
    if isinstance(v, bool):
        return "True" if v else "False"
    if isinstance(v, (int, float)):
        return "Number"
    if isinstance(v, str):
        return "String"
    return "Array" if isinstance(v, list) else "Object"


def _is_b64(v) -> bool:
    return isinstance(v, dict) and set(v) == {"b64"} and isinstance(v["b64"], str)


def _leaf(v, dtype: str):
    """One JSON leaf -> Python value of `dtype`, with TF Serving's type rules."""
    def type_error():
        return ServingStatus("INVALID_ARGUMENT", f"JSON Value: {json.dumps(v)} Type: "
                             f"{_json_type(v)} is not of expected type: {dtype}")
    if dtype in ("float", "double"):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise type_error()
        return float(v)
    if dtype in ("int32", "int64", "uint8"):
        if isinstance(v, bool) or not isinstance(v, int):  # 1.0 is a Number, not an Int
            raise type_error()
        return v
    if dtype == "bool":
        if not isinstance(v, bool):
            raise type_error()
        return v
    if dtype == "string":
        if _is_b64(v):
            try:
                return base64.b64decode(v["b64"], validate=True)
            except ValueError:
                raise ServingStatus("INVALID_ARGUMENT", "Unable to base64 decode") from None
        if isinstance(v, str):
            return v.encode("utf-8")
        if isinstance(v, dict):
            raise ServingStatus("INVALID_ARGUMENT", f"JSON Value: {json.dumps(v)} not "
                                "formatted correctly for base64 data")
        raise type_error()
    raise ServingStatus("UNIMPLEMENTED", f"Conversion of JSON Value: {json.dumps(v)} to "
                        f"type: {dtype}")


_NP_OF = {"float": np.float32, "double": np.float64, "int32": np.int32,
          "int64": np.int64, "uint8": np.uint8, "bool": np.bool_, "string": object}


def _json_to_array(value, dtype: str) -> np.ndarray:
    """A (dense) nested JSON list -> numpy array, checking shape and leaf types."""
    shape = []
    probe = value
    while isinstance(probe, list):
        shape.append(len(probe))
        probe = probe[0] if probe else None
    flat = []

    def walk(v, level):
        if not isinstance(v, list):
            if level != len(shape):
                raise ServingStatus("INVALID_ARGUMENT", f"JSON Value: {json.dumps(v)} found "
                                    f"at incorrect level: {level + 1} in the JSON DOM. "
                                    f"Expected at level: {len(shape)}")
            flat.append(_leaf(v, dtype))
            return
        if level >= len(shape):
            raise ServingStatus("INVALID_ARGUMENT", f"Encountered list at unexpected "
                                f"level: {level} expected < {len(shape)}")
        if len(v) != shape[level]:
            raise ServingStatus("INVALID_ARGUMENT", f"Encountered list at unexpected size: "
                                f"{len(v)} at level: {level} expected size: {shape[level]}")
        for item in v:
            walk(item, level + 1)

    walk(value, 0)
    out = np.empty(len(flat), dtype=_NP_OF[dtype])
    for i, x in enumerate(flat):
        out[i] = x
    return out.reshape(shape)


def _to_json(array: np.ndarray, as_bytes: bool):
    if array.dtype == object:
        def enc(b):
            if as_bytes:
                return {"b64": base64.b64encode(b).decode("ascii")}
            return b.decode("utf-8", "replace")
        return np.vectorize(enc, otypes=[object])(array).tolist() if array.ndim else enc(
            array.item())
    # json.dumps writes NaN / Infinity / -Infinity tokens, as TF Serving does.
    return array.tolist()


def _runtime_message(message: str) -> str:
    """Drop the Python runtime's "Graph execution error ... Detected at node" preamble,
    keeping the op's own message (what TF Serving's C++ session reports)."""
    lines = message.splitlines()
    marks = [i for i, line in enumerate(lines) if line.strip() == "<stack traces unavailable>"
             or line.startswith("Detected at node")]
    if marks and lines[0].startswith("Graph execution error"):
        i = marks[-1] + 1
        while i < len(lines) and (lines[i].startswith("  ") or not lines[i].strip()):
            i += 1  # traceback lines
        return "\n".join(lines[i:]) or message
    return message


class FakeTFServing:
    """TEST DOUBLE: serve one SavedModel over REST and gRPC on 127.0.0.1.

    Not for users: it runs the export with TensorFlow's Python runtime, not TF
    Serving's loader. Use it as a context manager in tests:

        with FakeTFServing(export_dir, model_name="generator") as server:
            client = Client(rest_port=server.rest_port, grpc_port=server.grpc_port)

    Args:
        export_dir: the SavedModel (one version directory).
        model_name: served model name.
        version: the version number it is served as.
        enable_batching: TF Serving's `--enable_batching` (default false, as there):
            with it, a request of more than `max_batch_size` rows is refused;
            without it there is no cap.
        max_batch_size: `max_batch_size` of the batching parameters (only used with
            `enable_batching`).
    """

    def __init__(self, export_dir, model_name: str = "generator", version: int = 1,
                 enable_batching: bool = False, max_batch_size: int = 256):
        import tensorflow as tf
        from tensorflow.core.protobuf import saved_model_pb2

        self.export_dir = str(export_dir)
        self.model_name, self.version = model_name, int(version)
        self.enable_batching = bool(enable_batching)
        self.max_batch_size = int(max_batch_size)
        self._loaded = tf.saved_model.load(self.export_dir)
        sm = saved_model_pb2.SavedModel()
        sm.ParseFromString(Path(self.export_dir, "saved_model.pb").read_bytes())
        meta = next(m for m in sm.meta_graphs if "serve" in m.meta_info_def.tags)
        # Every SignatureDef, `__saved_model_init_op` included, as TF Serving keeps them.
        self.signature_defs = dict(meta.signature_def.items())
        self.rest_port = self.grpc_port = None
        self._http = self._grpc = self._thread = None
        self.requests = []  # (protocol, signature) of each predict call, for tests
        self.metadata_requests = []  # protocol of each model metadata call, for tests

    # ---------------------------------------------------------------- core
    def _dtype(self, info) -> str:
        import tensorflow as tf
        return tf.dtypes.as_dtype(info.dtype).name.replace("float32", "float").replace(
            "float64", "double")

    def check_model(self, name: str, version: int | None):
        if name != self.model_name or (version is not None and version != self.version):
            spec = (f"Latest({name})" if version is None else f"Specific({name}, {version})")
            raise ServingStatus("NOT_FOUND", f"Servable not found for request: {spec}")

    def predict(self, protocol: str, signature: str, inputs: dict) -> dict:
        """Run a signature on numpy inputs (already decoded); returns numpy outputs."""
        import tensorflow as tf

        sig = self.signature_defs[signature]
        if sig.method_name not in _METHOD_NAMES:  # e.g. __saved_model_init_op
            raise ServingStatus("INTERNAL", "Expected prediction signature method_name to "
                                "be one of {" + ", ".join(_METHOD_NAMES) + "}. Was: "
                                + sig.method_name)
        if self.enable_batching:  # BatchingSession; without batching there is no cap
            batch = max((len(v) for v in inputs.values() if np.ndim(v) > 0), default=0)
            if batch > self.max_batch_size:
                raise ServingStatus("INVALID_ARGUMENT", f"Task size {batch} is larger than "
                                    f"maximum input batch size {self.max_batch_size}")
        # No shape check against the SignatureDef: TF Serving has none either; the
        # graph's ops refuse what does not fit (INVALID_ARGUMENT, their message).
        self.requests.append((protocol, signature))
        fn = self._loaded.signatures[signature]
        try:
            outputs = fn(**{k: tf.constant(v, dtype=tf.dtypes.as_dtype(sig.inputs[k].dtype))
                            for k, v in inputs.items()})
        except tf.errors.OpError as e:
            raise ServingStatus(_TF_CODE_NAMES.get(e.error_code, "UNKNOWN"),
                                _runtime_message(e.message)) from None
        except (TypeError, ValueError) as e:
            # The Python function binding refused the inputs before any op ran; TF
            # Serving's session would refuse them too, as INVALID_ARGUMENT.
            raise ServingStatus("INVALID_ARGUMENT", str(e).strip().splitlines()[0]) from None
        return {k: v.numpy() for k, v in outputs.items()}

    # ---------------------------------------------------------------- REST
    def rest_predict(self, name, version, body: bytes) -> dict:
        self.check_model(name, version)
        try:
            doc = json.loads(body.decode("utf-8")) if body else None
        except ValueError as e:
            raise ServingStatus("INVALID_ARGUMENT", f"JSON Parse error: {e}") from None
        if doc is None:
            raise ServingStatus("INVALID_ARGUMENT", "JSON Parse error: The document is empty")
        if not isinstance(doc, dict):
            raise ServingStatus("INVALID_ARGUMENT", f"JSON Value: {json.dumps(doc)} Is not "
                                "object")
        signature = doc.get("signature_name", "")
        if not isinstance(signature, str):
            raise ServingStatus("INVALID_ARGUMENT", "'signature_name' key must be a string "
                                "value.")
        signature = signature or "serving_default"
        if signature not in self.signature_defs:
            raise ServingStatus("INVALID_ARGUMENT", f'Serving signature name: "{signature}" '
                                "not found in signature def")
        infos = self.signature_defs[signature].inputs
        dtypes = {k: self._dtype(v) for k, v in infos.items()}
        if "instances" in doc and "inputs" in doc:
            raise ServingStatus("INVALID_ARGUMENT", "Not formatted correctly expecting only "
                                "one of 'inputs' or 'instances' keys to exist")
        if "inputs" in doc:
            row = False
            value = doc["inputs"]
            if not isinstance(value, dict) or _is_b64(value):
                if len(infos) > 1:
                    raise ServingStatus("INVALID_ARGUMENT", "inputs is a plain value/list, "
                                        "but expecting an object as multiple input tensors "
                                        "required as per tensorinfo_map")
                value = {next(iter(infos)): value}
            arrays = {}
            for key in sorted(infos):  # extra keys are ignored, as in TF Serving
                if key not in value:
                    raise ServingStatus("INVALID_ARGUMENT", f"Missing named input: {key} in "
                                        "'inputs' object.")
                arrays[key] = _json_to_array(value[key], dtypes[key])
        elif "instances" in doc:
            row = True
            items = doc["instances"]
            if not isinstance(items, list):
                raise ServingStatus("INVALID_ARGUMENT", "Excepting 'instances' to be an "
                                    "list/array")
            if not items:
                raise ServingStatus("INVALID_ARGUMENT", "No values in 'instances' array")
            objects = isinstance(items[0], dict) and not _is_b64(items[0])
            if not objects and len(infos) > 1:
                raise ServingStatus("INVALID_ARGUMENT", "instances is a plain list, but "
                                    "expecting list of objects as multiple input tensors "
                                    "required as per tensorinfo_map")
            columns = {k: [] for k in infos}
            for i, item in enumerate(items):
                if objects:
                    if not isinstance(item, dict) or set(item) != set(infos):
                        raise ServingStatus("INVALID_ARGUMENT", f"Failed to process element: "
                                            f"{i} of 'instances' list. JSON object: "
                                            f"{json.dumps(item)} keys must be equal to: "
                                            + ",".join(sorted(infos)))
                    for k in infos:
                        columns[k].append(item[k])
                else:
                    columns[next(iter(infos))].append(item)
            arrays = {k: _json_to_array(v, dtypes[k]) for k, v in columns.items()}
        else:
            raise ServingStatus("INVALID_ARGUMENT", "Missing 'inputs' or 'instances' key")
        outputs = self.predict("rest", signature, arrays)
        encoded = {k: _to_json(v, k.endswith("_bytes") and v.dtype == object)
                   for k, v in sorted(outputs.items())}
        if row:
            batch = len(next(iter(outputs.values())))
            if len(encoded) == 1:
                return {"predictions": next(iter(encoded.values()))}
            return {"predictions": [{k: v[i] for k, v in encoded.items()}
                                    for i in range(batch)]}
        if len(encoded) == 1:  # TF Serving drops the name of a single output
            return {"outputs": next(iter(encoded.values()))}
        return {"outputs": encoded}

    def _signature_def_map(self):
        from tensorflow_serving.apis import get_model_metadata_pb2
        sig_map = get_model_metadata_pb2.SignatureDefMap()
        for k, v in self.signature_defs.items():
            sig_map.signature_def[k].CopyFrom(v)
        return sig_map

    def rest_metadata(self, name, version) -> dict:
        from google.protobuf import json_format
        self.check_model(name, version)
        self.metadata_requests.append("rest")
        # http_rest_api_util.cc ToJsonString: always_print_primitive_fields and
        # preserve_proto_field_names, model_spec and the SignatureDefMap printed apart.
        return {"model_spec": {"name": self.model_name, "signature_name": "",
                               "version": str(self.version)},
                "metadata": {"signature_def": json_format.MessageToDict(
                    self._signature_def_map(), preserving_proto_field_name=True,
                    always_print_fields_with_no_presence=True)}}

    def rest_status(self, name, version) -> dict:
        self.check_model(name, version)
        return {"model_version_status": [{
            "version": str(self.version), "state": "AVAILABLE",
            "status": {"error_code": "OK", "error_message": ""}}]}

    # ---------------------------------------------------------------- gRPC
    def _make_servicer(self):
        import grpc
        import tensorflow as tf
        from tensorflow_serving.apis import (get_model_metadata_pb2, predict_pb2,
                                             prediction_service_pb2_grpc)
        server = self

        def abort(context, status: ServingStatus):
            context.abort(getattr(grpc.StatusCode, status.code), status.message)

        class Servicer(prediction_service_pb2_grpc.PredictionServiceServicer):
            def Predict(self, request, context):
                spec = request.model_spec
                try:
                    server.check_model(spec.name, spec.version.value
                                       if spec.HasField("version") else None)
                    signature = spec.signature_name or "serving_default"
                    if signature not in server.signature_defs:
                        raise ServingStatus("FAILED_PRECONDITION", f'Serving signature key '
                                            f'"{signature}" not found.')
                    infos = server.signature_defs[signature].inputs
                    sent, wanted = set(request.inputs), set(infos)
                    if sent != wanted:
                        raise ServingStatus(
                            "INVALID_ARGUMENT",
                            f"input size does not match signature: {len(sent)}!="
                            f"{len(wanted)} len({{{','.join(sorted(sent))}}}) != "
                            f"len({{{','.join(sorted(wanted))}}}). Sent extra: "
                            f"{{{','.join(sorted(sent - wanted))}}}. Missing but required:"
                            f" {{{','.join(sorted(wanted - sent))}}}.")
                    arrays = {}
                    for i, key in enumerate(sorted(infos)):
                        proto = request.inputs[key]
                        if proto.dtype != infos[key].dtype:
                            raise ServingStatus(
                                "INVALID_ARGUMENT",
                                f"Expects arg[{i}] to be "
                                f"{tf.dtypes.as_dtype(infos[key].dtype).name} but "
                                f"{tf.dtypes.as_dtype(proto.dtype).name} is provided")
                        arrays[key] = tf.make_ndarray(proto)
                    outputs = server.predict("grpc", signature, arrays)
                except ServingStatus as status:
                    abort(context, status)
                except Exception as e:  # a bug of the double: say so, never hang up
                    abort(context, ServingStatus("INTERNAL", f"test double failed: "
                                                 f"{type(e).__name__}: {e}"))
                response = predict_pb2.PredictResponse()
                response.model_spec.name = server.model_name
                response.model_spec.version.value = server.version
                response.model_spec.signature_name = signature
                for k, v in outputs.items():
                    response.outputs[k].CopyFrom(tf.make_tensor_proto(v))
                return response

            def GetModelMetadata(self, request, context):
                spec = request.model_spec
                try:  # get_model_metadata_impl.cc: fields first, then the servable
                    if not request.metadata_field:
                        raise ServingStatus("INVALID_ARGUMENT", "GetModelMetadataRequest "
                                            "must specify at least one metadata_field")
                    for field in request.metadata_field:
                        if field != "signature_def":
                            raise ServingStatus("INVALID_ARGUMENT",
                                                f"Metadata field {field} is not supported")
                    server.check_model(spec.name, spec.version.value
                                       if spec.HasField("version") else None)
                except ServingStatus as status:
                    abort(context, status)
                server.metadata_requests.append("grpc")
                response = get_model_metadata_pb2.GetModelMetadataResponse()
                response.model_spec.name = server.model_name
                response.model_spec.version.value = server.version
                response.metadata["signature_def"].Pack(server._signature_def_map())
                return response

        return Servicer()

    # ---------------------------------------------------------------- lifecycle
    def start(self) -> "FakeTFServing":
        import grpc
        from tensorflow_serving.apis import prediction_service_pb2_grpc

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._http.daemon_threads = True
        self.rest_port = self._http.server_address[1]
        self._thread = threading.Thread(target=self._http.serve_forever,
                                         name="fake-tf-serving-rest", daemon=True)
        self._thread.start()
        self._grpc = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(
            self._make_servicer(), self._grpc)
        self.grpc_port = self._grpc.add_insecure_port("127.0.0.1:0")
        self._grpc.start()
        return self

    def stop(self):
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._thread.join(timeout=5)
            self._http = None
        if self._grpc is not None:
            self._grpc.stop(grace=None).wait(5)
            self._grpc = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


_PREDICT_RE = re.compile(r"/v1/models/([^/:]+)(?:/versions/(\d+))?:(classify|regress|predict)",
                         re.IGNORECASE)
_STATUS_RE = re.compile(r"/v1/models/([^/:]+)(?:/versions/(\d+))?(/metadata)?", re.IGNORECASE)


def run_client(export, model_name: str, *commands) -> list:
    """Runs `python serving/client.py --model NAME --rest-port P --grpc-port Q COMMAND...` for each
    command (a list of arguments) against a FakeTFServing of `export` (what export_run returns);
    their CompletedProcess results (text)."""
    client = Path(__file__).resolve().parents[1] / "serving" / "client.py"
    with FakeTFServing(export.export_dir, model_name=model_name, version=export.version) as server:
        base = [sys.executable, str(client), "--model", model_name, "--rest-port", str(server.rest_port),
                "--grpc-port", str(server.grpc_port)]
        return [subprocess.run(base + list(c), capture_output=True, text=True, timeout=60) for c in commands]


def _make_handler(server: FakeTFServing):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # keep test output clean
            pass

        def _reply(self, status: int, doc: dict):
            data = json.dumps(doc).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _handle(self, fn):
            try:
                doc = fn()
            except ServingStatus as s:
                return self._reply(_HTTP_STATUS.get(s.code, 500), {"error": s.message})
            except Exception as e:  # a bug of the double: say so, never hang up
                return self._reply(500, {"error": f"test double failed: "
                                                  f"{type(e).__name__}: {e}"})
            self._reply(200, doc)

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            m = _PREDICT_RE.fullmatch(self.path)
            if not m:
                return self._reply(400, {"error": f"Malformed request: POST {self.path}"})
            name, version, method = m.group(1), m.group(2), m.group(3).lower()
            version = int(version) if version else None
            if method != "predict":
                return self._reply(501, {"error": f"the test double implements only "
                                                  f":predict, not :{method}"})
            self._handle(lambda: server.rest_predict(name, version, body))

        def do_GET(self):
            m = _STATUS_RE.fullmatch(self.path)
            if not m:
                return self._reply(400, {"error": f"Malformed request: GET {self.path}"})
            name, version = m.group(1), int(m.group(2)) if m.group(2) else None
            if m.group(3):
                self._handle(lambda: server.rest_metadata(name, version))
            else:
                self._handle(lambda: server.rest_status(name, version))

    return Handler
