import json
import pickle

import pytest

from pyimagesearch.modelfiles.sidecar import (
    FORMAT,
    VERSION,
    image_counts,
    load_label_names,
    load_model_info,
    save_model_info,
    sidecar_path,
)
from pyimagesearch.utils.errors import UserError


def test_sidecar_round_trip(tmp_path):
    model = tmp_path / "out" / "net.keras"
    spec = {"width": 32, "height": 24, "depth": 3, "flatten": True, "resize": "aspect",
            "channel_order": "BGR", "scale": 1 / 255, "mean": None}
    save_model_info(model, ["a", "b"], spec, run={"test_accuracy": 0.5})
    assert sidecar_path(model) == str(tmp_path / "out" / "net.json")
    info = load_model_info(model)
    assert info["class_names"] == ["a", "b"] and info["input"] == spec
    assert info["run"]["test_accuracy"] == 0.5


def test_missing_and_foreign_sidecars_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="sidecar not found"):
        load_model_info(tmp_path / "none.keras")
    (tmp_path / "other.json").write_text(json.dumps({"hello": 1}))
    with pytest.raises(UserError, match="not a pyimagesearch model sidecar"):
        load_model_info(tmp_path / "other.keras")
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(UserError, match="not a valid JSON"):
        load_model_info(tmp_path / "broken.keras")


# A version-1 sidecar of train_model.py, as the project wrote it before the
# run keys were unified (train_rows/test_rows, no scale or flatten).
VERSION_1_TRANSFER = {
    "format": "pyimagesearch-model/1", "class_names": ["cats", "dogs"],
    "input": {"width": 224, "height": 224, "depth": 3, "resize": "simple", "channel_order": "BGR",
              "backbone": "mobilenet", "weights": None, "alpha": 0.25, "pooling": "avg", "flip": True,
              "seed": 42, "feature_dim": 256, "weights_sha256": None},
    "run": {"arguments": {"db": "f.hdf5"}, "features_file": "/data/f.hdf5", "train_rows": 30,
            "test_rows": 10, "test_accuracy": 0.9},
}


def test_version_1_sidecar_loads_with_the_current_run_keys(tmp_path):
    (tmp_path / "lr.json").write_text(json.dumps(VERSION_1_TRANSFER))
    info = load_model_info(tmp_path / "lr.skops")
    assert info["format"] == FORMAT and info["class_names"] == ["cats", "dogs"]
    assert info["input"] == VERSION_1_TRANSFER["input"]
    run = info["run"]
    assert (run["train_images"], run["test_images"]) == (30, 10)
    assert "train_rows" not in run and "test_rows" not in run
    assert run["test_accuracy"] == 0.9 and run["features_file"] == "/data/f.hdf5"


def test_saving_writes_the_current_version_and_run_keys(tmp_path):
    spec = {"width": 8, "height": 8, "depth": 3}
    info = save_model_info(tmp_path / "m.skops", ["a", "b"], spec, {"train_rows": 5, **image_counts(test=2)})
    on_disk = json.loads((tmp_path / "m.json").read_text())
    assert on_disk == info and on_disk["format"] == f"pyimagesearch-model/{VERSION}"
    assert on_disk["run"] == {"train_images": 5, "test_images": 2}


def one_line_error(path):
    with pytest.raises(UserError) as caught:
        load_model_info(path)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(str(path.with_suffix(".json")))
    return message


@pytest.mark.parametrize("change, problem", [
    ({"class_names": []}, "class_names"),
    ({"class_names": "cats"}, "class_names"),
    ({"input": None}, "input"),
    ({"input": {"width": "224", "height": 224}}, "input width"),
    ({"input": {"width": 224}}, "input height"),
    ({"run": [1, 2]}, "run section"),
    ({"format": "pyimagesearch-model/two"}, "version"),
])
def test_malformed_sidecar_is_a_one_line_error_naming_the_file(tmp_path, change, problem):
    (tmp_path / "m.json").write_text(json.dumps({**VERSION_1_TRANSFER, **change}))
    message = one_line_error(tmp_path / "m.keras")
    assert "malformed model sidecar" in message and problem in message


def test_sidecar_of_a_newer_version_is_refused_in_one_line(tmp_path):
    newer = {**VERSION_1_TRANSFER, "format": f"pyimagesearch-model/{VERSION + 1}"}
    (tmp_path / "m.json").write_text(json.dumps(newer))
    message = one_line_error(tmp_path / "m.keras")
    assert f"written by a newer version {VERSION + 1}" in message and "update the project" in message


class _Exploit:
    """Unpickling this would create a file: proof that code ran."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (open, (self.target, "w"))


def test_pickled_label_file_is_refused_and_never_executed(tmp_path):
    marker = tmp_path / "pwned"
    labels = tmp_path / "labels.pickle"
    labels.write_bytes(pickle.dumps(_Exploit(str(marker))))
    with pytest.raises(UserError, match="not JSON"):
        load_label_names(labels)
    assert not marker.exists()
    good = tmp_path / "labels.json"
    good.write_text(json.dumps(["cat", "dog"]))
    assert load_label_names(good) == ["cat", "dog"]
