import json
import pickle

import pytest

from pyimagesearch.modelfiles.sidecar import load_label_names, load_model_info, save_model_info, sidecar_path
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
