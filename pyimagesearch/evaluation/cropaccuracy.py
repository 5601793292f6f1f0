"""Evaluate a classifier on an HDF5 test file two ways: one view per image
(resized to the model's input) and 10-crop oversampling (the predictions on
the four corner and center crops and their mirrors, averaged)."""

import cv2
import numpy as np
from tqdm import tqdm

from ..io import HDF5DatasetGenerator
from ..preprocessing import CropPreprocessor, SimplePreprocessor
from ..preprocessing.modelinput import to_model_input
from .bootstrap import mean_interval


def prepare(images, preprocessor, spec):
    """Preprocess a uint8 batch image by image, then make it model input."""
    batch = np.stack([preprocessor.preprocess(image) for image in images])
    return to_model_input(batch, scale=spec.get("scale", 1 / 255.0), mean=spec.get("mean"))


def ten_crop_batch(images, width, height, spec):
    """All crops of a batch of images as one model-input batch, shape
    (len(images) * 10, height, width, 3), image by image."""
    crops = CropPreprocessor(width, height, horiz=True)
    batch = np.concatenate([crops.preprocess(image) for image in images])
    return to_model_input(batch, scale=spec.get("scale", 1 / 255.0), mean=spec.get("mean"))


def predict_views(model, db_path, spec, batch_size=32, ten_crop=True, progress=True,
                  average_crops=True):
    """Return (labels, single-view probabilities, 10-crop probabilities or
    None). `batch_size` images are read at a time; their single views go to
    the model in one call and their 10 * batch_size crops in another. With
    `average_crops=False` the crops' probabilities come back one by one,
    shape (images, 10, classes), in CropPreprocessor's order."""
    gen = HDF5DatasetGenerator(db_path, batch_size, binarize=False)
    height, width = spec["height"], spec["width"]
    stored = gen.images.shape[1:3]
    try:
        if ten_crop and (stored[0] < height or stored[1] < width):
            raise ValueError(f"{db_path}: images are {stored[1]}x{stored[0]}, smaller than the "
                             f"model's {width}x{height} input, so they cannot be cropped")
        resize = SimplePreprocessor(width, height, inter=cv2.INTER_AREA)
        labels, single, crops = [], [], []
        bar = tqdm(total=gen.num_images, unit="img", desc="evaluating", disable=not progress,
                   leave=False)
        for images, batch_labels in gen.generator(passes=1):
            labels.append(batch_labels)
            single.append(np.asarray(model.predict_on_batch(prepare(images, resize, spec))))
            if ten_crop:
                probs = np.asarray(model.predict_on_batch(ten_crop_batch(images, width, height, spec)))
                probs = probs.reshape(len(images), 10, -1)
                crops.append(probs.mean(axis=1) if average_crops else probs)
            bar.update(len(images))
        bar.close()
    finally:
        gen.close()
    return (np.concatenate(labels), np.concatenate(single),
            np.concatenate(crops) if ten_crop else None)


def compare_views(labels, single, crops, seed=0):
    """How 10-crop changes rank-1, image by image: the accuracy gain, how
    many images it fixes and breaks, and a 95% bootstrap confidence interval
    of the gain (None under 2 images). On a few hundred test images a
    one-point gain is a handful of images, so the interval says whether a
    difference is more than the luck of the test set."""
    labels = np.asarray(labels)
    diff = ((np.asarray(crops).argmax(axis=1) == labels).astype(np.int8)
            - (np.asarray(single).argmax(axis=1) == labels))  # +1 fixed, -1 broken
    return {"gain": float(diff.mean()) if len(diff) else 0.0, "ci95": mean_interval(diff, seed),
            "fixed": int((diff == 1).sum()), "broken": int((diff == -1).sum())}
