"""Load a trained classifier with its sidecar and classify image files in
batches, preparing each image exactly as the training script did."""

import csv
import glob
import os
import sys
import zipfile

import cv2
import keras
import numpy as np

from .datasets import IMAGE_EXTENSIONS, SimpleDatasetLoader, UnreadableImage, list_images, read_image
from .preprocessing import RESIZERS
from .preprocessing.modelinput import to_model_input
from .utils.atomic import atomic_path
from .utils.errors import UserError
from .utils.modelinfo import load_label_names, load_model_info, sidecar_path


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
        probs = []
        if len(images):
            batch = to_model_input(images, scale=spec.get("scale", 1 / 255.0),
                                   flatten=spec["flatten"], mean=spec.get("mean"))
            probs = np.asarray(model.predict_on_batch(batch))
        yield from in_path_order(chunk, probs, loader.skipped)


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


def top_k_labels(probs, class_names, k=1):
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


def write_predictions(results, class_names, top_k=1, output=None, csv_path=None, show=False):
    """Report (path, probabilities or None, skip reason) results as predict.py
    does: `path<TAB>label<TAB>probability` per image on stdout (top_k pairs),
    skipped files on stderr, annotated copies in `output` (None: none), an
    optional CSV and, with `show`, a window per image. Returns how many
    images were classified. Annotated copies that replace files of an
    earlier run are counted in a note at the end."""
    k = min(top_k, len(class_names))
    rows, used_names, replaced = [], set(), 0
    for path, probs, reason in results:
        if probs is None:
            print(f"skipped {path}: {reason}", file=sys.stderr)
            continue
        ranked = top_k_labels(probs, class_names, k)
        rows.append([path] + [v for label, p in ranked for v in (label, f"{p:.4f}")])
        print("\t".join(rows[-1]), flush=True)
        if output is None and not show:
            continue
        try:
            annotated = annotate(read_image(path), f"{ranked[0][0]}: {ranked[0][1] * 100:.1f}%")
        except UnreadableImage:
            continue
        if output is not None:
            name = os.path.basename(path)
            while name in used_names:  # same file name from two folders
                name = "_" + name
            used_names.add(name)
            target = os.path.join(output, name)
            replaced += os.path.exists(target)
            with atomic_path(target) as tmp:
                if not cv2.imwrite(tmp, annotated):
                    raise UserError(f"{target}: could not write the annotated image", 1)
        if show:
            cv2.imshow("prediction", annotated)
            cv2.waitKey(0)
    if csv_path:
        header = ["path"] + [c for i in range(1, k + 1) for c in (f"label{i}", f"probability{i}")]
        with atomic_path(csv_path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows([header] + rows)
    if replaced:
        print(f"[NOTE] replaced {replaced} annotated images of an earlier run in {output}/",
              file=sys.stderr)
    return len(rows)
