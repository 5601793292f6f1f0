"""Wrong usage gets one line naming the problem and exit code 2, never a
traceback; these all fail before TensorFlow is even imported."""

import cv2
import numpy as np
import pytest
from conftest import assert_clean_failure, run_script


@pytest.mark.parametrize("script", ["train_simple_nn.py", "train_vgg.py"])
def test_missing_dataset(script, tmp_path):
    result = run_script(script, "--dataset", tmp_path / "missing")
    assert_clean_failure(result, 2, "missing", "not found")


def test_dataset_is_a_file(tmp_path):
    path = tmp_path / "file.jpg"
    path.write_bytes(b"x")
    assert_clean_failure(run_script("train_vgg.py", "--dataset", path), 2, "is a file")


def test_empty_dataset(tmp_path):
    (tmp_path / "cats").mkdir()
    assert_clean_failure(run_script("train_simple_nn.py", "--dataset", tmp_path), 2, "no images found")


def test_one_class_only(tmp_path):
    (tmp_path / "cats").mkdir()
    for i in range(3):
        cv2.imwrite(str(tmp_path / "cats" / f"{i}.png"), np.zeros((4, 4, 3), np.uint8))
    assert_clean_failure(run_script("train_vgg.py", "--dataset", tmp_path), 2, "at least 2", "cats")


@pytest.mark.parametrize("value", ["1.5", "0", "-0.2"])
def test_test_size_out_of_range(value, colour_dataset):
    result = run_script("train_simple_nn.py", "--dataset", colour_dataset, "--test-size", value)
    assert_clean_failure(result, 2, "--test-size", value)


@pytest.mark.parametrize("flag, value", [("--label-smoothing", "1.5"), ("--label-smoothing", "-0.1"),
                                         ("--mixup", "-0.2"), ("--cutmix", "1.5")])
def test_regularisation_flags_out_of_range(flag, value, colour_dataset):
    result = run_script("train_vgg.py", "--dataset", colour_dataset, flag, value)
    assert_clean_failure(result, 2, flag, value)


def test_output_folder_that_cannot_be_created(tmp_path, colour_dataset):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    result = run_script("train_simple_nn.py", "--dataset", colour_dataset, "--size", 8,
                        "--model", blocker / "out" / "nn.keras")
    assert_clean_failure(result, 1, "a_file", "cannot create output folder")


def test_mixup_and_cutmix_together(colour_dataset):
    result = run_script("train_vgg.py", "--dataset", colour_dataset, "--mixup", "0.2", "--cutmix", "1")
    assert_clean_failure(result, 2, "--mixup", "--cutmix")
