"""Class weights on an imbalanced dataset: train with and without
--class-weight balanced, then compare, on the same test images, per-class
recall, macro F1 and balanced accuracy, each with a 95% bootstrap interval,
and the paired interval of each difference (balanced minus none).

Two pipelines: train_vgg.py (--epochs, 60 by default) and
extract_features.py (MobileNet-0.25 features) + train_model.py. Make the
dataset first: Animals with only the first 10% of one class, as symlinks,
so training and test hold the same imbalance:

    python -m benchmarks.bench_imbalance --make-dataset /tmp/animals_imb \\
        --source ../shared/data/animals --minority panda --keep 0.1

Then (train_vgg.py twice takes 30-60 minutes on 2 cores: use nohup):

    python -m benchmarks.bench_imbalance --dataset /tmp/animals_imb --output /tmp/imb_runs \\
        --weights ../shared/data/weights/mobilenet_2_5_224_tf_no_top.h5

--reuse skips a training whose model and sidecar already exist (to report
again, or to finish a benchmark started earlier).
"""
import argparse
import json
import os
import platform
import subprocess
import sys

import numpy as np
import scipy.stats

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

if __package__:  # python -m benchmarks.bench_imbalance
    from .compare_runs import test_probabilities
else:  # python benchmarks/bench_imbalance.py: its own folder is on sys.path
    from compare_runs import test_probabilities

VARIANTS = ("none", "balanced")


def make_dataset(target, source, minority, keep):
    """Symlink `source` into `target`, keeping the first `keep` fraction
    (sorted by name) of class `minority`."""
    for name in sorted(os.listdir(source)):
        folder = os.path.join(source, name)
        if not os.path.isdir(folder):
            continue
        files = sorted(os.listdir(folder))
        if name == minority:
            files = files[:max(1, round(len(files) * keep))]
        os.makedirs(os.path.join(target, name), exist_ok=True)
        for file in files:
            link = os.path.join(target, name, file)
            if not os.path.lexists(link):
                os.symlink(os.path.abspath(os.path.join(folder, file)), link)
        print(f"{target}/{name}: {len(files)} images")


def run(cmd, reuse_path, reuse):
    if reuse and os.path.exists(reuse_path):
        print(f"reusing {reuse_path}", flush=True)
        return
    print("running: python " + " ".join(os.path.relpath(c, ROOT) if c.endswith(".py") else c
                                        for c in cmd[1:]), flush=True)
    subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)


def train_all(args):
    py = sys.executable
    for variant in VARIANTS if "vgg" in args.pipelines else ():
        model = os.path.join(args.output, f"vgg_{variant}.keras")
        flag = ["--class-weight", variant]
        run([py, os.path.join(ROOT, "train_vgg.py"), "--dataset", args.dataset, "--model", model,
             "--epochs", str(args.epochs), *flag], os.path.splitext(model)[0] + ".json", args.reuse)
    if "transfer" not in args.pipelines:
        return
    features = os.path.join(args.output, "features.hdf5")
    run([py, os.path.join(ROOT, "extract_features.py"), "--dataset", args.dataset, "--output", features,
         "--backbone", "mobilenet", "--weights", args.weights, "--alpha", "0.25"], features, args.reuse)
    for variant in VARIANTS:
        model = os.path.join(args.output, f"lr_{variant}.skops")
        run([py, os.path.join(ROOT, "train_model.py"), "--db", features, "--model", model,
             "--class-weight", variant], os.path.splitext(model)[0] + ".json", args.reuse)


def transfer_predictions(model_path):
    """The logistic regression's test predictions, on the rows its run held out."""
    from pyimagesearch.modelfiles.sidecar import load_model_info
    from pyimagesearch.transfer.classifier import load_classifier
    from pyimagesearch.transfer.featurefile import read_feature_file

    # load_model_info reads sidecars of every version (train_rows before 2).
    run = load_model_info(model_path)["run"]
    features, labels, class_names, _, _ = read_feature_file(run["features_file"])
    start = run["train_images"]
    return load_classifier(model_path).predict(features[start:]), labels[start:], class_names


def metrics(labels, predicted, n_classes):
    """Recall per class, balanced accuracy (their mean) and macro F1."""
    confusion = np.bincount(labels * n_classes + predicted, minlength=n_classes ** 2)
    confusion = confusion.reshape(n_classes, n_classes).astype(float)
    hits = np.diag(confusion)
    recall = hits / np.maximum(confusion.sum(axis=1), 1)
    precision = hits / np.maximum(confusion.sum(axis=0), 1)
    f1 = np.where(precision + recall > 0, 2 * precision * recall / np.maximum(precision + recall, 1e-12), 0)
    return np.concatenate([recall, [recall.mean(), f1.mean()]])


def interval(statistic, samples, seed=0):
    """95% percentile bootstrap interval of `statistic` over test images
    resampled together (paired) across `samples`."""
    result = scipy.stats.bootstrap(samples, statistic, paired=True, vectorized=False,
                                   n_resamples=2000, method="percentile", rng=np.random.default_rng(seed))
    return result.confidence_interval.low, result.confidence_interval.high


def compare(title, labels, predictions, class_names):
    """Print a Markdown table: each variant's figures with intervals, then
    the paired difference balanced - none."""
    n = len(class_names)
    names = [f"recall {c}" for c in class_names] + ["balanced accuracy", "macro F1"]
    counts = np.bincount(labels, minlength=n)
    print(f"\n{title}: {len(labels)} test images ("
          + ", ".join(f"{c} {k}" for c, k in zip(class_names, counts)) + ")\n")
    print("| metric | none | balanced | balanced - none |")
    print("|---|---|---|---|")
    point = {v: metrics(labels, predictions[v], n) for v in VARIANTS}
    table = {}
    for i, name in enumerate(names):
        cells = []
        for v in VARIANTS:
            low, high = interval(lambda y, p, i=i: metrics(y, p, n)[i], (labels, predictions[v]))
            cells.append(f"{point[v][i]:.3f} ({low:.3f}-{high:.3f})")
        diff = point["balanced"][i] - point["none"][i]
        low, high = interval(lambda y, a, b, i=i: metrics(y, b, n)[i] - metrics(y, a, n)[i],
                             (labels, predictions["none"], predictions["balanced"]))
        cells.append(f"{diff:+.3f} ({low:+.3f} to {high:+.3f})")
        table[name] = {"none": point["none"][i], "balanced": point["balanced"][i],
                       "difference": diff, "difference_ci95": [low, high]}
        print(f"| {name} | " + " | ".join(cells) + " |")
    accuracy = {v: float((predictions[v] == labels).mean()) for v in VARIANTS}
    print(f"\naccuracy: none {accuracy['none']:.3f}, balanced {accuracy['balanced']:.3f}")
    return {"test_images_per_class": dict(zip(class_names, counts.tolist())), "metrics": table,
            "accuracy": accuracy}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--make-dataset", metavar="TARGET", help="only write the imbalanced copy here")
    parser.add_argument("--source", default="../shared/data/animals")
    parser.add_argument("--minority", default="panda")
    parser.add_argument("--keep", type=float, default=0.1)
    parser.add_argument("--dataset", default="/tmp/animals_imb")
    parser.add_argument("--output", default="/tmp/imb_runs")
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--weights", default="../shared/data/weights/mobilenet_2_5_224_tf_no_top.h5")
    parser.add_argument("--pipelines", nargs="+", choices=["vgg", "transfer"], default=["vgg", "transfer"])
    parser.add_argument("--reuse", action="store_true", help="skip trainings whose outputs exist")
    args = parser.parse_args()
    if args.make_dataset:
        make_dataset(args.make_dataset, args.source, args.minority, args.keep)
        return
    args.dataset, args.output, args.weights = map(os.path.abspath, (args.dataset, args.output, args.weights))
    os.makedirs(args.output, exist_ok=True)
    print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs, python {platform.python_version()}")
    print("command: python -m benchmarks.bench_imbalance " + " ".join(sys.argv[1:]), flush=True)
    train_all(args)
    results = {}
    if "vgg" in args.pipelines:
        splits, predictions = {}, {}
        for v in VARIANTS:
            probs, labels = test_probabilities(os.path.join(args.output, f"vgg_{v}.keras"), args.dataset,
                                               splits)
            predictions[v] = probs.argmax(axis=1)
        sidecars = {}
        for v in VARIANTS:
            with open(os.path.join(args.output, f"vgg_{v}.json"), encoding="utf-8") as f:
                sidecars[v] = json.load(f)
        class_names = sidecars["none"]["class_names"]
        epochs = ", ".join(f"{v} {sidecars[v]['run']['epochs_run']} epochs run (best {sidecars[v]['run']['best_epoch']}"
                           + (", interrupted" if sidecars[v]["run"].get("interrupted") else "") + ")"
                           for v in VARIANTS)
        results["train_vgg.py"] = compare(f"train_vgg.py --epochs {args.epochs}: {epochs}", labels, predictions,
                                          class_names)
    if "transfer" in args.pipelines:
        predictions = {}
        for v in VARIANTS:
            predictions[v], labels, class_names = transfer_predictions(
                os.path.join(args.output, f"lr_{v}.skops"))
        results["train_model.py"] = compare("extract_features.py (MobileNet-0.25, 224 px) + train_model.py",
                                            labels, predictions, class_names)
    with open(os.path.join(args.output, "bench_imbalance.json"), "w", encoding="utf-8") as f:
        json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
