"""Peak memory and images/s of the folder trainers as the dataset grows.

Makes replicas of a class folder (../shared/data/animals by default) at each
of --sizes images: symlinks in a temporary folder, every replica's files
under their own names (cats/r03_cats_00001.jpg), so the trainers see that
many distinct files. At each size, each trainer (train_vgg.py; fine_tune.py
with --weights and --alpha, backbone frozen: --warmup-epochs 0 --unfreeze
none) runs --epochs epochs with its default flags, once per --variants
entry ("default": no --data flag; "memory", "stream": --data
memory|stream), each in a fresh process under /usr/bin/time -v. Recorded
per run: peak resident memory (time -v's "Maximum resident set size"),
wall time, the loader's seconds, and the training images/s the trainer
writes in its sidecar (run.images_per_second). The variants of one trainer
and size run back to back, their order reversed on every other repeat, so
machine noise hits them alike.

Prints a Markdown table (median and best of --repeats), writes every run
to <out>/bench_scale.json and plots peak memory against images in
<out>/bench_scale.png. Each run's stdout/stderr is kept in <out>/logs/.

    python -m benchmarks.bench_scale --sizes 3000,12000 --trainers vgg --variants default
    python -m benchmarks.bench_scale --sizes 3000,12000,24000,48000 --trainers vgg,finetune \\
        --variants default,memory,stream --repeats 3

--extra passes more flags to every trainer run, e.g. --extra "--top-losses 0".
Every run writes its model in a folder of its own, so a streamed run builds
its image cache there (its "ready: ... in Xs" line is the load column);
--extra "--cache-dir DIR" shares one cache between runs instead. --tree runs
the scripts of another checkout (say, main before a change) for a baseline.
"""
import argparse
import json
import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_DATA = os.path.join(os.path.dirname(ROOT), "shared", "data", "animals")
DEFAULT_WEIGHTS = os.path.join(os.path.dirname(ROOT), "shared", "data", "weights",
                               "mobilenet_2_5_224_tf_no_top.h5")
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
VARIANTS = {"default": [], "memory": ["--data", "memory"], "stream": ["--data", "stream"]}
SCRIPTS = {"vgg": "train_vgg.py", "finetune": "fine_tune.py"}
VARIANT_LABELS = {"default": "default flags", "memory": "--data memory", "stream": "--data stream"}
TIME = "/usr/bin/time"


def trainer_command(trainer, args):
    """The script and its fixed flags for one trainer."""
    if trainer == "vgg":
        return [SCRIPTS[trainer]]
    # One epoch with the backbone frozen: phase 2 only, nothing of the backbone unfrozen.
    return [SCRIPTS[trainer], "--weights", args.weights, "--alpha", str(args.alpha),
            "--warmup-epochs", "0", "--unfreeze", "none"]


def make_replica(source, target, images):
    """Symlink `images` files of `source`'s class folders into `target`,
    spread evenly over the classes, repeating each class's files under the
    names r00_<name>, r01_<name>, ...; returns how many were linked."""
    classes = sorted(d for d in os.listdir(source) if os.path.isdir(os.path.join(source, d)))
    linked = 0
    for c, name in enumerate(classes):
        files = sorted(f for f in os.listdir(os.path.join(source, name))
                       if f.lower().endswith(IMAGE_EXTENSIONS))
        wanted = images // len(classes) + (c < images % len(classes))
        os.makedirs(os.path.join(target, name))
        for i in range(wanted):
            copy, original = divmod(i, len(files))
            os.symlink(os.path.abspath(os.path.join(source, name, files[original])),
                       os.path.join(target, name, f"r{copy:02d}_{files[original]}"))
        linked += wanted
    return linked


def parse_time_v(stderr):
    """(peak RSS in MiB, wall seconds) from /usr/bin/time -v's report."""
    peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", stderr)
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", stderr)
    seconds = None
    if wall:
        seconds = 0.0
        for part in wall.group(1).split(":"):
            seconds = seconds * 60 + float(part)
    return (int(peak.group(1)) / 1024 if peak else None), seconds


def images_per_second(model_path):
    """run.images_per_second from the sidecar the trainer wrote beside the model."""
    sidecar = os.path.splitext(model_path)[0] + ".json"
    try:
        with open(sidecar, encoding="utf-8") as f:
            run = json.load(f).get("run", {})
    except (OSError, json.JSONDecodeError):
        return None
    facts = run.get("result", run)
    return facts.get("images_per_second", run.get("images_per_second"))


def run_once(trainer, variant, size, dataset, work, args, index):
    tag = f"{trainer}_{variant}_{size}_{index}"
    model = os.path.join(work, "models", tag, "model.keras")
    script, *fixed = trainer_command(trainer, args)
    cmd = ([TIME, "-v", sys.executable, os.path.join(args.tree, script), *fixed, "--dataset", dataset,
            "--epochs", str(args.epochs), "--model", model] + VARIANTS[variant] + shlex.split(args.extra))
    env = dict(os.environ, PYTHONPATH=args.tree, TF_CPP_MIN_LOG_LEVEL="2")
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=args.tree, env=env, check=False)
    logs = os.path.join(args.out, "logs")
    os.makedirs(logs, exist_ok=True)
    with open(os.path.join(logs, tag + ".log"), "w", encoding="utf-8") as f:
        f.write("$ " + shlex.join(cmd) + "\n\n" + proc.stdout + "\n--- stderr ---\n" + proc.stderr)
    peak, wall = parse_time_v(proc.stderr)
    # The loader's line ("[INFO] loaded 3000 images of 3 classes in 4.1s", or "ready: ..."
    # once the trainers can stream: the load or the cache build) and the data mode chosen.
    loaded = re.search(r"(?:loaded|ready:) \d+ images .*? in ([\d.]+)s", proc.stdout)
    data_mode = re.search(r"^\[INFO\] data: (.*)$", proc.stdout, re.MULTILINE)
    record = {"trainer": trainer, "variant": variant, "images": size, "repeat": index,
              "returncode": proc.returncode, "peak_mib": peak,
              "wall_seconds": wall or round(time.perf_counter() - start, 1),
              "load_seconds": float(loaded.group(1)) if loaded else None,
              "data": data_mode.group(1) if data_mode else None,
              "images_per_second": images_per_second(model) if proc.returncode == 0 else None}
    status = "" if proc.returncode == 0 else f"  FAILED (exit {proc.returncode}, see logs/{tag}.log)"
    print(f"  {trainer:8s} {variant:8s} {size:6d} images: peak {peak or 0:7.0f} MiB, "
          f"{record['images_per_second'] or 0:7.1f} images/s, {record['wall_seconds']:.0f} s{status}",
          flush=True)
    return record


def summarize(records):
    """{(trainer, variant, images): {peak/ips median and best}} of the successful runs."""
    groups = {}
    for r in records:
        if r["returncode"] == 0 and r["peak_mib"] is not None:
            groups.setdefault((r["trainer"], r["variant"], r["images"]), []).append(r)
    summary = {}
    for key, runs in groups.items():
        peaks = [r["peak_mib"] for r in runs]
        rates = [r["images_per_second"] for r in runs if r["images_per_second"]]
        loads = [r["load_seconds"] for r in runs if r["load_seconds"] is not None]
        summary[key] = {"runs": len(runs), "peak_mib_median": statistics.median(peaks),
                        "peak_mib_best": min(peaks),
                        "ips_median": statistics.median(rates) if rates else None,
                        "ips_best": max(rates) if rates else None,
                        "wall_median": statistics.median(r["wall_seconds"] for r in runs),
                        "load_median": statistics.median(loads) if loads else None}
    return summary


def print_table(summary):
    print("\n| trainer | variant | images | runs | peak RSS MiB (median / best) | "
          "images/s (median / best) | load s | wall s | peak / smallest size's |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for (trainer, variant, images), s in sorted(summary.items()):
        sizes = sorted(i for t, v, i in summary if (t, v) == (trainer, variant))
        ratio = s["peak_mib_median"] / summary[trainer, variant, sizes[0]]["peak_mib_median"]
        rate = (f"{s['ips_median']:.1f} / {s['ips_best']:.1f}" if s["ips_median"] else "n/a")
        load = f"{s['load_median']:.1f}" if s["load_median"] is not None else "n/a"
        print(f"| {trainer} | {variant} | {images} | {s['runs']} | {s['peak_mib_median']:.0f} / "
              f"{s['peak_mib_best']:.0f} | {rate} | {load} | {s['wall_median']:.0f} | {ratio:.2f}x |")


def plot(summary, path, title):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for trainer, variant in sorted({(t, v) for t, v, _ in summary}):
        sizes = sorted(i for t, v, i in summary if (t, v) == (trainer, variant))
        peaks = [summary[trainer, variant, i]["peak_mib_median"] / 1024 for i in sizes]
        ax.plot(sizes, peaks, marker="o", label=f"{SCRIPTS[trainer]}, {VARIANT_LABELS[variant]}")
    all_sizes = sorted({i for _, _, i in summary})
    ax.set_xticks(all_sizes, [f"{i:,}" for i in all_sizes])
    ax.set_xlim(left=0)
    ax.set_xlabel("images in the dataset")
    ax.set_ylabel("peak resident memory (GiB, median)")
    ax.set_ylim(bottom=0)
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def replot(files, out):
    """The table and plot of the runs of earlier invocations, together."""
    records = []
    for path in files:
        with open(path, encoding="utf-8") as f:
            saved = json.load(f)
        print(f"{path}: {saved['command']}\n  machine: {saved['machine']}")
        records += saved["runs"]
    summary = summarize(records)
    print_table(summary)
    os.makedirs(out, exist_ok=True)
    plot(summary, os.path.join(out, "bench_scale.png"),
         f"one epoch per run; {os.cpu_count()} CPUs, medians of the runs in {len(files)} files")
    print(f"\nplot in {out}/bench_scale.png")


def csv_list(text, choices=None, kind=str):
    items = [kind(t) for t in text.split(",") if t.strip()]
    if choices is not None:
        bad = [i for i in items if i not in choices]
        if bad:
            raise argparse.ArgumentTypeError(f"unknown {', '.join(map(str, bad))}; choose from "
                                             f"{', '.join(choices)}")
    return items


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=DEFAULT_DATA, help="class folders to replicate (default: %(default)s)")
    parser.add_argument("--sizes", type=lambda t: csv_list(t, kind=int), default=[3000, 12000, 24000, 48000],
                        help="dataset sizes in images, comma-separated (default: 3000,12000,24000,48000)")
    parser.add_argument("--trainers", type=lambda t: csv_list(t, list(SCRIPTS)),
                        default=["vgg", "finetune"], help="vgg (train_vgg.py), finetune (fine_tune.py)")
    parser.add_argument("--variants", type=lambda t: csv_list(t, list(VARIANTS)),
                        default=["default", "memory", "stream"],
                        help="default (no --data flag), memory, stream (default: all three)")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=1, help="runs of each variant (default: 1)")
    parser.add_argument("--weights", default=DEFAULT_WEIGHTS, help="fine_tune.py's --weights")
    parser.add_argument("--alpha", type=float, default=0.25,
                        help="fine_tune.py's --alpha: the width of the MobileNet in --weights")
    parser.add_argument("--extra", default="", help="more flags for every trainer run, one quoted string")
    parser.add_argument("--tree", default=ROOT, help="the checkout whose scripts run (default: this one)")
    parser.add_argument("--tmp", default=None, help="where the replicas go (default: the system's temp)")
    parser.add_argument("--out", default=os.path.join(ROOT, "output", "bench_scale"),
                        help="results, plot, logs and models (default: %(default)s)")
    parser.add_argument("--replot", nargs="+", metavar="JSON", default=None,
                        help="run nothing: print the table of the runs in these bench_scale.json "
                             "files (several invocations together) and plot them into --out")
    args = parser.parse_args()
    if args.replot:
        replot(args.replot, os.path.abspath(args.out))
        return
    if not os.path.exists(TIME):
        sys.exit(f"error: {TIME} not found; it measures the peak memory (apt-get install time)")
    args.tree, args.out = os.path.abspath(args.tree), os.path.abspath(args.out)
    os.makedirs(args.out, exist_ok=True)
    machine = (f"{platform.platform()}, {os.cpu_count()} CPUs, python {platform.python_version()}, "
               f"load average {os.getloadavg()[0]:.2f} at start")
    print("command: python " + shlex.join(sys.argv))
    print(f"machine: {machine}")
    records = []
    with tempfile.TemporaryDirectory(prefix="bench_scale_", dir=args.tmp) as tmp:
        for size in args.sizes:
            dataset = os.path.join(tmp, f"animals_{size}")
            linked = make_replica(args.data, dataset, size)
            print(f"\n{linked} images in {dataset} (symlinks to {args.data})", flush=True)
            for trainer in args.trainers:
                for repeat in range(args.repeats):
                    # Paired and alternating: ABC, then CBA, ...
                    order = args.variants if repeat % 2 == 0 else args.variants[::-1]
                    for variant in order:
                        records.append(run_once(trainer, variant, linked, dataset, tmp, args, repeat))
    summary = summarize(records)
    if summary:
        print_table(summary)
        plot(summary, os.path.join(args.out, "bench_scale.png"),
             f"one epoch per run; {platform.node()} ({os.cpu_count()} CPUs)")
    with open(os.path.join(args.out, "bench_scale.json"), "w", encoding="utf-8") as f:
        json.dump({"command": "python " + shlex.join(sys.argv), "machine": machine, "runs": records,
                   "summary": [dict(zip(("trainer", "variant", "images"), k), **v)
                               for k, v in sorted(summary.items())]}, f, indent=2)
    print(f"\nruns in {args.out}/bench_scale.json, plot in {args.out}/bench_scale.png, "
          f"logs in {args.out}/logs/")
    if any(r["returncode"] for r in records):
        sys.exit(1)


if __name__ == "__main__":
    main()
