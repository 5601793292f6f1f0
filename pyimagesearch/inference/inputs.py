"""Turn the --image arguments into model input: expand files, folders and
patterns, decode in parallel, resize, scale, subtract the mean and flatten as
the sidecar says. numpy and OpenCV only: no TensorFlow on this path."""

import glob
import os

import numpy as np

from ..datasets import IMAGE_EXTENSIONS, SimpleDatasetLoader, list_images
from ..preprocessing.inputspec import InputSpec
from ..preprocessing.modelinput import to_model_input
from ..utils.errors import UserError


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


def decode_batches(spec, paths, batch_size=64, workers=None):
    """Yield (chunk of paths, uint8 images of the readable ones resized as
    the sidecar says, their paths, [(skipped path, reason)]) per batch of
    `paths`, in order. Images are decoded in parallel, one batch at a time,
    so memory stays bounded however many paths there are. `spec`: an
    InputSpec, or a sidecar's "input" dict."""
    resizer = InputSpec.from_dict(spec).resizer()
    loader = SimpleDatasetLoader([resizer], workers=workers)
    for start in range(0, len(paths), batch_size):
        chunk = paths[start:start + batch_size]
        images, _ = loader.load(chunk)
        yield chunk, images, loader.paths, loader.skipped


def model_input(spec, images):
    """uint8 images -> the float32 batch the model takes (scaled, minus the
    mean, flattened as the sidecar says)."""
    spec = InputSpec.from_dict(spec)
    return to_model_input(images, scale=spec.scale, flatten=spec.flatten, mean=spec.mean)


def load_batches(spec, paths, batch_size=64, workers=None):
    """Yield (chunk of paths, float32 model input of the readable ones or
    None, [(skipped path, reason)]) per batch of `paths`, in order."""
    for chunk, images, _, skipped in decode_batches(spec, paths, batch_size, workers):
        yield chunk, model_input(spec, images) if len(images) else None, skipped


def predict_paths(model, spec, paths, batch_size=64, workers=None):
    """Yield (path, probabilities or None, skip reason or None) for every path,
    in order. `model` is anything with predict_on_batch: a Keras model or one
    of the runtimes for exported models."""
    for chunk, batch, skipped in load_batches(spec, paths, batch_size, workers):
        probs = np.asarray(model.predict_on_batch(batch)) if batch is not None else []
        yield from in_path_order(chunk, probs, skipped)


def in_path_order(paths, kept_results, skipped):
    """Yield (path, result or None, skip reason or None) for every path, where
    `kept_results` holds, in order, the results of the paths not `skipped`."""
    reasons = dict(skipped)
    kept = iter(kept_results)
    for path in paths:
        if path in reasons:
            yield path, None, reasons[path]
        else:
            yield path, next(kept), None
