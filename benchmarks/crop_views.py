"""Why 10-crop helps a model or not: the accuracy of each view alone.

For one model and one HDF5 file, prints the rank-1 accuracy of the single
view (the image resized to the model's input), of each of the 10 crops on
its own, of their average (crop_accuracy.py's 10-crop), and how often the
views agree. Averaging views can only fix an image when some views get it
right; if every view makes the same mistakes, 10-crop cannot gain.

    python -m benchmarks.crop_views --hdf5 output/hdf5 --model output/alexnet.keras
"""
import argparse

import numpy as np

from pyimagesearch.io.hdf5file import hdf5_file

# The order of CropPreprocessor(horiz=True)'s crops.
CROP_NAMES = ["top-left", "top-right", "bottom-right", "bottom-left", "center"]
CROP_NAMES += [name + " mirrored" for name in CROP_NAMES]


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hdf5", default="output/hdf5", help="folder with the HDF5 files")
    parser.add_argument("--split", default="test", choices=["test", "val", "train"])
    parser.add_argument("--model", default="output/alexnet.keras")
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()

    from pyimagesearch.evaluation.cropaccuracy import predict_views
    from pyimagesearch.inference.runtimes import load_predictor

    model, _, spec = load_predictor(args.model)
    db_path = hdf5_file(args.hdf5, args.split)
    labels, single, views = predict_views(model, db_path, spec, batch_size=args.batch_size,
                                          average_crops=False)
    crops = views.mean(axis=1)

    def accuracy(probs):
        return float((probs.argmax(axis=1) == labels).mean())

    print(f"{db_path}: {len(labels)} images, model {args.model}")
    print(f"single view (resized)      {accuracy(single):.4f}")
    for k, name in enumerate(CROP_NAMES):
        print(f"{name:26s} {accuracy(views[:, k]):.4f}")
    print(f"center + mirror averaged   {accuracy(views[:, [4, 9]].mean(axis=1)):.4f}")
    print(f"10-crop averaged           {accuracy(crops):.4f}")
    votes = np.concatenate([single[:, None], views], axis=1).argmax(axis=2)
    wrong = single.argmax(axis=1) != labels
    all_agree = (votes == votes[:, :1]).all(axis=1)
    all_wrong = (votes != labels[:, None]).all(axis=1)
    print(f"images on which all 11 views agree: {all_agree.mean():.1%}")
    print(f"single-view errors that every view shares: {all_wrong.sum()} of {wrong.sum()}")


if __name__ == "__main__":
    main()
