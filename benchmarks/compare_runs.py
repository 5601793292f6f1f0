"""Compare folder-trained models (train_vgg.py, train_simple_nn.py) on the
same test images: each one's test accuracy with a 95% bootstrap interval,
and each one's paired difference from the first model (images it fixes and
breaks, and the interval of the difference).

Two runs on 750 test images can differ by 2 points by luck alone; the
paired interval says whether a difference is more than that. Each model's
test split is rebuilt from the arguments in its sidecar (seed, test size,
input size, resize mode), with mirror averaging if the run used it, and
its accuracy is checked against the one the sidecar recorded.

    python -m benchmarks.compare_runs --dataset ../shared/data/animals \\
        /tmp/runs/r2/vgg.keras /tmp/runs/r6/vgg.keras

AlexNets trained by train_alexnet.py are compared on their HDF5 folder's
test.hdf5 (no --dataset needed):

    python -m benchmarks.compare_runs /tmp/parity/alexnet_float32.keras /tmp/parity/alexnet_bf16.keras
"""
import argparse
import json
import os

import numpy as np

from pyimagesearch.evaluation.bootstrap import mean_interval
from pyimagesearch.evaluation.cropaccuracy import compare_views


def test_probabilities(model_path, dataset, splits):
    """The model's test-set probabilities and labels, on the split its run
    used: the folder trainers' rebuilt from the sidecar, or, for a run
    trained from HDF5 (train_alexnet.py), the test.hdf5 beside its training
    file, one view per image as its own evaluation did."""
    import keras

    from pyimagesearch.training import data as training

    with open(os.path.splitext(model_path)[0] + ".json") as f:
        sidecar = json.load(f)
    args, spec, run = sidecar["run"]["arguments"], sidecar["input"], sidecar["run"]
    model = keras.models.load_model(model_path, safe_mode=True)
    if args.get("hdf5"):
        from pyimagesearch.evaluation.cropaccuracy import predict_views
        from pyimagesearch.io.hdf5file import hdf5_file

        labels, probs, _ = predict_views(model, hdf5_file(args["hdf5"], "test"), spec,
                                         ten_crop=False, progress=False)
    else:
        key = (args["seed"], args["test_size"], args.get("val_size"), spec["width"], spec["height"],
               spec["resize"], args["labels"])
        if key not in splits:  # one decode per distinct split
            splits[key] = training.load_run_split(sidecar, dataset)
        split = splits[key]
        labels = split.y_test
        probs = training.predict_part(model, split.test, spec, 128,
                                      mirror_average=run.get("test_mirror_average", False))
    accuracy = float((probs.argmax(axis=1) == labels).mean())
    if abs(accuracy - run["test_accuracy"]) > 1e-9:
        print(f"[WARNING] {model_path}: test accuracy {accuracy:.4f} here, "
              f"{run['test_accuracy']:.4f} in its sidecar")
    return probs, labels


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default=None,
                        help="the dataset the folder-trained models were trained on (default: the "
                             "one in each sidecar; HDF5-trained models use their test.hdf5)")
    parser.add_argument("models", nargs="+", help=".keras models with their sidecars; the first "
                                                  "is the baseline of the differences")
    args = parser.parse_args()
    splits = {}
    print_comparison([(path, *test_probabilities(path, args.dataset, splits)) for path in args.models])


def print_comparison(results):
    """`results`: (name, test probabilities, labels) per model; the first is
    the baseline of the paired differences."""
    base_path, base_probs, base_labels = results[0]
    print(f"\n{'model':40s} accuracy  95% interval    vs first   95% interval    fixed/broken")
    for path, probs, labels in results:
        correct = (probs.argmax(axis=1) == labels).astype(np.int8)
        low, high = mean_interval(correct)  # the interval the run's HTML report shows
        line = f"{path:40s} {correct.mean():.4f}  {low:.3f} to {high:.3f}"
        if path != base_path and np.array_equal(labels, base_labels):
            diff = compare_views(labels, base_probs, probs)
            low, high = diff["ci95"]
            line += (f"   {diff['gain'] * 100:+5.2f}    {low * 100:+.2f} to {high * 100:+.2f}"
                     f"   {diff['fixed']}/{diff['broken']}")
        elif path != base_path:
            line += "   (another test split: no paired difference)"
        print(line)


if __name__ == "__main__":
    main()
