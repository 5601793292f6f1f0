"""Test accuracy of train_simple_nn.py and train_vgg.py on a folder dataset
with the tutorial's split (seed 42, 25% test), read from each run's sidecar.

    python -m benchmarks.bench_accuracy --dataset ../shared/data/animals

Extra arguments after `--` go to both trainers. Training runs in the
foreground of this script; on 2 CPU cores the SmallVGGNet run takes 15-30
minutes, so start it with nohup.
"""
import argparse
import json
import os
import platform
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The tutorial's published numbers on Animals, for the table.
TUTORIAL = {"train_simple_nn.py": 0.61, "train_vgg.py": 0.78}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="../shared/data/animals")
    parser.add_argument("--output", default="output/bench_accuracy")
    parser.add_argument("--scripts", nargs="+", default=["train_simple_nn.py", "train_vgg.py"])
    parser.add_argument("extra", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    extra = [a for a in args.extra if a != "--"]
    print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs, python {platform.python_version()}")
    print(f"command: python -m benchmarks.bench_accuracy --dataset {args.dataset} "
          f"--scripts {' '.join(args.scripts)}" + (f" -- {' '.join(extra)}" if extra else ""))
    for script in args.scripts:
        model = os.path.join(args.output, os.path.splitext(script)[0].replace("train_", "") + ".keras")
        cmd = [sys.executable, os.path.join(ROOT, script), "--dataset", args.dataset, "--model", model,
               "--seed", "42", "--test-size", "0.25", *extra]
        print("running:", " ".join(cmd[1:]), flush=True)
        subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
        with open(os.path.splitext(os.path.join(ROOT, model))[0] + ".json", encoding="utf-8") as f:
            run = json.load(f)["run"]
        print(f"{script}: test accuracy {run['test_accuracy']:.4f} (tutorial {TUTORIAL.get(script, '-')}), "
              f"epochs run {run['epochs_run']}, best epoch {run['best_epoch']}, "
              f"training {run['train_seconds']:.0f}s", flush=True)


if __name__ == "__main__":
    main()
