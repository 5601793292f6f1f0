"""Load a trained classifier with its sidecar and classify image files in
batches, preparing each image exactly as the training script did."""

import glob
import os
import zipfile

import cv2
import keras
import numpy as np

from .datasets import IMAGE_EXTENSIONS, SimpleDatasetLoader, list_images
from .preprocessing import AspectAwarePreprocessor, SimplePreprocessor
from .preprocessing.modelinput import to_model_input
from .utils.errors import UserError
from .utils.modelinfo import load_label_names, load_model_info, sidecar_path

RESIZERS = {"simple": SimplePreprocessor, "aspect": AspectAwarePreprocessor}


def load_keras_model(path):
    """Load a `.keras` model in safe mode (no arbitrary code from lambdas)."""
    if not os.path.exists(path):
        raise UserError(f"{path}: model file not found; train one first (e.g. python train_vgg.py)")
    if os.path.isdir(path):
        raise UserError(f"{path}: is a folder; pass the .keras model file")
    if not zipfile.is_zipfile(path):
        raise UserError(f"{path}: not a Keras 3 .keras model file")
    try:
        return keras.models.load_model(path, compile=False, safe_mode=True)
    except Exception as exc:  # noqa: BLE001 - Keras raises many types for a bad archive
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"{path}: could not load the model ({first_line[:200]})", 1) from None


def load_classifier(model_path, label_bin=None, width=None, height=None, flatten=None):
    """Return (model, class_names, input_spec). The sidecar beside the model
    supplies everything; the tutorial's flags override it, and let a model
    without a sidecar be used at all."""
    model = load_keras_model(model_path)
    if os.path.exists(sidecar_path(model_path)):
        info = load_model_info(model_path)
        class_names, spec = info["class_names"], dict(info["input"])
    elif label_bin and width and height:
        class_names, spec = None, {"width": width, "height": height, "depth": 3, "resize": "simple",
                                   "flatten": bool(flatten), "scale": 1 / 255.0, "mean": None}
    else:
        load_model_info(model_path)  # raises the "sidecar not found" message
    if label_bin:
        class_names = load_label_names(label_bin)
    for key, value in (("width", width), ("height", height), ("flatten", flatten)):
        if value is not None:
            spec[key] = value
    check_model_matches(model, model_path, class_names, spec)
    return model, class_names, spec


def check_model_matches(model, model_path, class_names, spec):
    expected = ((spec["width"] * spec["height"] * spec["depth"],) if spec["flatten"]
                else (spec["height"], spec["width"], spec["depth"]))
    actual = tuple(model.input_shape[1:])
    if actual != expected:
        raise UserError(f"{model_path}: model expects input {actual} but the sidecar/flags give "
                        f"{expected}; check --width/--height/--flatten or the sidecar")
    outputs = model.output_shape[-1]
    if outputs != len(class_names):
        raise UserError(f"{model_path}: model has {outputs} outputs but the labels name "
                        f"{len(class_names)} classes; the sidecar or --label-bin belongs to "
                        "another model")


def expand_image_args(items):
    """Files, folders (searched recursively) and glob patterns -> sorted paths."""
    paths = []
    for item in items:
        if os.path.isdir(item):
            # "filename" labels keep images lying directly in the folder;
            # the labels themselves are not needed here.
            paths.extend(list_images(item, label_from="filename")[0])
        elif os.path.isfile(item):
            paths.append(item)
        elif glob.has_magic(item):
            matches = [p for p in sorted(glob.glob(item, recursive=True))
                       if os.path.isfile(p) and p.lower().endswith(IMAGE_EXTENSIONS)]
            if not matches:
                raise UserError(f"{item}: no image files match this pattern")
            paths.extend(matches)
        else:
            raise UserError(f"{item}: image file or folder not found")
    if not paths:
        raise UserError(f"no images found in {', '.join(items)}")
    return paths


def predict_paths(model, spec, paths, batch_size=64, workers=None):
    """Yield (path, probabilities or None, skip reason or None) for every path,
    in order. Images are decoded in parallel, batch by batch, so memory stays
    bounded however many paths there are."""
    resizer = RESIZERS[spec.get("resize", "simple")](spec["width"], spec["height"])
    loader = SimpleDatasetLoader([resizer], workers=workers)
    for start in range(0, len(paths), batch_size):
        chunk = paths[start:start + batch_size]
        images, _ = loader.load(chunk)
        skipped = dict(loader.skipped)
        probs = []
        if len(images):
            batch = to_model_input(images, scale=spec.get("scale", 1 / 255.0),
                                   flatten=spec["flatten"], mean=spec.get("mean"))
            probs = np.asarray(model.predict_on_batch(batch))
        kept = iter(probs)
        for path in chunk:
            if path in skipped:
                yield path, None, skipped[path]
            else:
                yield path, next(kept), None


def top_k(probs, class_names, k=1):
    order = np.argsort(probs)[::-1][:k]
    return [(class_names[i], float(probs[i])) for i in order]


def annotate(image, text):
    """Draw `text` on a copy of `image`, scaled to the image's width."""
    annotated = image.copy()
    scale = max(0.4, annotated.shape[1] / 600)
    thickness = max(1, round(scale * 2))
    cv2.putText(annotated, text, (10, int(30 * scale)), cv2.FONT_HERSHEY_SIMPLEX, scale,
                (0, 0, 255), thickness, cv2.LINE_AA)
    return annotated
