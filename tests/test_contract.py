"""tfgan_app.export.contract: the one statement of the signature contract, and its JSON.

The exporter builds its signatures from it and writes it into every export as
`assets.extra/signature_contract.json`, inside the temporary directory, before the
rename that publishes the export; the file must describe the SavedModel's
SignatureDefs exactly.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tfgan_app.export import archive as exporting
from tfgan_app.export import contract as contract_lib
from tfgan_app.export.contract import ContractError
from tfgan_app.export.gan import GANSignatures

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fake_tf_serving import TinyGAN  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
KINDS = {  # name: (latent_dim, sample_shape, num_classes)
    "toy": (2, (2,), 0),
    "image": (16, (28, 28, 1), 0),
    "cond": (8, (8, 8, 3), 10),
}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_the_exporter_takes_its_contract_from_contract_py(kind):
    latent_dim, sample_shape, num_classes = KINDS[kind]
    gan = TinyGAN(latent_dim, num_classes, sample_shape)
    _, contract = GANSignatures(gan).build()
    assert contract == contract_lib.signature_contract(latent_dim, sample_shape, num_classes,
                                                       truncation=gan.noise == "normal")


def test_the_contract_of_each_kind_of_model():
    toy = contract_lib.signature_contract(2, (2,))
    assert sorted(toy) == ["generate", "serving_default"]
    assert toy["generate"] == {"inputs": {"seeds": ("int64", [None])},
                               "outputs": {"samples": ("float32", [None, 2]),
                                           "z": ("float32", [None, 2])}}
    image = contract_lib.signature_contract(16, (28, 28, 1))
    assert image["generate_png"] == {"inputs": {"seeds": ("int64", [None])},
                                     "outputs": {"images_bytes": ("string", [None])}}
    cond = contract_lib.signature_contract(8, (8, 8, 3), 10)
    assert sorted(cond) == ["conditional", "generate", "generate_conditional",
                            "generate_png", "serving_default"]
    assert cond["generate"]["outputs"]["labels"] == ("int32", [None])
    assert cond["serving_default"] == cond["conditional"]
    assert cond["generate_conditional"]["inputs"] == {"seeds": ("int64", [None]),
                                                      "labels": ("int32", [None])}
    truncated = contract_lib.signature_contract(8, (8, 8, 3), 10, truncation=True)
    assert set(truncated) - set(cond) == {"generate_truncated"}
    assert truncated["generate_truncated"] == {
        "inputs": {"seeds": ("int64", [None]), "truncation": ("float32", [None])},  # batch-major, no scalar
        "outputs": {"samples": ("float32", [None, 8, 8, 3]), "z": ("float32", [None, 8]),
                    "labels": ("int32", [None])}}
    with pytest.raises(ContractError, match="latent_dim=0"):
        contract_lib.signature_contract(0, (2,))


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_document_round_trips_through_json(kind, tmp_path):
    contract = contract_lib.signature_contract(*KINDS[kind])
    doc = contract_lib.to_document(contract)
    assert doc["format"] == contract_lib.FORMAT == "tfgan_app.signature_contract/1"
    text = json.dumps(doc)
    assert '"shape": [null' in text  # any size is JSON null
    assert contract_lib.from_document(json.loads(text)) == contract
    path = contract_lib.write_contract(tmp_path / "c.json", contract)
    assert contract_lib.read_contract(path) == contract
    assert json.loads(path.read_text()) == doc
    assert [p.name for p in tmp_path.iterdir()] == ["c.json"]  # no temporary file left


@pytest.mark.parametrize("edit, fragment", [
    (lambda d: d.update(format="v0"), "format: 'v0'"),
    (lambda d: d.update(signatures={}), "signatures: expected a non-empty object"),
    (lambda d: d["signatures"]["generate"].pop("outputs"), "signatures.generate: expected "
                                                           "exactly the keys"),
    (lambda d: d["signatures"]["generate"]["outputs"]["z"].update(dtype="float"),
     "signatures.generate.outputs.z: dtype 'float' is not one of"),
    (lambda d: d["signatures"]["generate"]["inputs"]["seeds"].update(shape=[-1]),
     "signatures.generate.inputs.seeds: shape [-1]"),
    (lambda d: d["signatures"]["generate"]["inputs"]["seeds"].update(shape="?"),
     "signatures.generate.inputs.seeds: shape '?'"),
])
def test_malformed_documents_name_the_field(edit, fragment):
    doc = contract_lib.to_document(contract_lib.signature_contract(*KINDS["cond"]))
    edit(doc)
    with pytest.raises(ContractError, match="^where: ") as err:
        contract_lib.from_document(doc, "where")
    assert fragment in str(err.value)


def test_reading_a_missing_or_broken_file_is_a_contract_error(tmp_path):
    with pytest.raises(ContractError, match="signature_contract.json: no such file"):
        contract_lib.read_contract(tmp_path)  # an "export directory" without the file
    (tmp_path / "x.json").write_text("{")
    with pytest.raises(ContractError, match="not JSON"):
        contract_lib.read_contract(tmp_path / "x.json")


def test_contract_py_needs_no_tensorflow():
    code = ("import sys, tfgan_app.export.contract as c\n"
            "c.to_document(c.signature_contract(4, (2, 3, 1), 3))\n"
            "print(sorted(m.split('.')[0] for m in sys.modules\n"
            "             if m.split('.')[0] in ('tensorflow', 'keras', 'numpy')))\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


# --------------------------------------------------------------------------- exports
@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """A conditional image TinyGAN exported by export_gan; records what the rename saw."""
    seen = []
    rename = exporting._rename_noreplace

    def spying_rename(src, dst):
        seen.append(sorted(p.name for p in (Path(src) / exporting.EXTRA_DIR).iterdir()))
        return rename(src, dst)

    mp = pytest.MonkeyPatch()
    mp.setattr(exporting, "_rename_noreplace", spying_rename)
    try:
        gan = TinyGAN(num_classes=3)
        result = exporting.export_gan(gan, tmp_path_factory.mktemp("exports"), "generator")
    finally:
        mp.undo()
    return result, seen


def test_every_export_carries_its_contract_written_before_the_rename(published):
    result, seen = published
    assert seen == [sorted(["export_info.json", "signature_contract.json",
                            "tf_serving_warmup_requests"])]
    path = result.export_dir / "assets.extra" / "signature_contract.json"
    assert contract_lib.read_contract(path) == result.signatures
    assert contract_lib.read_contract(result.export_dir) == result.signatures
    info = json.loads((result.export_dir / "assets.extra" / "export_info.json").read_text())
    assert info["signatures"] == json.loads(path.read_text())["signatures"]


def test_the_exported_contract_describes_the_saved_model_exactly(published):
    import tensorflow as tf
    from tensorflow.core.protobuf import saved_model_pb2

    result, _ = published
    doc = contract_lib.read_document(result.export_dir)
    sm = saved_model_pb2.SavedModel()
    sm.ParseFromString((result.export_dir / "saved_model.pb").read_bytes())
    [meta] = [m for m in sm.meta_graphs if "serve" in m.meta_info_def.tags]
    served = {}
    for name, sig in meta.signature_def.items():
        if name.startswith("__"):  # __saved_model_init_op: TF's, not ours
            continue
        served[name] = {kind: {key: {"dtype": tf.dtypes.as_dtype(info.dtype).name,
                                     "shape": [None if d.size < 0 else d.size
                                               for d in info.tensor_shape.dim]}
                               for key, info in getattr(sig, kind).items()}
                        for kind in ("inputs", "outputs")}
    assert doc["signatures"] == served


def test_a_failed_export_leaves_no_contract_behind(tmp_path, monkeypatch):
    def fail(*args, **kwargs):
        raise exporting.ExportError("injected")

    monkeypatch.setattr(exporting, "validate_export", fail)
    with pytest.raises(exporting.ExportError, match="injected"):
        exporting.export_gan(TinyGAN(image_shape=(5,)), tmp_path, "generator")
    assert list((tmp_path / "generator").iterdir()) == []
    assert not any(name.endswith(".json") for _, _, files in os.walk(tmp_path)
                   for name in files)
