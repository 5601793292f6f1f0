"""Classify image files with a backbone + classifier saved by train_model.py:
the JSON sidecar beside the .skops file names the backbone, its weights and
input size, so images are prepared exactly as for training."""

import csv
import os
import sys

from ..utils.atomic import atomic_path
from ..utils.errors import UserError
from ..utils.modelinfo import load_model_info, sidecar_path
from .backbones import BACKBONES, build_backbone, check_backbone_args, file_sha256
from .classifier import load_classifier


def load_backbone(spec, where):
    """Build the backbone a spec describes; `where` names the file it came from."""
    import keras

    weights = spec.get("weights")
    if spec.get("backbone") not in BACKBONES:
        raise UserError(f"{where}: unknown backbone {spec.get('backbone')!r}; retrain with train_model.py")
    if weights not in (None, "imagenet"):
        if not os.path.isfile(weights):
            raise UserError(f"{where}: backbone weights {weights} not found; put the file back there "
                            "or extract features and train again", 1)
        if spec.get("weights_sha256") and file_sha256(weights) != spec["weights_sha256"]:
            raise UserError(f"{where}: {weights} is not the weights file the classifier was "
                            "trained with (checksum differs); restore it or train again", 1)
    check_backbone_args(spec["backbone"], weights, spec["width"], spec.get("alpha"))
    # With random weights (--weights none) the seed makes the same backbone again.
    keras.utils.set_random_seed(spec.get("seed") or 0)
    return build_backbone(spec["backbone"], weights, spec["width"], spec.get("alpha"))


def load_transfer_model(model_path, batch_size=32, workers=None):
    """Return (classifier, class_names, FeatureExtractor) for a .skops model."""
    classifier = load_classifier(model_path)
    info = load_model_info(model_path)
    spec, class_names = info["input"], info["class_names"]
    where = sidecar_path(model_path)
    if "backbone" not in spec:
        raise UserError(f"{where}: names no backbone; is this the sidecar of a train_model.py model?")
    if len(getattr(classifier, "classes_", [])) != len(class_names):
        raise UserError(f"{model_path}: the classifier knows {len(classifier.classes_)} classes but "
                        f"the sidecar names {len(class_names)}; they belong to different runs")
    from .features import FeatureExtractor

    model = load_backbone(spec, where)
    extractor = FeatureExtractor(model, spec["backbone"], spec["width"], resize=spec["resize"],
                                 batch_size=batch_size, workers=workers, flip=spec.get("flip", False))
    if extractor.dim != spec.get("feature_dim", extractor.dim):
        raise UserError(f"{where}: the backbone gives {extractor.dim} features, the classifier was "
                        f"trained on {spec['feature_dim']}", 1)
    return classifier, class_names, extractor


def predict_paths(classifier, extractor, paths):
    """Yield (path, probabilities or None, skip reason or None), in order."""
    for chunk, kept, features, skipped in extractor.extract(paths):
        probs = iter(classifier.predict_proba(features) if kept else ())
        reasons = dict(skipped)
        for path in chunk:
            if path in reasons:
                yield path, None, reasons[path]
            else:
                yield path, next(probs), None


def classify_images(args):
    """predict.py for a .skops model: print `path<TAB>label<TAB>probability`
    per image (top-k pairs), write annotated copies and the optional CSV."""
    import cv2

    from ..datasets import UnreadableImage, read_image
    from ..inference import annotate, expand_image_args, top_k

    for flag in ("label_bin", "width", "height", "flatten"):
        if getattr(args, flag, None) is not None:
            raise UserError(f"--{flag.replace('_', '-')} does not apply to a .skops model; its "
                            "sidecar sets the input")
    if getattr(args, "show", False):
        print("[NOTE] --show is not available for .skops models; see the annotated copies",
              file=sys.stderr)
    paths = expand_image_args(args.image)
    classifier, class_names, extractor = load_transfer_model(args.model, args.batch_size)
    k = min(args.top_k, len(class_names))
    rows, used = [], set()
    for path, probs, reason in predict_paths(classifier, extractor, paths):
        if probs is None:
            print(f"skipped {path}: {reason}", file=sys.stderr)
            continue
        ranked = top_k(probs, class_names, k)
        rows.append([path] + [v for label, p in ranked for v in (label, f"{p:.4f}")])
        print("\t".join(rows[-1]), flush=True)
        if not args.no_annotate:
            try:
                annotated = annotate(read_image(path), f"{ranked[0][0]}: {ranked[0][1] * 100:.1f}%")
            except UnreadableImage:
                continue
            name = os.path.basename(path)
            while name in used:
                name = "_" + name
            used.add(name)
            with atomic_path(os.path.join(args.output, name)) as tmp:
                if not cv2.imwrite(tmp, annotated):
                    raise UserError(f"{os.path.join(args.output, name)}: could not write it", 1)
    if args.csv:
        with atomic_path(args.csv) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows([["path"] + [c for i in range(1, k + 1)
                                                 for c in (f"label{i}", f"probability{i}")]] + rows)
    print(f"[INFO] classified {len(rows)} of {len(paths)} images with {args.model}", file=sys.stderr)
    if not rows:
        raise UserError("none of the images could be read", 1)
