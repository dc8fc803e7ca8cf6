"""Client for a generator served by TF Serving, over REST (stdlib only) or gRPC.

Signatures of our exports (the contract, see serving/README.md):

| signature              | inputs                               | outputs                |
|------------------------|--------------------------------------|------------------------|
| `serving_default`      | `z` float32 [B, latent]              | `samples`              |
| `generate`             | `seeds` int64 [B]                    | `samples`, `z`         |
| `generate_png`         | `seeds` int64 [B]                    | `images_bytes` (PNG)   |
| `conditional`          | `z` float32 [B, latent], `labels` int32 [B] | `samples`       |
| `generate_conditional` | `seeds` int64 [B], `labels` int32 [B] | `samples`, `z`        |

Importable:
    from client import Client           # with serving/ on sys.path
    c = Client(host="localhost", model="generator", protocol="rest")
    out = c.generate([1, 2, 3])          # {"samples": (3, H, W, C) float32, "z": (3, latent)}
    pngs = c.generate_png([1, 2, 3])     # [b"\\x89PNG...", ...]

Command line:
    python serving/client.py --host localhost --model generator generate --seeds 1 2 3
    python serving/client.py png --seeds 1 2 3 --out-dir samples/
    python serving/client.py --protocol grpc metadata

REST is plain `urllib` + `json` (TF Serving's columnar "inputs" format). gRPC needs
`tensorflow-serving-api` (and so TensorFlow); it is imported only when used.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import socket
import sys
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np

# signature -> input and output dtypes (the export contract).
CONTRACT = {
    "serving_default": {"inputs": {"z": "float32"}, "outputs": {"samples": "float32"}},
    "generate": {"inputs": {"seeds": "int64"},
                 "outputs": {"samples": "float32", "z": "float32"}},
    "generate_png": {"inputs": {"seeds": "int64"}, "outputs": {"images_bytes": "string"}},
    "conditional": {"inputs": {"z": "float32", "labels": "int32"},
                    "outputs": {"samples": "float32"}},
    "generate_conditional": {"inputs": {"seeds": "int64", "labels": "int32"},
                             "outputs": {"samples": "float32", "z": "float32"}},
}

_DT_TO_NAME = {"DT_FLOAT": "float32", "DT_DOUBLE": "float64", "DT_INT32": "int32",
               "DT_INT64": "int64", "DT_UINT8": "uint8", "DT_BOOL": "bool",
               "DT_STRING": "string", "DT_HALF": "float16"}

START_HINT = "start it with: docker compose -f serving/docker-compose.yml up"


class ServingError(RuntimeError):
    """TF Serving refused a request, or could not be reached.

    Attributes:
        message: the server's error message (REST `{"error": ...}`, gRPC details),
            or what went wrong on the way (connection refused, timeout).
        status: HTTP status (int) for REST, gRPC status code name (e.g.
            "INVALID_ARGUMENT") for gRPC; None if no server answered.
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


def _from_json_value(value, dtype: str | None) -> np.ndarray:
    """JSON value -> numpy; {"b64": ...} and strings become bytes objects."""
    if dtype == "string" or _contains_strings(value):
        def walk(x):
            if isinstance(x, list):
                return [walk(v) for v in x]
            if _b64_object(x):
                return base64.b64decode(x["b64"])
            return x.encode("utf-8") if isinstance(x, str) else x
        return np.array(walk(value), dtype=object)  # bytes stay scalars
    return np.asarray(value, dtype=dtype) if dtype else np.asarray(value)


def _contains_strings(value) -> bool:
    while isinstance(value, list) and value:
        value = value[0]
    return isinstance(value, str) or _b64_object(value)


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
    """

    def __init__(self, host: str = "localhost", model: str = "generator",
                 rest_port: int = 8501, grpc_port: int = 8500, protocol: str = "rest",
                 version: int | None = None, timeout: float = 30):
        if protocol not in ("rest", "grpc"):
            raise ValueError(f"protocol: '{protocol}' is not one of: rest, grpc")
        self.host, self.model, self.protocol = host, model, protocol
        self.rest_port, self.grpc_port = int(rest_port), int(grpc_port)
        self.version = None if version is None else int(version)
        self.timeout = timeout
        self._stub = None
        self._channel = None
        self._output_specs: dict[str, dict[str, str]] = {}

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

    def _output_spec(self, signature: str) -> dict[str, str]:
        """{output name: dtype}, from the contract or (once) from the server."""
        if signature in CONTRACT:
            return CONTRACT[signature]["outputs"]
        if signature not in self._output_specs:
            sigs = self.metadata()["metadata"]["signature_def"]["signature_def"]
            if signature not in sigs:
                raise ServingError(f'Serving signature name: "{signature}" not found in '
                                   "signature def", None, self.protocol, self.target)
            self._output_specs[signature] = {
                k: _DT_TO_NAME.get(v.get("dtype"), None)
                for k, v in sorted(sigs[signature].get("outputs", {}).items())}
        return self._output_specs[signature]

    # ------------------------------------------------------------------ API
    def predict(self, signature: str, inputs: dict) -> dict[str, np.ndarray]:
        """Run one signature. Inputs are sent with the dtypes you give them.

        Args:
            signature: e.g. "serving_default", "generate", "generate_png".
            inputs: {input name: array-like}; bytes values are sent as binary.

        Returns:
            {output name: np.ndarray}; string outputs are object arrays of bytes.

        Raises:
            ServingError: the server refused the request or could not be reached.
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
        spec = self._output_spec(signature)
        if isinstance(outputs, dict) and not _b64_object(outputs):
            named = outputs
        else:
            # TF Serving drops the output name when a signature has one output.
            if len(spec) != 1:
                raise ServingError(f"signature '{signature}' returned one unnamed output "
                                   f"but {len(spec)} were expected ({', '.join(spec)})",
                                   200, "rest", self.target)
            named = {next(iter(spec)): outputs}
        return {k: _from_json_value(v, spec.get(k)) for k, v in named.items()}

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
        return {k: tf.make_ndarray(t) for k, t in sorted(response.outputs.items())}

    def generate(self, seeds, labels=None) -> dict[str, np.ndarray]:
        """Samples from integer seeds (`generate`, or `generate_conditional` with labels).

        Returns:
            {"samples": (B, ...) float32, "z": (B, latent) float32}.
        """
        inputs = {"seeds": np.asarray(seeds, dtype=np.int64).reshape(-1)}
        if labels is None:
            return self.predict("generate", inputs)
        inputs["labels"] = self._labels(labels, len(inputs["seeds"]))
        return self.predict("generate_conditional", inputs)

    def generate_png(self, seeds) -> list[bytes]:
        """One PNG (bytes) per seed, from the `generate_png` signature."""
        out = self.predict("generate_png",
                           {"seeds": np.asarray(seeds, dtype=np.int64).reshape(-1)})
        return [bytes(b) for b in out["images_bytes"].reshape(-1)]

    def sample(self, z, labels=None) -> np.ndarray:
        """Samples from latent vectors (`serving_default`, or `conditional` with labels).

        Returns:
            samples, (B, ...) float32.
        """
        z = np.asarray(z, dtype=np.float32)
        if z.ndim == 1:
            z = z[None, :]  # (latent,) -> (1, latent)
        if labels is None:
            return self.predict("serving_default", {"z": z})["samples"]
        return self.predict("conditional",
                            {"z": z, "labels": self._labels(labels, len(z))})["samples"]

    @staticmethod
    def _labels(labels, batch: int) -> np.ndarray:
        labels = np.asarray(labels, dtype=np.int32).reshape(-1)
        if len(labels) != batch:
            raise ValueError(f"labels: got {len(labels)} labels for a batch of {batch}; "
                             "give one label per seed / latent vector")
        return labels

    def metadata(self) -> dict:
        """Model metadata with every SignatureDef (REST `GET .../metadata` JSON shape).

        Returns:
            {"model_spec": {...}, "metadata": {"signature_def": {"signature_def":
            {name: {"inputs": {...}, "outputs": {...}, "method_name": ...}}}}}
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
    sub = p.add_subparsers(dest="command", required=True)
    g = sub.add_parser("generate", help="samples from seeds (generate / "
                                        "generate_conditional)")
    g.add_argument("--seeds", type=int, nargs="+", required=True)
    g.add_argument("--labels", type=int, nargs="+", default=None,
                   help="one class label per seed (conditional models)")
    g.add_argument("--save", metavar="OUT.npz", help="write samples and z to this .npz")
    png = sub.add_parser("png", help="PNG files from seeds (generate_png)")
    png.add_argument("--seeds", type=int, nargs="+", required=True)
    png.add_argument("--out-dir", required=True, help="writes seed_<seed>.png here")
    m = sub.add_parser("metadata", help="list the served signatures")
    m.add_argument("--json", action="store_true", help="print the full metadata JSON")
    return p


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    client = Client(host=args.host, model=args.model, rest_port=args.rest_port,
                    grpc_port=args.grpc_port, protocol=args.protocol,
                    version=args.version, timeout=args.timeout)
    try:
        if args.command == "generate":
            out = client.generate(args.seeds, args.labels)
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
        else:
            meta = client.metadata()
            print(json.dumps(meta, indent=2) if args.json else summarize_signatures(meta))
        return 0
    except ServingError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except ValueError as e:  # e.g. labels / seeds count mismatch
        print(f"error: {e}", file=sys.stderr)
        return 1
    finally:
        client.close()


if __name__ == "__main__":
    sys.exit(main())
