"""Report predictions as predict.py does: one line per image on stdout, an
optional CSV, annotated copies and a window per image."""

import os
import sys

import cv2
import numpy as np

from ..datasets import UnreadableImage, read_image
from ..utils.atomic import atomic_path
from ..utils.deferredinterrupts import deferred_interrupts
from ..utils.errors import UserError


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


def unique_name(name, used_names):
    """`name`, prefixed with "_" until not in `used_names`; added to them."""
    while name in used_names:
        name = "_" + name
    used_names.add(name)
    return name


def write_image(output, name, image, used_names, what):
    """Write `image` atomically as `<output>/<name>`, the name prefixed with
    "_" until no earlier image of this run has it (the same file name from
    two folders); return (the path written, whether it replaced a file).
    `what` names the image in the error when OpenCV cannot write it."""
    target = os.path.join(output, unique_name(name, used_names))
    existed = os.path.exists(target)
    with atomic_path(target) as tmp:
        if not cv2.imwrite(tmp, image):
            raise UserError(f"{target}: could not write the {what}", 1)
    return target, existed


def write_predictions(results, class_names, top_k=1, output=None, csv_file=None, show=False):
    """Report (path, probabilities or None, skip reason) results as predict.py
    does: `path<TAB>label<TAB>probability` per image on stdout (top_k pairs),
    skipped files on stderr, annotated copies in `output` (None: none), each
    row to `csv_file` (an open csvfile.PredictionCSV, or None) as it comes
    and, with `show`, a window per image. Returns how many images were
    classified. Ctrl-C and SIGTERM take effect between two images, so the
    CSV never ends in half a row. Annotated copies that replace files of an
    earlier run are counted in a note at the end."""
    k = min(top_k, len(class_names))
    classified, replaced = 0, 0
    used_names = set()
    for path in csv_file.done if csv_file else ():  # a resumed run names its copies as one run would
        unique_name(os.path.basename(path), used_names)
    with deferred_interrupts() as interrupts:
        for path, probs, reason in results:
            interrupts.check()
            if probs is None:
                print(f"skipped {path}: {reason}", file=sys.stderr)
                continue
            ranked = top_k_labels(probs, class_names, k)
            row = [path] + [v for label, p in ranked for v in (label, f"{p:.4f}")]
            if csv_file is not None:
                csv_file.write(row)
            print("\t".join(row), flush=True)
            classified += 1
            if output is None and not show:
                continue
            try:
                annotated = annotate(read_image(path), f"{ranked[0][0]}: {ranked[0][1] * 100:.1f}%")
            except UnreadableImage:
                continue
            if output is not None:
                replaced += write_image(output, os.path.basename(path), annotated, used_names,
                                        "annotated image")[1]
            if show:
                cv2.imshow("prediction", annotated)
                cv2.waitKey(0)
    if replaced:
        print(f"[NOTE] replaced {replaced} annotated images of an earlier run in {output}/",
              file=sys.stderr)
    return classified


def can_show():
    """Whether --show can open a window here (a display, or macOS/Windows);
    a note on stderr when it cannot."""
    if os.environ.get("DISPLAY") or sys.platform in ("darwin", "win32"):
        return True
    print("[NOTE] --show ignored: no display available", file=sys.stderr)
    return False


def run_summary(classified, total, earlier, places):
    """predict.py's last line: how many images were classified (`earlier`
    were in a resumed CSV already) and where the outputs are."""
    return (f"[INFO] classified {classified} of {total} images"
            + (f" ({earlier} more were in the CSV already)" if earlier else "")
            + (f"; {', '.join(places)}" if places else ""))
