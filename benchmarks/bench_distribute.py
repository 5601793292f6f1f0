"""Training speed with and without --distribute mirrored, in images/s, read
from each run's sidecar (`run.images_per_second`: training images x epochs
over the training time, validation included).

    python benchmarks/bench_distribute.py --dataset ../shared/data/animals

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
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def train(args, mode, repeat, extra):
    model = os.path.join(args.output, f"{mode}_{repeat}.keras")
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
    subprocess.run(cmd, check=True, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    with open(os.path.splitext(os.path.join(ROOT, model))[0] + ".json", encoding="utf-8") as f:
        run = json.load(f)["run"]
    print(f"  {mode}: {run['images_per_second']:.0f} images/s, {run['distribution']['replicas']} "
          f"replica(s), global batch {run['distribution']['global_batch_size']}, "
          f"test accuracy {run['test_accuracy']:.3f}", flush=True)
    return run["images_per_second"]


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
    print("command: python benchmarks/bench_distribute.py " + " ".join(sys.argv[1:]), flush=True)
    speeds = {"one device": [], "mirrored": []}
    for repeat in range(args.repeats):
        # Alternate, so that machine noise hits both modes alike.
        for mode, values in speeds.items():
            values.append(train(args, mode, repeat, extra))
    one, mirrored = (statistics.median(values) for values in speeds.values())
    print(f"\n| mode | images/s (median of {args.repeats}) | runs |")
    print("| --- | --- | --- |")
    for mode, values in speeds.items():
        print(f"| {mode} | {statistics.median(values):.0f} | {', '.join(f'{v:.0f}' for v in values)} |")
    print(f"\nmirrored / one device: {mirrored / one:.2f}x; load average now {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
