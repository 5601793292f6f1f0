"""Write scikit-learn's bundled handwritten digits (1,797 real 8x8 scans,
10 classes) out as a folder dataset of PNG files: a dataset every machine
already has, so the demo and the tests need no download.

    python -m pyimagesearch.datasets.digits --output output/datasets/digits
"""

import argparse
import os

import cv2
import numpy as np


def export_digits(output, holdout_per_class=0, holdout_output=None):
    """Write `<output>/<digit>/digit_<index>.png`; the first
    `holdout_per_class` images of each class go to `holdout_output` instead
    (images for predict.py that training never sees). Returns the counts."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    # Values are 0..16; stretch to 0..255 so they look like ordinary images.
    images = np.round(digits.images * (255.0 / 16.0)).astype(np.uint8)
    held = {c: 0 for c in range(10)}
    written = {"dataset": 0, "holdout": 0}
    for index, (image, target) in enumerate(zip(images, digits.target)):
        if held[target] < holdout_per_class and holdout_output:
            folder, held[target] = holdout_output, held[target] + 1
            name = f"digit{target}_{index:04d}.png"
            written["holdout"] += 1
        else:
            folder = os.path.join(output, str(target))
            name = f"digit_{index:04d}.png"
            written["dataset"] += 1
        os.makedirs(folder, exist_ok=True)
        cv2.imwrite(os.path.join(folder, name), image)
    return written


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", default="output/datasets/digits")
    parser.add_argument("--holdout", default=None, help="folder for held-out images")
    parser.add_argument("--holdout-per-class", type=int, default=0)
    args = parser.parse_args()
    counts = export_digits(args.output, args.holdout_per_class, args.holdout)
    print(f"wrote {counts['dataset']} images to {args.output}"
          + (f" and {counts['holdout']} held-out images to {args.holdout}" if counts["holdout"] else ""))


if __name__ == "__main__":
    main()
