"""The signature contract of generator exports, in one place, and its JSON form.

`signature_contract(latent_dim, sample_shape, num_classes)` is the only statement of
which signatures a GAN's export has (another game states its own in export/NAME.py) and of every input's and output's dtype and shape;
the exporter (`export.gan.GANSignatures.build`, `archive.check_structure`, the warmup
requests) works from it, and every export carries it as DATA:

    assets.extra/signature_contract.json

    {"format": "tfgan_app.signature_contract/1",
     "signatures": {"generate": {"inputs":  {"seeds":   {"dtype": "int64",   "shape": [null]}},
                                 "outputs": {"labels":  {"dtype": "int32",   "shape": [null]},
                                             "samples": {"dtype": "float32", "shape": [null, 28, 28, 1]},
                                             "z":       {"dtype": "float32", "shape": [null, 128]}}},
                    ...}}

A shape lists one entry per dimension, `null` for any size (the batch, always
first); dtypes are numpy names ("float32", "int32", "int64") or "string" (bytes).
That file is what `serving/client.py` reads (`--contract`, `Client(contract=...)`;
without it the client builds the same document from TF Serving's model metadata)
and what the tests compare served outputs against: nothing else restates the
contract.

Plain Python (no TensorFlow, no numpy), so any tool can read a contract.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

FORMAT = "tfgan_app.signature_contract/1"
CONTRACT_FILE = "signature_contract.json"   # in an export's assets.extra/
DTYPES = ("float32", "float64", "float16", "int32", "int64", "uint8", "bool", "string")


class ContractError(ValueError):
    """A contract document that does not have the documented form; the message says where."""


def signature_contract(latent_dim: int, sample_shape, num_classes: int = 0, truncation: bool = False) -> dict:
    """The signatures of an export: {signature: {"inputs": {key: (dtype, shape)}, "outputs": ...}}.

    Args:
        latent_dim: width of z.
        sample_shape: one sample's shape: (dim,) for the toy problems, (H, W, C)
            for image models (which also get `generate_png`).
        num_classes: > 0 for a conditional model (labels in, and the conditional
            signatures); 0 otherwise.
        truncation: add `generate_truncated` (seeds and a truncation threshold per row:
            BigGAN's truncation trick), for generators fed normal noise.

    Returns:
        {signature: {"inputs": {key: (dtype, shape)}, "outputs": {key: (dtype, shape)}}};
        a shape is a list with None for any size (the batch, first).
    """
    latent_dim, num_classes = int(latent_dim), int(num_classes)
    sample_shape = [int(d) for d in sample_shape]
    if latent_dim < 1 or not sample_shape or min(sample_shape) < 1 or num_classes < 0:
        raise ContractError(f"no contract for latent_dim={latent_dim}, sample_shape="
                            f"{sample_shape}, num_classes={num_classes}: expected positive "
                            "sizes and num_classes >= 0")
    z = ("float32", [None, latent_dim])
    seeds, labels = ("int64", [None]), ("int32", [None])
    samples = ("float32", [None, *sample_shape])
    conditional = num_classes > 0
    contract = {}
    if conditional:
        contract["serving_default"] = {"inputs": {"z": z, "labels": labels},
                                       "outputs": {"samples": samples}}
        contract["generate"] = {"inputs": {"seeds": seeds},
                                "outputs": {"samples": samples, "z": z, "labels": labels}}
    else:
        contract["serving_default"] = {"inputs": {"z": z}, "outputs": {"samples": samples}}
        contract["generate"] = {"inputs": {"seeds": seeds},
                                "outputs": {"samples": samples, "z": z}}
    if truncation:
        outputs = {"samples": samples, "z": z, **({"labels": labels} if conditional else {})}
        contract["generate_truncated"] = {"inputs": {"seeds": seeds, "truncation": ("float32", [None])},
                                          "outputs": outputs}
    if len(sample_shape) == 3:  # (H, W, C): an image model
        contract["generate_png"] = {"inputs": {"seeds": seeds},
                                    "outputs": {"images_bytes": ("string", [None])}}
    if conditional:
        contract["conditional"] = {"inputs": {"z": z, "labels": labels},
                                   "outputs": {"samples": samples}}
        contract["generate_conditional"] = {"inputs": {"seeds": seeds, "labels": labels},
                                            "outputs": {"samples": samples, "z": z}}
    return contract


# --------------------------------------------------------------------------- JSON form
def to_document(contract: dict) -> dict:
    """The JSON document of a contract (as `signature_contract` returns it)."""
    return {
        "format": FORMAT,
        "signatures": {
            name: {kind: {key: {"dtype": dtype, "shape": None if shape is None else list(shape)}
                          for key, (dtype, shape) in sorted(sig[kind].items())}
                   for kind in ("inputs", "outputs")}
            for name, sig in sorted(contract.items())},
    }


def from_document(doc, source: str = "contract") -> dict:
    """A contract document -> {signature: {"inputs": {key: (dtype, shape)}, "outputs": ...}}.

    Raises:
        ContractError: `doc` is not a contract document of this format; the message
            names `source` and the offending field.
    """
    def bad(where, what):
        return ContractError(f"{source}: {where}: {what}")

    if not isinstance(doc, dict):
        raise bad("document", f"expected a JSON object, got {type(doc).__name__}")
    if doc.get("format") != FORMAT:
        raise bad("format", f"{doc.get('format')!r}, expected {FORMAT!r}")
    sigs = doc.get("signatures")
    if not isinstance(sigs, dict) or not sigs:
        raise bad("signatures", "expected a non-empty object {signature: {inputs, outputs}}")
    contract = {}
    for name, sig in sigs.items():
        if not isinstance(sig, dict) or set(sig) != {"inputs", "outputs"}:
            raise bad(f"signatures.{name}", "expected exactly the keys inputs and outputs")
        contract[name] = {}
        for kind in ("inputs", "outputs"):
            tensors = sig[kind]
            if not isinstance(tensors, dict):
                raise bad(f"signatures.{name}.{kind}", "expected an object {key: {dtype, shape}}")
            out = {}
            for key, info in tensors.items():
                where = f"signatures.{name}.{kind}.{key}"
                if not isinstance(info, dict) or set(info) != {"dtype", "shape"}:
                    raise bad(where, "expected exactly the keys dtype and shape")
                dtype, shape = info["dtype"], info["shape"]
                if dtype not in DTYPES:
                    raise bad(where, f"dtype {dtype!r} is not one of {', '.join(DTYPES)}")
                if shape is not None and (not isinstance(shape, list) or any(
                        d is not None and (isinstance(d, bool) or not isinstance(d, int)
                                           or d < 0) for d in shape)):
                    raise bad(where, f"shape {shape!r}: expected a list of sizes, null for "
                                     "any size (or null for unknown rank)")
                out[key] = (dtype, None if shape is None else list(shape))
            contract[name][kind] = out
    return contract


def write_contract(path, contract: dict) -> Path:
    """Write `to_document(contract)` to `path` (a file, or a directory: CONTRACT_FILE in it).

    The file is written next to its final name and renamed into place, so a reader
    never sees half a file.
    """
    path = Path(path)
    if path.is_dir():
        path = path / CONTRACT_FILE
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(to_document(contract), indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)
    return path


def read_document(path) -> dict:
    """The contract document at `path`: the JSON file, or an export directory holding it."""
    path = Path(path)
    if path.is_dir():
        path = path / "assets.extra" / CONTRACT_FILE
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        raise ContractError(f"{path}: no such file; exports written by tfgan_app carry "
                            f"assets.extra/{CONTRACT_FILE}") from None
    except ValueError as e:
        raise ContractError(f"{path}: not JSON ({e})") from None
    from_document(doc, str(path))  # validate
    return doc


def read_contract(path) -> dict:
    """`from_document(read_document(path))`: the contract of an export or contract file."""
    return from_document(read_document(path), str(path))
