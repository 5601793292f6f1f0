"""Fine-tuning against frozen features on Animals, on the same 750 test
images: fine_tune.py with its defaults, and extract_features.py +
train_model.py with theirs (the bundled MobileNet 0.25 weights for both).

Each stage runs as a user would run it, under /usr/bin/time: wall time, CPU
time and peak memory (maximum resident set) per process. train_model.py
tests on the last 25% of the feature file's rows, which are not the
tutorial's test images; for the comparison its logistic regression is
tuned again, the same way, on the features of the tutorial split's 2,250
training images and tested on its 750 test images (the ones fine_tune.py
tests on). The accuracies come with 95% bootstrap intervals and the paired
difference (benchmarks/compare_runs.py). Run from the repository root:

    python -m benchmarks.bench_finetune --dataset ../shared/data/animals \\
        --weights ../shared/data/weights/mobilenet_2_5_224_tf_no_top.h5

Extra arguments after `--` go to fine_tune.py (to try another recipe).
On a busy machine the two methods can run at the same time, each with
`--only`, and a last call with `--reuse` (which does not rerun a stage
whose timing file is in --out) compares them:

    python -m benchmarks.bench_finetune ... --out /tmp/bench --only fine_tune &
    python -m benchmarks.bench_finetune ... --out /tmp/bench --only transfer
    python -m benchmarks.bench_finetune ... --out /tmp/bench --reuse
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def timed(script, *args, log, reuse=False):
    """Run a repository script; return wall and CPU seconds and peak memory
    (MiB). With `reuse`, an earlier run's timing file is read instead."""
    stats = log + ".time"
    if reuse and os.path.exists(stats):
        return read_time(stats)
    command = ["/usr/bin/time", "-f", "%e %U %S %M", "-o", stats, sys.executable,
               os.path.join(ROOT, script), *map(str, args)]
    env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="2")
    with open(log, "w") as out:
        code = subprocess.call(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    if code:
        sys.exit(f"{script} failed with exit code {code}; see {log}")
    return read_time(stats)


def read_time(stats):
    with open(stats) as f:
        wall, user, system, peak_kib = f.read().split()[-4:]
    return {"wall": float(wall), "cpu": float(user) + float(system), "peak_mib": int(peak_kib) / 1024}


def transfer_on_the_tutorial_split(features_file, split, jobs):
    """train_model.py's classifier, tuned on the split's training images'
    features, and its probabilities for the split's test images."""
    from pyimagesearch.transfer.classifier import GridSearch, tune_classifier
    from pyimagesearch.transfer.featurefile import read_feature_file

    features, labels, class_names, paths, _ = read_feature_file(features_file)
    row = {path: i for i, path in enumerate(paths)}
    train = [row[p] for p in split.train_paths + split.val_paths]
    test = [row[p] for p in split.test_paths]
    assert list(class_names) == list(split.class_names)
    assert np.array_equal(labels[test], split.y_test)
    search = tune_classifier(features[train], labels[train], GridSearch(jobs=jobs), seed=42)
    return search.predict_proba(features[test])


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--weights", required=True, help="mobilenet_2_5_224_tf_no_top.h5")
    parser.add_argument("--out", default=None, help="folder for the runs (default: a temporary one)")
    parser.add_argument("--only", choices=["fine_tune", "transfer"], default=None,
                        help="run this method's scripts only, and compare nothing")
    parser.add_argument("--reuse", action="store_true",
                        help="do not rerun a stage whose timing file is in --out")
    parser.add_argument("fine_tune_args", nargs="*", help="extra fine_tune.py flags, after --")
    args = parser.parse_args()
    out = args.out or tempfile.mkdtemp(prefix="bench_finetune_")
    os.makedirs(out, exist_ok=True)
    backbone = ["--alpha", "0.25", "--weights", args.weights]
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
          f"outputs in {out}", flush=True)

    model = os.path.join(out, "finetuned.keras")
    features = os.path.join(out, "features.hdf5")
    times = {}
    if args.only != "transfer":
        times["fine_tune.py"] = timed("fine_tune.py", "--dataset", args.dataset, "--model", model,
                                      *backbone, *args.fine_tune_args,
                                      log=os.path.join(out, "fine_tune.log"), reuse=args.reuse)
    if args.only != "fine_tune":
        times["extract_features.py"] = timed(
            "extract_features.py", "--dataset", args.dataset, "--output", features,
            "--backbone", "mobilenet", *backbone, log=os.path.join(out, "extract.log"),
            reuse=args.reuse)
        times["train_model.py"] = timed("train_model.py", "--db", features, "--model",
                                        os.path.join(out, "transfer.skops"),
                                        log=os.path.join(out, "train_model.log"), reuse=args.reuse)
    if args.only:
        print_times(times)
        return

    if __package__:  # python -m benchmarks.bench_finetune
        from .compare_runs import print_comparison, test_probabilities
    else:  # python benchmarks/bench_finetune.py: its own folder is on sys.path
        from compare_runs import print_comparison, test_probabilities

    splits = {}
    ft_probs, y_test = test_probabilities(model, args.dataset, splits)
    (split,) = splits.values()
    transfer = transfer_on_the_tutorial_split(features, split, jobs=None)
    print_comparison([("extract_features + train_model", transfer, y_test),
                      ("fine_tune.py", ft_probs, y_test)])

    with open(os.path.splitext(model)[0] + ".json") as f:
        run = json.load(f)["run"]
    print(f"\nfine_tune.py: {run['epochs_run']} epochs, best epoch {run['best_epoch']}, "
          f"{run['train_images']} training images")
    for phase in run.get("phases", []):
        print(f"  phase {phase['name']}: epochs {phase['epochs'][0]}-{phase['epochs'][1]}, "
              f"{phase['seconds']:.0f} s, {phase['images_per_second']:.1f} images/s, "
              f"{phase['trainable_weights']} trainable weights")
    print_times(times)


def print_times(times):
    print(f"\n{'stage':24s} {'wall s':>8s} {'CPU s':>8s} {'peak MiB':>9s}")
    for name, t in times.items():
        print(f"{name:24s} {t['wall']:8.0f} {t['cpu']:8.0f} {t['peak_mib']:9.0f}")
    total = sum(t["wall"] for name, t in times.items() if name != "fine_tune.py")
    if total:
        print(f"{'transfer (both)':24s} {total:8.0f}")


if __name__ == "__main__":
    main()
