"""Training speed with and without --distribute mirrored, in images/s: over
the whole run from each run's sidecar (`run.images_per_second`: training
images x epochs over the training time, first-epoch tracing and validation
included), and in steady state from Keras' per-epoch "ms/step" lines (epochs
after the first, global batch / median time per step).

    python -m benchmarks.bench_distribute --dataset ../shared/data/animals

Without GPUs (the default), the mirrored runs split the CPU into
--replicas logical devices and the two modes train at the same global batch
(--batch-size), so the ratio is the overhead of the strategy itself: there
is no extra hardware to gain from. With --gpus, the baseline sees one GPU
(CUDA_VISIBLE_DEVICES=0) and the mirrored run all of them, at the same batch
per replica: the ratio is the speed-up. Runs alternate between the two
modes, --repeats times each, and the medians are reported. Extra arguments
after `--` go to the trainer.
"""
import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STEP = re.compile(r"^\d+/\d+ - \d+s - (\d+)(us|ms|s)/step", re.MULTILINE)
UNIT = {"us": 1e-6, "ms": 1e-3, "s": 1.0}


def train(args, mode, repeat, extra):
    model = os.path.join(args.output, f"{mode.replace(' ', '_')}_{repeat}.keras")
    batch, env = args.batch_size, dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    cmd = [sys.executable, os.path.join(ROOT, args.script), "--dataset", args.dataset,
           "--model", model, "--size", str(args.size), "--epochs", str(args.epochs),
           "--patience", "0", "--distribute", "none" if mode == "one device" else "mirrored"]
    if args.gpus:
        if mode == "one device":
            env["CUDA_VISIBLE_DEVICES"] = "0"
    elif mode != "one device":
        batch //= args.replicas
        cmd += ["--cpu-devices", str(args.replicas)]
    cmd += ["--batch-size", str(batch), *extra]
    print("running:", " ".join(cmd[1:]), flush=True)
    stdout = subprocess.run(cmd, check=True, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            text=True).stdout
    with open(os.path.splitext(os.path.join(ROOT, model))[0] + ".json", encoding="utf-8") as f:
        run = json.load(f)["run"]
    global_batch = run["distribution"]["global_batch_size"]
    steps = [int(value) * UNIT[unit] for value, unit in STEP.findall(stdout)][1:]
    steady = global_batch / statistics.median(steps) if steps else float("nan")
    print(f"  {mode}: {run['images_per_second']:.0f} images/s over the run, {steady:.0f} in steady "
          f"state; {run['distribution']['replicas']} replica(s), global batch {global_batch}, "
          f"test accuracy {run['test_accuracy']:.3f}", flush=True)
    return run["images_per_second"], steady


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="../shared/data/animals")
    parser.add_argument("--output", default="output/bench_distribute")
    parser.add_argument("--script", default="train_simple_nn.py",
                        choices=["train_simple_nn.py", "train_vgg.py"])
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=64,
                        help="global batch on CPU; per replica with --gpus (default: %(default)s)")
    parser.add_argument("--replicas", type=int, default=2, help="logical CPU devices (default: 2)")
    parser.add_argument("--gpus", action="store_true", help="compare one GPU with all of them")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("extra", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    extra = [a for a in args.extra if a != "--"]
    print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs, python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.1f}")
    print("command: python -m benchmarks.bench_distribute " + " ".join(sys.argv[1:]), flush=True)
    speeds = {"one device": [], "mirrored": []}
    for repeat in range(args.repeats):
        # Alternate, so that machine noise hits both modes alike.
        for mode, values in speeds.items():
            values.append(train(args, mode, repeat, extra))
    medians = {mode: [statistics.median(v[i] for v in values) for i in (0, 1)]
               for mode, values in speeds.items()}
    print(f"\n| mode | images/s over the run (median of {args.repeats}) | runs | steady state "
          "(median) | runs |")
    print("| --- | --- | --- | --- | --- |")
    for mode, values in speeds.items():
        runs = [", ".join(f"{v[i]:.0f}" for v in values) for i in (0, 1)]
        print(f"| {mode} | {medians[mode][0]:.0f} | {runs[0]} | {medians[mode][1]:.0f} | {runs[1]} |")
    ratios = [medians["mirrored"][i] / medians["one device"][i] for i in (0, 1)]
    print(f"\nmirrored / one device: {ratios[0]:.2f}x over the run, {ratios[1]:.2f}x in steady "
          f"state; load average now {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
