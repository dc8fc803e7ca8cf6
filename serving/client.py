"""Client for a generator served by TF Serving, over REST (stdlib only) or gRPC.

The signatures, their inputs and outputs, dtypes and shapes are NOT written down
here: they are the export's signature contract, which the client reads as data:

- `--contract PATH` / `Client(contract=PATH)`: the export's
  `assets.extra/signature_contract.json` (or the export directory holding it),
  written by the exporter (`tfgan_app/export/contract.py`);
- otherwise the same document is built once from the server's model metadata
  (TF Serving's GetModelMetadata / `GET .../metadata` lists every SignatureDef
  with its dtypes and shapes).

Every output comes back as a numpy array of exactly the contract's dtype over both
protocols (REST JSON has no integer widths: values are cast to the contract dtype,
refusing any that do not fit); string outputs are object arrays of `bytes`. The
convenience calls cast their inputs to the contract's input dtypes. See
serving/README.md for the signatures of our exports.

Importable:
    from client import Client           # with serving/ on sys.path
    c = Client(host="localhost", model="generator", protocol="rest")
    out = c.generate([1, 2, 3])          # {"samples": (3, H, W, C) float32, "z": (3, latent), ...}
    pngs = c.generate_png([1, 2, 3])     # [b"\\x89PNG...", ...]
    c.translate_png([open("in.png", "rb").read()])   # an image-to-image export: [b"\\x89PNG..."]
    c.contract                           # the contract document in use

Command line:
    python serving/client.py --host localhost --model generator generate --seeds 1 2 3
    python serving/client.py --contract exports/generator/1 png --seeds 1 2 3 --out-dir samples/
    python serving/client.py --protocol grpc metadata
    python serving/client.py --model edges translate --png edges.png --out digit.png   # pix2pix
    python serving/client.py --model digits text2image "a thin two leaning left" --out two.png   # StackGAN
    python serving/client.py --model chars text --seeds 1 2 3                                    # chargan
    python serving/client.py --model tunes melody --seed 3 --chords C,G,Am,F --out tune.mid       # midinet
    python serving/client.py contract > signature_contract.json

REST is plain `urllib` + `json` (TF Serving's columnar "inputs" format). gRPC needs
`tensorflow-serving-api` (and so TensorFlow); it is imported only when used.
"""

from __future__ import annotations

import argparse
import base64
import json
import socket
import sys
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np

# The contract document this client reads (tfgan_app/export/contract.py writes it).
CONTRACT_FORMAT = "tfgan_app.signature_contract/1"
CONTRACT_FILE = "signature_contract.json"   # in an export's assets.extra/

# TF's DataType names (model metadata) -> the contract's dtype names.
_DT_TO_NAME = {"DT_FLOAT": "float32", "DT_DOUBLE": "float64", "DT_INT32": "int32",
               "DT_INT64": "int64", "DT_UINT8": "uint8", "DT_BOOL": "bool",
               "DT_STRING": "string", "DT_HALF": "float16"}
_NP = {"float32": np.float32, "float64": np.float64, "float16": np.float16,
       "int32": np.int32, "int64": np.int64, "uint8": np.uint8, "bool": np.bool_,
       "string": object}

START_HINT = "start it with: docker compose -f serving/docker-compose.yml up"


class ServingError(RuntimeError):
    """TF Serving refused a request, or could not be reached, or broke the contract.

    Attributes:
        message: the server's error message (REST `{"error": ...}`, gRPC details),
            or what went wrong on the way (connection refused, timeout, an output
            that does not match the contract).
        status: HTTP status (int) for REST, gRPC status code name (e.g.
            "INVALID_ARGUMENT") for gRPC; None if no server answered (or the
            answer was a success that broke the contract).
        protocol: "rest" or "grpc".
        target: "host:port" the request went to.
    """

    def __init__(self, message: str, status=None, protocol: str = "rest",
                 target: str = ""):
        self.message = message
        self.status = status
        self.protocol = protocol
        self.target = target
        where = f"{protocol} {target}".strip()
        prefix = f"[{where} status {status}] " if status is not None else f"[{where}] "
        super().__init__(prefix + message)


class ContractError(ValueError):
    """A contract document (file or server metadata) that cannot be used."""


# ---------------------------------------------------------------------- contract
def load_contract(source) -> dict:
    """A contract document from a path (JSON file or export directory) or a dict.

    Returns:
        {"format": ..., "signatures": {name: {"inputs": {key: {"dtype", "shape"}},
        "outputs": {...}}}}, validated.

    Raises:
        ContractError: no such file, not JSON, or not a contract document.
    """
    if isinstance(source, dict):
        return check_contract(json.loads(json.dumps(source)), "contract")  # a copy
    path = Path(source)
    if path.is_dir():
        path = path / "assets.extra" / CONTRACT_FILE
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        raise ContractError(f"--contract {source}: {path} does not exist; give an "
                            f"export's assets.extra/{CONTRACT_FILE} or the export "
                            "directory (or omit --contract to read the server's "
                            "metadata)") from None
    except (OSError, ValueError) as e:
        raise ContractError(f"--contract {source}: cannot read {path}: {e}") from None
    return check_contract(doc, f"--contract {path}")


def check_contract(doc, source: str) -> dict:
    """`doc` if it is a contract document this client understands, else ContractError."""
    def bad(what):
        return ContractError(f"{source}: {what}")

    if not isinstance(doc, dict) or doc.get("format") != CONTRACT_FORMAT:
        got = doc.get("format") if isinstance(doc, dict) else type(doc).__name__
        raise bad(f"format {got!r}, expected {CONTRACT_FORMAT!r}")
    sigs = doc.get("signatures")
    if not isinstance(sigs, dict):
        raise bad("no 'signatures' object")
    for name, sig in sigs.items():
        for kind in ("inputs", "outputs"):
            tensors = sig.get(kind) if isinstance(sig, dict) else None
            if not isinstance(tensors, dict):
                raise bad(f"signature '{name}' has no '{kind}' object")
            for key, info in tensors.items():
                if not isinstance(info, dict) or info.get("dtype") not in _NP:
                    raise bad(f"{name}.{kind}.{key}: dtype "
                              f"{info.get('dtype') if isinstance(info, dict) else info!r} "
                              f"is not one of {', '.join(_NP)}")
    return doc


def contract_from_metadata(metadata: dict, source: str = "model metadata") -> dict:
    """The contract document of a served model, from its metadata (`Client.metadata()`).

    Every SignatureDef becomes a signature, except TF's internal ones (`__...`, such
    as `__saved_model_init_op`, which TF Serving lists too); unknown sizes become
    None, an unknown rank a shape of None.
    """
    sigs = metadata.get("metadata", {}).get("signature_def", {}).get("signature_def")
    if not isinstance(sigs, dict):
        raise ContractError(f"{source}: no metadata.signature_def.signature_def object")

    def tensor(name, kind, key, info):
        dtype = _DT_TO_NAME.get(info.get("dtype"))
        if dtype is None:
            raise ContractError(f"{source}: {name}.{kind}.{key} has dtype "
                                f"{info.get('dtype')!r}, which this client does not "
                                f"handle ({', '.join(_DT_TO_NAME)})")
        shape_info = info.get("tensor_shape", {})
        if shape_info.get("unknown_rank"):
            shape = None
        else:
            shape = [None if int(d.get("size", -1)) < 0 else int(d["size"])
                     for d in shape_info.get("dim", [])]
        return {"dtype": dtype, "shape": shape}

    return check_contract({
        "format": CONTRACT_FORMAT,
        "signatures": {
            name: {kind: {key: tensor(name, kind, key, info)
                          for key, info in sorted(sig.get(kind, {}).items())}
                   for kind in ("inputs", "outputs")}
            for name, sig in sorted(sigs.items()) if not name.startswith("__")},
    }, source)


# ---------------------------------------------------------------------- arrays
_ROOTS = {"C": 0, "C#": 1, "Db": 1, "D": 2, "D#": 3, "Eb": 3, "E": 4, "F": 5, "F#": 6, "Gb": 6, "G": 7,
          "G#": 8, "Ab": 8, "A": 9, "A#": 10, "Bb": 10, "B": 11}


def chord_id(name: str) -> int:
    """A chord name (C, F#, Bb, Am, C#m, ...) -> MidiNet's chord id: root + 12 for minor."""
    text = name.strip()
    minor = text.endswith("m")
    root = text[:-1] if minor else text
    if root not in _ROOTS:
        raise ValueError(f"--chords: {name!r} is not a chord; expected a root C..B (with # or b) and an optional "
                         f"m for minor, e.g. C,G,Am,F")
    return _ROOTS[root] + 12 * minor


def _b64_object(value) -> bool:
    return isinstance(value, dict) and set(value) == {"b64"}


def _to_json_value(array: np.ndarray):
    """numpy -> JSON-able nested lists; bytes become {"b64": ...}."""
    if array.dtype == object or array.dtype.kind == "S":
        def enc(x):
            if isinstance(x, (bytes, np.bytes_)):
                return {"b64": base64.b64encode(bytes(x)).decode("ascii")}
            return str(x)
        return np.vectorize(enc, otypes=[object])(array).tolist() if array.ndim else enc(
            array.item())
    return array.tolist()


def _cast_exact(array: np.ndarray, dtype: str, what: str) -> np.ndarray:
    """`array` as `dtype` (a contract dtype name), refusing values that do not fit.

    Raises:
        ValueError: naming `what`, for values of another kind (floats for an
            integer dtype, text for a number) or out of the dtype's range.
    """
    if dtype == "string":
        flat = [x.encode("utf-8") if isinstance(x, str) else x
                for x in np.asarray(array, dtype=object).reshape(-1)]
        if not all(isinstance(x, (bytes, np.bytes_)) for x in flat):
            raise ValueError(f"{what}: expected strings / bytes (string), got {array.dtype}")
        out = np.empty(len(flat), dtype=object)
        out[:] = [bytes(x) for x in flat]
        return out.reshape(np.shape(array))
    target = np.dtype(_NP[dtype])
    if array.dtype == target:
        return array
    if array.size == 0:
        return array.astype(target)
    kind = array.dtype.kind
    if target.kind == "b":
        if kind != "b":
            raise ValueError(f"{what}: expected booleans (bool), got {array.dtype}")
        return array.astype(target)
    if kind not in "biuf":
        raise ValueError(f"{what}: expected numbers ({dtype}), got {array.dtype}")
    if target.kind in "iu":
        if kind == "f":
            if not np.all(np.isfinite(array)) or np.any(array != np.round(array)):
                raise ValueError(f"{what}: expected integers ({dtype}), got fractional "
                                 "or non-finite values")
        info = np.iinfo(target)
        lo, hi = array.min(), array.max()
        if lo < info.min or hi > info.max:
            raise ValueError(f"{what}: values in [{lo}, {hi}] do not fit {dtype} "
                             f"[{info.min}, {info.max}]")
    return array.astype(target)


def _from_json_value(value, dtype: str, what: str) -> np.ndarray:
    """A JSON output value -> numpy of exactly `dtype` ({"b64": ...}/text -> bytes)."""
    if dtype == "string":
        def walk(x):
            if isinstance(x, list):
                return [walk(v) for v in x]
            if _b64_object(x):
                return base64.b64decode(x["b64"])
            return x.encode("utf-8") if isinstance(x, str) else x
        return _cast_exact(np.array(walk(value), dtype=object), "string", what)
    try:
        array = np.asarray(value)
    except ValueError as e:  # ragged lists
        raise ValueError(f"{what}: not a rectangular array ({e})") from None
    return _cast_exact(array, dtype, what)


def _shape_fits(shape, contract_shape) -> bool:
    if contract_shape is None:
        return True
    return len(shape) == len(contract_shape) and all(
        want is None or want == got for got, want in zip(shape, contract_shape))


class Client:
    """Talk to one model on a TF Serving instance.

    Args:
        host: TF Serving host.
        model: model name from `models.config` ("generator").
        rest_port: REST port (8501).
        grpc_port: gRPC port (8500).
        protocol: "rest" or "grpc".
        version: pin a model version (int); None means the latest loaded.
        timeout: seconds per request.
        contract: where the signature contract comes from: a path to an export's
            `assets.extra/signature_contract.json` or to the export directory, a
            contract document (dict), or None to build it (once, on first use) from
            the server's model metadata.

    Raises:
        ContractError: `contract` names no readable contract document.
    """

    def __init__(self, host: str = "localhost", model: str = "generator",
                 rest_port: int = 8501, grpc_port: int = 8500, protocol: str = "rest",
                 version: int | None = None, timeout: float = 30, contract=None):
        if protocol not in ("rest", "grpc"):
            raise ValueError(f"protocol: '{protocol}' is not one of: rest, grpc")
        self.host, self.model, self.protocol = host, model, protocol
        self.rest_port, self.grpc_port = int(rest_port), int(grpc_port)
        self.version = None if version is None else int(version)
        self.timeout = timeout
        self._stub = None
        self._channel = None
        self._contract = None if contract is None else load_contract(contract)
        self.contract_source = ("server metadata" if contract is None else
                                "contract" if isinstance(contract, dict) else str(contract))

    # ------------------------------------------------------------------ helpers
    @property
    def target(self) -> str:
        port = self.rest_port if self.protocol == "rest" else self.grpc_port
        return f"{self.host}:{port}"

    def _model_url(self) -> str:
        url = f"http://{self.host}:{self.rest_port}/v1/models/{self.model}"
        return url + (f"/versions/{self.version}" if self.version is not None else "")

    def _unreachable(self, what: str) -> ServingError:
        return ServingError(f"no TF Serving is listening at {self.target} ({what}); "
                            f"{START_HINT}", None, self.protocol, self.target)

    def _rest(self, method: str, url: str, body: dict | None = None) -> dict:
        data = None if body is None else json.dumps(body).encode("utf-8")
        req = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return json.loads(resp.read().decode("utf-8"))
        except urllib.error.HTTPError as e:
            text = e.read().decode("utf-8", "replace")
            try:
                message = json.loads(text).get("error", text)
            except (ValueError, AttributeError):
                message = text.strip() or e.reason
            raise ServingError(str(message), e.code, "rest", self.target) from None
        except urllib.error.URLError as e:
            reason = e.reason
            if isinstance(reason, ConnectionRefusedError):
                raise self._unreachable("connection refused") from None
            if isinstance(reason, (socket.timeout, TimeoutError)):
                raise ServingError(f"no answer from {self.target} within {self.timeout} s",
                                   None, "rest", self.target) from None
            raise ServingError(f"cannot reach {self.target}: {reason}", None, "rest",
                               self.target) from None
        except (socket.timeout, TimeoutError):
            raise ServingError(f"no answer from {self.target} within {self.timeout} s",
                               None, "rest", self.target) from None
        except ConnectionError as e:
            raise self._unreachable(type(e).__name__) from None

    def _grpc_stub(self):
        if self._stub is None:
            import grpc
            from tensorflow_serving.apis import prediction_service_pb2_grpc
            self._channel = grpc.insecure_channel(self.target)
            self._stub = prediction_service_pb2_grpc.PredictionServiceStub(self._channel)
        return self._stub

    def _grpc_call(self, method: str, request):
        import grpc
        try:
            return getattr(self._grpc_stub(), method)(request, timeout=self.timeout)
        except grpc.RpcError as e:
            code, details = e.code(), e.details() or ""
            if code == grpc.StatusCode.UNAVAILABLE and "connect" in details.lower():
                raise self._unreachable("connection refused") from None
            if code == grpc.StatusCode.DEADLINE_EXCEEDED:
                raise ServingError(f"no answer from {self.target} within {self.timeout} s",
                                   code.name, "grpc", self.target) from None
            raise ServingError(details, code.name, "grpc", self.target) from None

    def close(self):
        """Close the gRPC channel, if one was opened."""
        if self._channel is not None:
            self._channel.close()
            self._channel = self._stub = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ------------------------------------------------------------------ contract
    @property
    def contract(self) -> dict:
        """The contract document in use: the one given, or (fetched once) the server's.

        Raises:
            ServingError: the server could not be asked for its metadata.
        """
        if self._contract is None:
            try:
                self._contract = contract_from_metadata(
                    self.metadata(), f"model metadata of '{self.model}' at {self.target}")
            except ContractError as e:
                raise ServingError(str(e), None, self.protocol, self.target) from None
        return self._contract

    def _broken(self, message: str) -> ServingError:
        """The server answered, but not as the contract says."""
        return ServingError(f"{message} (contract: {self.contract_source})", None,
                            self.protocol, self.target)

    def _signature(self, signature: str) -> dict:
        sigs = self.contract["signatures"]
        if signature not in sigs:
            raise self._broken(f"signature '{signature}' answered but is not in the "
                               f"contract, which has: {', '.join(sorted(sigs))}")
        return sigs[signature]

    def _contract_inputs(self, signature: str, inputs: dict) -> dict:
        """Inputs cast to the contract's dtypes (those the contract knows; others as given).

        Raises:
            ValueError: a value does not fit its dtype (e.g. a fractional seed).
        """
        known = self.contract["signatures"].get(signature, {}).get("inputs", {})
        return {k: _cast_exact(np.asarray(v), known[k]["dtype"], f"{signature} input '{k}'")
                if k in known else np.asarray(v) for k, v in inputs.items()}

    def _outputs(self, signature: str, outputs: dict, decode) -> dict[str, np.ndarray]:
        """Served outputs -> {name: array of exactly the contract's dtype}, shapes checked.

        `decode(value, dtype, what)` turns one served value into an array of `dtype`
        (ValueError if it cannot).
        """
        spec = self._signature(signature)["outputs"]
        if set(outputs) != set(spec):
            raise self._broken(f"signature '{signature}' returned outputs "
                               f"{sorted(outputs)}, the contract says {sorted(spec)}")
        result = {}
        for name in sorted(outputs):
            want = spec[name]
            what = f"{signature} output '{name}'"
            try:
                array = decode(outputs[name], want["dtype"], what)
            except ValueError as e:
                raise self._broken(str(e)) from None
            if array.size == 0 and want["shape"] and all(
                    d is not None for d in want["shape"][1:]):
                array = array.reshape(len(array), *want["shape"][1:])  # JSON [] lost them
            if not _shape_fits(array.shape, want["shape"]):
                raise self._broken(f"{what} has shape {list(array.shape)}, the contract "
                                   f"says {want['shape']} (None = any size)")
            result[name] = array
        return result

    # ------------------------------------------------------------------ API
    def predict(self, signature: str, inputs: dict) -> dict[str, np.ndarray]:
        """Run one signature. Inputs are sent with the dtypes you give them.

        Args:
            signature: e.g. "serving_default", "generate", "generate_png".
            inputs: {input name: array-like}; bytes values are sent as binary.

        Returns:
            {output name: np.ndarray} with exactly the contract's dtypes and shapes;
            string outputs are object arrays of bytes.

        Raises:
            ServingError: the server refused the request or could not be reached, or
                its answer does not match the contract (names, dtypes, shapes).
        """
        arrays = {k: np.asarray(v) for k, v in inputs.items()}
        if self.protocol == "grpc":
            return self._predict_grpc(signature, arrays)
        body = {"signature_name": signature,
                "inputs": {k: _to_json_value(v) for k, v in arrays.items()}}
        reply = self._rest("POST", self._model_url() + ":predict", body)
        if "outputs" not in reply:
            raise ServingError(f"unexpected reply without 'outputs': {str(reply)[:200]}",
                               200, "rest", self.target)
        outputs = reply["outputs"]
        spec = self._signature(signature)["outputs"]
        if isinstance(outputs, dict) and not _b64_object(outputs):
            named = outputs
        else:
            # TF Serving drops the output name when a signature has one output.
            if len(spec) != 1:
                raise self._broken(f"signature '{signature}' returned one unnamed output "
                                   f"but the contract has {len(spec)} "
                                   f"({', '.join(sorted(spec))})")
            named = {next(iter(spec)): outputs}
        return self._outputs(signature, named, _from_json_value)

    def _predict_grpc(self, signature: str, arrays: dict) -> dict[str, np.ndarray]:
        import tensorflow as tf
        from tensorflow_serving.apis import predict_pb2
        request = predict_pb2.PredictRequest()
        request.model_spec.name = self.model
        request.model_spec.signature_name = signature
        if self.version is not None:
            request.model_spec.version.value = self.version
        for k, v in arrays.items():
            request.inputs[k].CopyFrom(tf.make_tensor_proto(v))
        response = self._grpc_call("Predict", request)

        def decode(proto, dtype, what):
            array = tf.make_ndarray(proto)
            if array.dtype != np.dtype(_NP[dtype]):  # typed: a mismatch is a contract break
                got = "string" if array.dtype == object else array.dtype.name
                raise ValueError(f"{what} is {got}, the contract says {dtype}")
            return array

        return self._outputs(signature, dict(response.outputs), decode)

    def generate(self, seeds, labels=None) -> dict[str, np.ndarray]:
        """Samples from integer seeds (`generate`, or `generate_conditional` with labels).

        Returns:
            The signature's outputs, e.g. {"samples": (B, ...) float32, "z": (B, latent)
            float32} (+ "labels" int32 for a conditional model's `generate`).
        """
        seeds = np.asarray(seeds).reshape(-1)
        if labels is None:
            return self.predict("generate", self._contract_inputs("generate",
                                                                  {"seeds": seeds}))
        inputs = {"seeds": seeds, "labels": self._labels(labels, len(seeds))}
        return self.predict("generate_conditional",
                            self._contract_inputs("generate_conditional", inputs))

    def generate_truncated(self, seeds, truncation) -> dict[str, np.ndarray]:
        """Samples from seeds with z truncated to [-t, t] (`generate_truncated`, BigGAN's trick).

        `truncation` is one threshold for every seed, or one per seed.  Checked here before
        sending: every t must be a number > 0 (the server refuses the others in the graph,
        and with server-side batching on, that refusal fails every request batched with it).
        """
        seeds = np.asarray(seeds).reshape(-1)
        try:
            t = np.asarray(truncation, np.float64).reshape(-1).astype(np.float32)  # what the server will see
        except (TypeError, ValueError):
            raise ValueError(f"truncation: expected numbers > 0, got {truncation!r}") from None
        if len(t) == 1:
            t = np.repeat(t, len(seeds))
        if len(t) != len(seeds):
            raise ValueError(f"truncation: got {len(t)} thresholds for {len(seeds)} seeds; "
                             "give one, or one per seed")
        if not np.all(t > 0):  # NaN fails this too, and a value that rounds to 0 in float32
            raise ValueError(f"truncation: thresholds must be numbers > 0 (as float32), got {t.tolist()}")
        inputs = self._contract_inputs("generate_truncated", {"seeds": seeds, "truncation": t})
        return self.predict("generate_truncated", inputs)

    def generate_png(self, seeds) -> list[bytes]:
        """One PNG (bytes) per seed, from the `generate_png` signature."""
        inputs = self._contract_inputs("generate_png", {"seeds": np.asarray(seeds).reshape(-1)})
        out = self.predict("generate_png", inputs)
        return [bytes(b) for b in out["images_bytes"].reshape(-1)]

    def generate_text(self, seeds) -> list[str]:
        """One line of text per seed, from a language model's `generate_text` (chargan)."""
        if "generate_text" not in self.contract["signatures"]:
            raise ValueError("text: this export has no generate_text signature (is it a chargan export?)")
        inputs = self._contract_inputs("generate_text", {"seeds": np.asarray(seeds, dtype=np.int64).reshape(-1)})
        out = self.predict("generate_text", inputs)
        return [(t if isinstance(t, str) else bytes(t).decode("utf-8")) for t in out["text"].reshape(-1)]

    def melody_midi(self, seed: int, chords=None) -> bytes:
        """A Standard MIDI file from a melody export's `generate_midi` (MidiNet): chord names per bar
        ("C", "F#", "Bbm", ...) for a model trained on chords, none for one trained without."""
        name = "generate_midi"
        if name not in self.contract["signatures"]:
            raise ValueError("melody: this export has no generate_midi signature (is it a midinet export?)")
        takes_chords = "chords" in self.contract["signatures"][name]["inputs"]
        inputs = {"seeds": np.array([seed], dtype=np.int64)}
        if takes_chords:
            if not chords:
                raise ValueError("melody: this model plays over chords: give --chords, e.g. C,G,Am,F (one a bar)")
            inputs["chords"] = np.array([[chord_id(c) for c in chords]], dtype=np.int32)
        elif chords:
            raise ValueError("melody: this model was trained without chords: leave out --chords")
        out = self.predict(name, self._contract_inputs(name, inputs))
        return bytes(out["midi_bytes"].reshape(-1)[0])

    def text_to_image_png(self, texts, seeds) -> list[bytes]:
        """One PNG (bytes) per sentence from a text-to-image export's `generate_from_text_png`
        (StackGAN); `seeds` is one per text, or one for all."""
        name = "generate_from_text_png"
        if name not in self.contract["signatures"]:
            raise ValueError(f"text2image: this export has no {name} signature (is it a StackGAN export?)")
        texts = [str(t) for t in texts]
        seeds = np.asarray(seeds, dtype=np.int64).reshape(-1)
        if len(seeds) == 1:
            seeds = np.repeat(seeds, len(texts))
        if len(seeds) != len(texts):
            raise ValueError(f"text2image: {len(texts)} texts and {len(seeds)} seeds; give one seed per text, or one")
        inputs = self._contract_inputs(name, {"text": np.array([t.encode("utf-8") for t in texts], dtype=object),
                                              "seeds": seeds})
        out = self.predict(name, inputs)
        return [bytes(b) for b in out["images_bytes"].reshape(-1)]

    def translate_png(self, images, signature: str = "translate") -> list[bytes]:
        """Image files (bytes: PNG, JPEG, GIF or BMP) translated by an image-to-image export:
        one PNG (bytes) per image, from `<signature>_png` (translate_png for pix2pix; a_to_b_png
        or b_to_a_png for CycleGAN).  The export resizes each image to its training size."""
        images = [bytes(b) for b in images]
        name = f"{signature}_png"
        if name not in self.contract["signatures"]:
            png_forms = sorted(k[:-4] for k in self.contract["signatures"] if k.endswith("_png"))
            raise ValueError(f"--signature {signature}: this export has no {name} signature; "
                             f"it has: {', '.join(png_forms) or 'no image-in PNG signatures'}")
        out = self.predict(name, {"images_bytes": np.array(images, dtype=object)})
        return [bytes(b) for b in out["images_bytes"].reshape(-1)]

    def sample(self, z, labels=None) -> np.ndarray:
        """Samples from latent vectors (`serving_default`, or `conditional` with labels).

        Returns:
            samples, (B, ...) float32.
        """
        z = np.asarray(z)
        if z.ndim == 1:
            z = z[None, :]  # (latent,) -> (1, latent)
        if labels is None:
            signature, inputs = "serving_default", {"z": z}
        else:
            signature, inputs = "conditional", {"z": z, "labels": self._labels(labels, len(z))}
        return self.predict(signature, self._contract_inputs(signature, inputs))["samples"]

    @staticmethod
    def _labels(labels, batch: int) -> np.ndarray:
        labels = np.asarray(labels).reshape(-1)
        if len(labels) != batch:
            raise ValueError(f"labels: got {len(labels)} labels for a batch of {batch}; "
                             "give one label per seed / latent vector")
        return labels

    def metadata(self) -> dict:
        """Model metadata with every SignatureDef (REST `GET .../metadata` JSON shape).

        Returns:
            {"model_spec": {...}, "metadata": {"signature_def": {"signature_def":
            {name: {"inputs": {...}, "outputs": {...}, "method_name": ...}}}}};
            TF Serving lists TF's internal `__saved_model_init_op` too.
        """
        if self.protocol == "rest":
            return self._rest("GET", self._model_url() + "/metadata")
        from google.protobuf import json_format
        from tensorflow_serving.apis import get_model_metadata_pb2
        request = get_model_metadata_pb2.GetModelMetadataRequest()
        request.model_spec.name = self.model
        if self.version is not None:
            request.model_spec.version.value = self.version
        request.metadata_field.append("signature_def")
        response = self._grpc_call("GetModelMetadata", request)
        sig_map = get_model_metadata_pb2.SignatureDefMap()
        response.metadata["signature_def"].Unpack(sig_map)
        return {
            "model_spec": json_format.MessageToDict(response.model_spec,
                                                    preserving_proto_field_name=True),
            "metadata": {"signature_def": json_format.MessageToDict(
                sig_map, preserving_proto_field_name=True)},
        }


def summarize_signatures(metadata: dict) -> str:
    """One line per signature: `name(inputs) -> outputs` with dtypes and shapes."""
    lines = []
    sigs = metadata.get("metadata", {}).get("signature_def", {}).get("signature_def", {})
    for name, sig in sorted(sigs.items()):
        if name.startswith("__"):
            continue

        def fmt(tensors):
            parts = []
            for key, info in sorted(tensors.items()):
                dims = info.get("tensor_shape", {}).get("dim", [])
                shape = ",".join("?" if int(d.get("size", -1)) < 0 else str(d["size"])
                                 for d in dims)
                parts.append(f"{key}: {_DT_TO_NAME.get(info.get('dtype'), info.get('dtype'))}"
                             f"[{shape}]")
            return ", ".join(parts)
        lines.append(f"{name}({fmt(sig.get('inputs', {}))}) -> {fmt(sig.get('outputs', {}))}")
    return "\n".join(lines)


# ---------------------------------------------------------------------- CLI
def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python serving/client.py",
        description="Ask a TF Serving instance for generator samples.")
    p.add_argument("--host", default="localhost")
    p.add_argument("--model", default="generator", help="model name (default: generator)")
    p.add_argument("--protocol", choices=("rest", "grpc"), default="rest")
    p.add_argument("--rest-port", type=int, default=8501)
    p.add_argument("--grpc-port", type=int, default=8500)
    p.add_argument("--version", type=int, default=None,
                   help="model version (default: latest)")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds per request")
    p.add_argument("--contract", metavar="PATH", default=None,
                   help="the export's assets.extra/signature_contract.json, or the export "
                        "directory (default: read the contract from the server's metadata)")
    sub = p.add_subparsers(dest="command", required=True)
    g = sub.add_parser("generate", help="samples from seeds (generate / "
                                        "generate_conditional)")
    g.add_argument("--seeds", type=int, nargs="+", required=True)
    g.add_argument("--labels", type=int, nargs="+", default=None,
                   help="one class label per seed (conditional models)")
    g.add_argument("--save", metavar="OUT.npz", help="write samples and z to this .npz")
    t = sub.add_parser("truncated", help="samples from seeds with truncated noise (generate_truncated)")
    t.add_argument("--seeds", type=int, nargs="+", required=True)
    t.add_argument("--truncation", type=float, nargs="+", required=True,
                   help="threshold t > 0: one for all seeds, or one per seed")
    t.add_argument("--save", metavar="OUT.npz", help="write samples and z to this .npz")
    png = sub.add_parser("png", help="PNG files from seeds (generate_png)")
    png.add_argument("--seeds", type=int, nargs="+", required=True)
    png.add_argument("--out-dir", required=True, help="writes seed_<seed>.png here")
    tr = sub.add_parser("translate", help="an image file translated by an image-to-image export (<signature>_png)")
    tr.add_argument("--signature", default="translate",
                    help="translate (pix2pix; default), a_to_b or b_to_a (CycleGAN): its _png form is called")
    tr.add_argument("--png", required=True, help="the input image file (PNG, JPEG, GIF or BMP)")
    tr.add_argument("--out", required=True, help="writes the translated PNG here")
    ti = sub.add_parser("text2image", help="an image drawn from a sentence by a text-to-image export "
                                           "(generate_from_text_png)")
    ti.add_argument("text", help='the sentence, e.g. "a thin two leaning left"')
    ti.add_argument("--seed", type=int, default=0, help="which image for that sentence (default 0)")
    ti.add_argument("--out", required=True, help="writes the PNG here")
    tx = sub.add_parser("text", help="lines of text from seeds, by a language-model export (generate_text)")
    tx.add_argument("--seeds", type=int, nargs="+", required=True, help="one line per seed")
    me = sub.add_parser("melody", help="a MIDI file from a melody export (generate_midi)")
    me.add_argument("--seed", type=int, default=0, help="which melody (default 0)")
    me.add_argument("--chords", default="", help="one chord a bar, e.g. C,G,Am,F (models trained on chords)")
    me.add_argument("--out", required=True, help="writes the MIDI file here")
    m = sub.add_parser("metadata", help="list the served signatures")
    m.add_argument("--json", action="store_true", help="print the full metadata JSON")
    sub.add_parser("contract", help="print the contract document in use (JSON; from "
                                    "--contract or the server's metadata)")
    return p


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    try:
        client = Client(host=args.host, model=args.model, rest_port=args.rest_port,
                        grpc_port=args.grpc_port, protocol=args.protocol,
                        version=args.version, timeout=args.timeout, contract=args.contract)
    except ContractError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    try:
        if args.command in ("generate", "truncated"):
            out = (client.generate(args.seeds, args.labels) if args.command == "generate"
                   else client.generate_truncated(args.seeds, args.truncation))
            for name, value in sorted(out.items()):
                print(f"{name}: shape={list(value.shape)} dtype={value.dtype.name} "
                      f"min={value.min():.4f} max={value.max():.4f}")
            if args.save:
                np.savez(args.save, **out)
                print(f"saved {args.save}")
        elif args.command == "png":
            pngs = client.generate_png(args.seeds)
            out_dir = Path(args.out_dir)
            out_dir.mkdir(parents=True, exist_ok=True)
            for seed, data in zip(args.seeds, pngs):
                path = out_dir / f"seed_{seed}.png"
                path.write_bytes(data)
                print(path)
        elif args.command == "translate":
            try:
                data = Path(args.png).read_bytes()
            except OSError as e:
                print(f"error: --png {args.png}: {e.strerror or e}", file=sys.stderr)
                return 1
            Path(args.out).write_bytes(client.translate_png([data], args.signature)[0])
            print(args.out)
        elif args.command == "text2image":
            Path(args.out).write_bytes(client.text_to_image_png([args.text], [args.seed])[0])
            print(args.out)
        elif args.command == "text":
            for seed, line in zip(args.seeds, client.generate_text(args.seeds)):
                print(f"{seed}\t{line}")
        elif args.command == "melody":
            chords = [c for c in args.chords.split(",") if c.strip()]
            Path(args.out).write_bytes(client.melody_midi(args.seed, chords))
            print(args.out)
        elif args.command == "contract":
            print(json.dumps(client.contract, indent=2, sort_keys=True))
        else:
            meta = client.metadata()
            print(json.dumps(meta, indent=2) if args.json else summarize_signatures(meta))
        return 0
    except ServingError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except ValueError as e:  # e.g. labels / seeds count mismatch, a seed that is no integer
        print(f"error: {e}", file=sys.stderr)
        return 1
    finally:
        client.close()


if __name__ == "__main__":
    sys.exit(main())
