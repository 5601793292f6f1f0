"""export.py's work: export a trained model in each format asked for,
verify every export against the original on real images, and only then put
the files and their sidecars in place."""

import contextlib
import datetime
import importlib.util
import os
import sys
import tempfile

import cv2
import numpy as np

from ..inference.inputs import expand_image_args
from ..modelfiles.sidecar import sidecar_path
from ..utils.atomic import atomic_path, write_json
from ..utils.errors import UserError
from . import splits
from .formats import INT8_FORMATS, export_versions, open_export, target_path, write_export
from .verify import accuracy, compare, predict_kept

# Packages each format needs at export time (pip name -> module).
EXPORT_PACKAGES = {"onnx": {"tf2onnx": "tf2onnx", "onnx": "onnx", "onnxruntime": "onnxruntime"},
                   "litert": {"ai-edge-litert": "ai_edge_litert"}, "saved_model": {}}


def check_packages(formats):
    for fmt in formats:
        for package, module in EXPORT_PACKAGES[fmt].items():
            if importlib.util.find_spec(module) is None:
                raise UserError(f"exporting to {fmt} needs the {package} package, which is not "
                                "installed; pip install -r requirements.txt")


def planned_outputs(model_path, formats, int8):
    """[(format, int8, path)] of every file this export writes."""
    plan = [(fmt, False, target_path(model_path, fmt)) for fmt in formats]
    plan += [(fmt, True, target_path(model_path, fmt, int8=True)) for fmt in formats
             if int8 and fmt in INT8_FORMATS]
    return plan


def export_model(source, options):
    """Write, verify and commit every planned export of `source` (an
    ExportSource); return [(path, sidecar info)] in the order written."""
    plan = planned_outputs(source.path, options.formats, options.int8)
    split = splits.run_split(source.info, source.class_names) if options.int8 else None
    with tempfile.TemporaryDirectory() as scratch:
        sample = verification_paths(options, source, scratch)
        kept, reference = source.predict(sample)
        if not kept:
            raise UserError(f"none of the {len(sample)} verification images could be read; pass "
                            "--images DIR", 1)
        print(f"[INFO] verifying every export on {len(kept)} images")
        calibration = splits.calibration_paths(options.calibrate, split, options.calibration_images) \
            if options.int8 else None
        sidecars = []
        # Every export goes to a temporary file first; only when all of them
        # have passed does leaving this block move them into place.
        with contextlib.ExitStack() as stack:
            floats = {}
            for fmt, int8, path in plan:
                tmp = stack.enter_context(atomic_path(path))
                if int8:
                    runtime = _write_int8(source, fmt, tmp, floats.get(fmt), calibration[0])
                else:
                    write_export(source.model, tmp, fmt)
                    runtime = open_export(tmp, fmt)
                    floats[fmt] = tmp
                check = compare(reference, predict_kept(runtime, source.spec, kept))
                _report(path, fmt, int8, check, source.path)
                if check["top1_disagreements"] and not int8:
                    raise UserError(f"{path}: the {fmt} export disagrees with {source.path} on the top-1 "
                                    f"class of {check['top1_disagreements']} of {check['images']} images "
                                    f"(largest probability difference {check['max_abs_diff']:.2g}); "
                                    "nothing written", 1)
                export = {"format": fmt, "int8": int8, "source": os.path.abspath(source.path),
                          "exported": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
                          "versions": export_versions(tmp, fmt, runtime), "verification": check,
                          "arguments": {k: v for k, v in vars(options).items() if k != "func"}}
                if int8:
                    export["calibration"] = {"images": len(calibration[0]), "from": calibration[1]}
                    if split is not None:
                        export["test_accuracy"] = _accuracies(source, runtime, split)
                    export["size_ratio"] = os.path.getsize(tmp) / os.path.getsize(floats[fmt])
                    print(f"[INFO] {path}: {os.path.getsize(tmp) / 2**20:.2f} MiB, "
                          f"{1 / export['size_ratio']:.1f}x smaller than the float {fmt} file")
                sidecars.append((path, {**source.info, "input": dict(source.spec), "export": export}))
        for path, info in sidecars:
            write_json(sidecar_path(path), info)
    return sidecars


def _write_int8(source, fmt, tmp, float_path, calibration):
    from .quantize import quantize_litert, quantize_onnx

    if fmt == "onnx":
        quantize_onnx(float_path, tmp, source.spec, calibration)
    else:
        quantize_litert(source.model, tmp, source.spec, calibration)
    return open_export(tmp, fmt)


def _accuracies(source, runtime, split):
    """Test accuracy of the original and of the int8 export on the run's
    test split, one view per image as the exports classify them (the run's
    report may have averaged each image with its mirror: said so beside)."""
    kept, probs = source.predict(split.test_paths)
    readable = set(kept)
    labels = [label for path, label in zip(split.test_paths, split.test_labels) if path in readable]
    before = accuracy(probs, labels)
    after = accuracy(predict_kept(runtime, source.spec, kept), labels)
    print(f"[INFO] test accuracy on the run's {len(kept)} test images, one view each: {before:.4f} "
          f"original, {after:.4f} int8 ({(after - before) * 100:+.1f} points){_report_view(source.info)}")
    return {"images": len(kept), "original": before, "int8": after}


def _report_view(info):
    """A note on the run's own test accuracy when it was measured another
    way (each image averaged with its mirror), so the two are not compared
    as if alike."""
    run = info.get("run") or {}
    if not run.get("test_mirror_average") or run.get("test_accuracy") is None:
        return ""
    return (f"; the run's report says {run['test_accuracy']:.4f} because it averaged each test image "
            "with its mirror image")


def _report(path, fmt, int8, check, original):
    kind = f"{fmt} int8" if int8 else fmt
    print(f"[INFO] {path} ({kind}): top-1 agrees with {original} on "
          f"{check['images'] - check['top1_disagreements']} of {check['images']} images; largest "
          f"probability difference {check['max_abs_diff']:.2g}")


def verification_paths(options, source, scratch):
    """--images, else a sample of the run's dataset, else generated images
    (they check the graph's arithmetic, not the model's accuracy)."""
    if options.images:
        return splits.sample(expand_image_args(options.images), options.verify_images)
    paths = splits.run_images(source.info)
    if paths:
        return splits.sample(paths, options.verify_images)
    print("[NOTE] the run's dataset is not at hand; verifying on generated images (pass --images "
          "for real ones)", file=sys.stderr)
    rng = np.random.default_rng(0)
    paths = []
    for i in range(options.verify_images):
        path = os.path.join(scratch, f"generated_{i:03d}.png")
        cv2.imwrite(path, rng.integers(0, 256, (source.spec.height, source.spec.width, 3), np.uint8))
        paths.append(path)
    return paths
