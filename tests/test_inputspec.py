"""The input spec: one frozen type for the sidecar's "input" section, which
still reads as the dict it replaced."""
import dataclasses
import json

import numpy as np
import pytest

from pyimagesearch.inference.inputs import model_input
from pyimagesearch.preprocessing.inputspec import InputSpec
from pyimagesearch.preprocessing.modelinput import to_model_input
from pyimagesearch.utils.errors import UserError

# The "input" sections the project has written (version 1 sidecars).
KERAS_V1 = {"width": 32, "height": 32, "depth": 3, "flatten": True, "resize": "aspect",
            "channel_order": "BGR", "scale": 1 / 255.0, "mean": None}
ALEXNET_V1 = {"width": 64, "height": 64, "depth": 3, "flatten": False, "resize": "simple",
              "channel_order": "BGR", "scale": 1.0, "mean": [103.5, 116.25, 123.0], "crop": 56}
FINETUNED_V1 = {"width": 224, "height": 224, "depth": 3, "flatten": False, "resize": "simple",
                "channel_order": "BGR", "scale": 1.0, "mean": None,
                "preprocessing": "in the model: BGR->RGB, then mobilenet preprocess_input"}
TRANSFER_V1 = {"width": 320, "height": 320, "depth": 3, "resize": "simple", "channel_order": "BGR",
               "backbone": "mobilenet", "weights": "/w/mobilenet.h5", "alpha": 0.25, "pooling": "avg",
               "flip": True, "seed": 42, "feature_dim": 256, "weights_sha256": "ab12"}


@pytest.mark.parametrize("written", [KERAS_V1, ALEXNET_V1, FINETUNED_V1, TRANSFER_V1])
def test_every_written_section_loads_and_writes_back_unchanged(written):
    spec = InputSpec.from_dict(written)
    assert spec.to_dict() == written and list(spec.to_dict()) == list(written)
    assert json.loads(json.dumps(spec.to_dict())) == written
    assert dict(spec) == written and spec == written


def test_defaults_are_defined_once_and_older_sections_take_them():
    spec = InputSpec.from_dict({"width": 8, "height": 6, "resize": None})
    assert (spec.depth, spec.flatten, spec.resize, spec.channel_order, spec.scale, spec.mean) == \
        (3, False, "simple", "BGR", 1 / 255.0, None)
    assert spec.crop is None and "crop" not in spec and spec.get("crop", "absent") == "absent"


def test_mapping_view_reads_like_the_old_dict():
    spec = InputSpec(16, 12, flatten=True, mean=[1, 2, 3])
    assert spec["width"] == 16 and spec.get("flatten") is True and spec.get("scale", 0) == 1 / 255.0
    assert spec["mean"] == [1.0, 2.0, 3.0] and spec.mean == (1.0, 2.0, 3.0)
    assert dict(spec, scale=1.0)["scale"] == 1.0 and {**spec}["height"] == 12
    with pytest.raises(KeyError):
        spec["backbone"]
    # A transfer spec's backbone prepares the pixels: no scale, flatten or mean keys.
    transfer = InputSpec.from_dict(TRANSFER_V1)
    assert transfer.is_transfer and "scale" not in transfer and transfer["backbone"] == "mobilenet"


def test_replace_makes_a_copy_and_nothing_changes_in_place():
    spec = InputSpec(32, 32)
    alexnet = spec.replace(scale=1.0, crop=28, mean=(10, 20, 30))
    assert (spec.scale, spec.crop, spec.mean) == (1 / 255.0, None, None)
    assert alexnet.to_dict() == {**spec.to_dict(), "scale": 1.0, "mean": [10.0, 20.0, 30.0], "crop": 28}
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.width = 64
    with pytest.raises(TypeError):
        spec["width"] = 64


def test_the_spec_prepares_a_batch_as_the_dict_did():
    images = np.random.default_rng(0).integers(0, 256, (2, 4, 4, 3), dtype=np.uint8)
    for written in (KERAS_V1, ALEXNET_V1 | {"width": 4, "height": 4}):
        spec = InputSpec.from_dict(written)
        # What the package did with the sidecar's dict before InputSpec.
        as_the_dict_did = to_model_input(images, scale=written.get("scale", 1 / 255.0),
                                         flatten=written.get("flatten", False), mean=written.get("mean"))
        np.testing.assert_array_equal(model_input(spec, images), as_the_dict_did)


@pytest.mark.parametrize("section, problem", [
    ({"width": 8}, "no width and height"),
    ({"width": 0, "height": 8}, "width must be a positive whole number"),
    ({"width": 8, "height": 8.5}, "height must be a positive whole number"),
    ({"width": 8, "height": 8, "resize": "crop"}, "resize must be one of simple, aspect"),
    ({"width": 8, "height": 8, "mean": [1, 2]}, "mean has 2 values for 3 channels"),
    ({"width": 8, "height": 8, "colour": "red"}, "unknown input key(s) colour"),
    ([8, 8], "must be a JSON object"),
])
def test_a_malformed_section_is_a_one_line_error_naming_the_file(section, problem):
    with pytest.raises(UserError) as caught:
        InputSpec.from_dict(section, where="m.json")
    message = str(caught.value)
    assert message.startswith("m.json: ") and problem in message and "\n" not in message
