"""check_dataset.py on Animals: what it finds on the unmodified folder, how
well it finds known problems injected into a copy, and how long each stage
takes, at 3,000 images and at 24,000 (replicas).

    python -m benchmarks.bench_check quality --dataset ../shared/data/animals \\
        --weights ../shared/data/weights/mobilenet_2_5_224_tf_no_top.h5 --work /tmp/bench_check
    python -m benchmarks.bench_check timing --dataset ../shared/data/animals \\
        --weights ../shared/data/weights/mobilenet_2_5_224_tf_no_top.h5 --work /tmp/bench_check \\
        --replicas 8

quality copies the dataset under --work and injects, with --seed: 30
exact copies (renamed; 10 of them filed under another class), 30 near
copies (6 each: JPEG quality 50, half size, 90% crop, brightness +25,
mirrored), 10 copies placed so that each pair straddles the tutorial's
split, 30 label flips (files moved to another class) and 15 junk images
(blank, noise, text on a flat colour); then runs check_dataset.py on the
unmodified folder and on the copy, and prints precision and recall per
kind. Findings already present in the unmodified folder are left out of
the precision of the injected ones (they are listed on their own).

timing runs the check under /usr/bin/time -v on the folder and on a folder
of --replicas symlinked replicas of it (every replica a duplicate), and
prints the time per stage, the wall time and the peak memory of each.
"""
import argparse
import csv
import json
import os
import platform
import random
import re
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

NEAR_EDITS = ("jpeg50", "half", "crop90", "bright25", "mirror")


def run_check(dataset, out, weights, extra=(), timed=False):
    """Run check_dataset.py; returns (rows, summary, wall seconds, peak MB)."""
    os.makedirs(out, exist_ok=True)
    command = [sys.executable, os.path.join(ROOT, "check_dataset.py"), "--dataset", dataset,
               "--backbone", "mobilenet", "--alpha", "0.25", "--weights", weights,
               "--html", f"{out}/check.html", "--csv", f"{out}/check.csv", "--json", f"{out}/check.json",
               *extra]
    if timed:
        command = ["/usr/bin/time", "-v", *command]
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False,
                            env=dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="2"))
    if result.returncode != 0:
        sys.exit(f"check_dataset.py failed:\n{result.stderr[-3000:]}")
    wall = peak = None
    if timed:
        wall_text = re.search(r"Elapsed \(wall clock\) time.*: (\S+)", result.stderr).group(1)
        wall = sum(float(x) * 60 ** i for i, x in enumerate(reversed(wall_text.split(":"))))
        peak = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr).group(1)) / 1024
    with open(f"{out}/check.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    with open(f"{out}/check.json") as f:
        summary = json.load(f)
    return rows, summary, wall, peak


def planned_split(root, names, seed=42, test_size=0.25, val_size=0.1):
    """{relative path: part} for a folder that will hold exactly `names`
    (relative paths), by the trainers' own rule."""
    import numpy as np

    from pyimagesearch.datasets.folder import encode_labels
    from pyimagesearch.datasets.split import tutorial_split

    paths = sorted(os.path.join(root, n) for n in names)
    random.seed(seed)
    random.shuffle(paths)
    y, _ = encode_labels([os.path.relpath(p, root).split(os.sep)[0] for p in paths])
    train, val, test = tutorial_split(len(paths), y, test_size, val_size, seed)
    part = np.empty(len(paths), dtype=object)
    part[train], part[val], part[test] = "train", "val", "test"
    return {os.path.relpath(p, root): part[i] for i, p in enumerate(paths)}


def near_copy(image, edit):
    import cv2

    h, w = image.shape[:2]
    if edit == "half":
        return cv2.resize(image, (w // 2, h // 2), interpolation=cv2.INTER_AREA), ".jpg"
    if edit == "crop90":
        dy, dx = h // 20, w // 20
        return image[dy:h - dy, dx:w - dx], ".jpg"
    if edit == "bright25":
        return cv2.convertScaleAbs(image, beta=25), ".jpg"
    if edit == "mirror":
        return image[:, ::-1], ".jpg"
    return image, ".jpg"  # jpeg50: written at quality 50 below


def junk_image(kind, rng):
    import cv2
    import numpy as np

    if kind == "blank":
        return np.full((300, 400, 3), rng.integers(0, 256, 3), np.uint8)
    if kind == "noise":
        return rng.integers(0, 256, (300, 400, 3), dtype=np.uint8)
    image = np.full((300, 400, 3), rng.integers(150, 256, 3), np.uint8)
    cv2.putText(image, "SAMPLE", (30, 170), cv2.FONT_HERSHEY_SIMPLEX, 2.5, (20, 20, 20), 6)
    return image


def inject(source, target, seed):
    """Copy `source` to `target` and inject the problems; returns the truth."""
    import cv2
    import numpy as np

    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target)
    rng = np.random.default_rng(seed)
    picker = random.Random(seed)
    classes = sorted(os.listdir(target))
    originals = sorted(os.path.join(c, n) for c in classes for n in os.listdir(os.path.join(target, c)))
    picker.shuffle(originals)
    pool = iter(originals)
    truth = {"exact": [], "near": [], "leak": [], "flip": [], "junk": []}
    writes = {}                                  # new relative path -> (source, how)
    for i in range(30):
        src = next(pool)
        cls = src.split(os.sep)[0]
        if i < 10:
            cls = classes[(classes.index(cls) + 1) % len(classes)]
        new = os.path.join(cls, f"zz_exact_{i:02d}.jpg")
        writes[new] = (src, "exact")
        truth["exact"].append((src, new))
    for i in range(30):
        src, edit = next(pool), NEAR_EDITS[i % len(NEAR_EDITS)]
        new = os.path.join(src.split(os.sep)[0], f"zz_near_{edit}_{i:02d}.jpg")
        writes[new] = (src, edit)
        truth["near"].append((src, new, edit))
    flips = [next(pool) for _ in range(30)]
    moved = {}
    for src in flips:
        cls = src.split(os.sep)[0]
        other = classes[(classes.index(cls) + 1 + picker.randrange(len(classes) - 1)) % len(classes)]
        moved[src] = os.path.join(other, "flip_" + os.path.basename(src))
        truth["flip"].append((moved[src], cls))
    for i, kind in enumerate(["blank"] * 5 + ["noise"] * 5 + ["text"] * 5):
        new = os.path.join(classes[i % len(classes)], f"zz_junk_{kind}_{i:02d}.png")
        cv2.imwrite(os.path.join(target, new), junk_image(kind, rng))
        truth["junk"].append(new)
    leak_names = [os.path.join(classes[i % len(classes)], f"zz_leak_{i:02d}.jpg") for i in range(10)]
    names = [n for n in originals if n not in moved] + list(moved.values()) + list(writes) \
        + truth["junk"] + leak_names
    part = planned_split(target, names)
    used = {s for s, _ in writes.values()} | set(flips)
    for new in leak_names:
        cls = new.split(os.sep)[0]
        wanted = "train" if part[new] != "train" else "test"
        src = next(n for n in originals if n.startswith(cls + os.sep) and n not in used
                   and part[n] == wanted)
        used.add(src)
        writes[new] = (src, "exact")
        truth["leak"].append((src, new))
    for new, (src, how) in writes.items():
        path = os.path.join(target, new)
        if how == "exact":
            shutil.copyfile(os.path.join(target, src), path)
            continue
        image, _ = near_copy(cv2.imread(os.path.join(target, src)), how)
        cv2.imwrite(path, image, [cv2.IMWRITE_JPEG_QUALITY, 50 if how == "jpeg50" else 90])
    for src, new in moved.items():
        os.replace(os.path.join(target, src), os.path.join(target, new))
    return truth


def groups_of(rows, root, kinds):
    """Union of the duplicate rows' (path, related) edges: {file: group id}."""
    parent = {}

    def find(x):
        while parent.setdefault(x, x) != x:
            x = parent[x]
        return x
    def rel(path):
        return path if root is None else os.path.relpath(path, root)
    for r in rows:
        if r["kind"] in kinds:
            parent[find(rel(r["path"]))] = find(rel(r["related"]))
    return {x: find(x) for x in parent}


def score(found, truth):
    tp = len(found & truth)
    return (tp / len(found) if found else 1.0), (tp / len(truth) if truth else 1.0), tp, len(found), len(truth)


def quality(args):
    target = os.path.join(args.work, "animals_injected")
    truth = inject(args.dataset, target, args.seed)
    base_rows, base, _, _ = run_check(args.dataset, os.path.join(args.work, "base"), args.weights)
    rows, summary, _, _ = run_check(target, os.path.join(args.work, "injected"), args.weights)
    def rel(path):
        return os.path.relpath(path, target)
    base_files = {k: {os.path.relpath(r["path"], args.dataset) for r in base_rows if r["kind"] == k}
                  for k in ("exact_duplicate", "near_duplicate", "conflict", "label_issue", "outlier")}
    dup_kinds = ("exact_duplicate", "near_duplicate")
    base_dup = groups_of(base_rows, args.dataset, dup_kinds)
    group = groups_of(rows, target, dup_kinds)
    injected_pairs = truth["exact"] + truth["leak"] + [(s, n) for s, n, _ in truth["near"]]
    # The true groups: the injected pairs joined to the groups the unmodified folder already had.
    true_group = groups_of([{"kind": "x", "path": a, "related": b} for a, b in injected_pairs]
                           + [{"kind": "x", "path": a, "related": g} for a, g in base_dup.items()], None, ("x",))
    injected_copies = {n for _, n in injected_pairs}
    lines = []

    def line(name, precision, recall, tp, n_found, n_truth, note=""):
        lines.append(f"| {name} | {precision:.3f} | {recall:.3f} | {tp} of {n_found} flagged right, "
                     f"{n_truth} injected{note} |")

    # A pair is found when both files end up in one group. A row counts
    # when it touches an injected copy or a file outside the unmodified
    # folder's groups, and is right when both its files are in one true group.
    for kind, pairs in (("exact_duplicate", truth["exact"] + truth["leak"]),
                        ("near_duplicate", [(s, n) for s, n, _ in truth["near"]])):
        found_rows = [(rel(r["path"]), rel(r["related"])) for r in rows if r["kind"] == kind]
        involved = [(a, b) for a, b in found_rows if a in injected_copies or b in injected_copies
                    or not (a in base_dup and b in base_dup)]
        right = [(a, b) for a, b in involved if a in true_group and true_group[a] == true_group.get(b)]
        recalled = sum(a in group and group[a] == group.get(b) for a, b in pairs)
        line(kind, len(right) / max(len(involved), 1), recalled / len(pairs), len(right), len(involved),
             len(pairs))
    for edit in NEAR_EDITS:
        pairs = [(s, n) for s, n, e in truth["near"] if e == edit]
        hits = sum(a in group and group[a] == group.get(b) for a, b in pairs)
        lines.append(f"| near: {edit} | | {hits / len(pairs):.3f} | {hits} of {len(pairs)} |")
    conflict_truth = {f for pair in truth["exact"][:10] for f in pair}
    found = {rel(r["path"]) for r in rows if r["kind"] == "conflict"} - base_files["conflict"]
    line("conflict", *score(found, conflict_truth))
    leak_rows = {frozenset((rel(r["path"]), rel(r["related"]))) for r in rows if r["kind"] == "leakage"}
    leak_files = {rel(r["path"]) for r in rows if r["kind"] == "leakage"}
    placed = sum(bool({a, b} & leak_files) for a, b in truth["leak"])
    lines.append(f"| leakage (10 placed pairs) | | {placed / 10:.3f} | {placed} of 10 placed pairs found; "
                 f"{len(leak_rows)} leakage rows, test images with a copy in train: "
                 f"{summary['test_images_with_copy_in_train']} (unmodified: "
                 f"{base['test_images_with_copy_in_train']}) |")
    flips = {new: cls for new, cls in truth["flip"]}
    # The copies filed under another class are label errors too.
    wrong_class = {new for _, new in truth["exact"][:10]}
    issues = [r for r in rows if r["kind"] == "label_issue"]
    base_issue = {os.path.basename(p) for p in base_files["label_issue"]}
    fresh = [rel(r["path"]) for r in issues
             if os.path.basename(r["path"]).removeprefix("flip_") not in base_issue]
    for k in sorted({30, len(fresh)}):
        top = set(fresh[:k])
        tp = len(top & set(flips))
        lines.append(f"| label_issue (top {k}) | {len(top & (set(flips) | wrong_class)) / max(len(top), 1):.3f}"
                     f" | {tp / len(flips):.3f} | {tp} flips and {len(top & wrong_class)} copies filed under "
                     f"another class among {len(top)} flagged (not counting {len(issues) - len(fresh)} "
                     "flagged in the unmodified folder too) |")
    right_suggestion = sum(flips.get(rel(r["path"])) == r["suggested"] for r in issues)
    lines.append(f"| label_issue: suggestion = original class | | | {right_suggestion} of "
                 f"{sum(rel(r['path']) in flips for r in issues)} flips found |")
    junk_kinds = ("outlier", "low_information", "dark", "light", "blurry", "tiny")
    junk_found = {rel(r["path"]) for r in rows if r["kind"] in junk_kinds}
    jt = set(truth["junk"])
    lines.append(f"| junk (any of {', '.join(junk_kinds)}) | | {len(junk_found & jt) / len(jt):.3f} | "
                 f"{len(junk_found & jt)} of {len(jt)}; by kind: "
                 + ", ".join(f"{k} {len({rel(r['path']) for r in rows if r['kind'] == k} & jt)}"
                             for k in junk_kinds) + " |")
    print("| kind | precision | recall | counts |\n|---|---|---|---|")
    print("\n".join(lines))
    print("\nunmodified folder: " + ", ".join(f"{k} {v}" for k, v in base["counts"].items() if v))
    print(f"unmodified folder: {base['duplicate_groups']} duplicate groups; report "
          f"{os.path.join(args.work, 'base', 'check.html')}")


def timing(args):
    replicas = os.path.join(args.work, f"replicas_x{args.replicas}")
    shutil.rmtree(replicas, ignore_errors=True)
    source = os.path.abspath(args.dataset)
    for cls in sorted(os.listdir(source)):
        os.makedirs(os.path.join(replicas, cls))
        for name in sorted(os.listdir(os.path.join(source, cls))):
            for k in range(args.replicas):
                os.symlink(os.path.join(source, cls, name), os.path.join(replicas, cls, f"r{k}_{name}"))
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, load average "
          f"{', '.join(f'{x:.1f}' for x in os.getloadavg())} at the start")
    print("| run | images | wall s | images/s | peak MB | stages (s) |\n|---|---|---|---|---|---|")
    for name, folder in (("Animals", args.dataset), (f"{args.replicas} replicas", replicas)):
        _, summary, wall, peak = run_check(folder, os.path.join(args.work, f"timing_{args.replicas}_{name[0]}"),
                                           args.weights, timed=True)
        stages = ", ".join(f"{k} {v:.1f}" for k, v in summary["seconds"].items())
        print(f"| {name} | {summary['images']} | {wall:.1f} | {summary['images'] / wall:.0f} | {peak:.0f} | "
              f"{stages} |", flush=True)
    print(f"load average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["quality", "timing"])
    parser.add_argument("--dataset", default=os.path.join(ROOT, "..", "shared", "data", "animals"))
    parser.add_argument("--weights", default=os.path.join(ROOT, "..", "shared", "data", "weights",
                                                          "mobilenet_2_5_224_tf_no_top.h5"))
    parser.add_argument("--work", default="/tmp/bench_check")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--replicas", type=int, default=8)
    args = parser.parse_args()
    (quality if args.mode == "quality" else timing)(args)


if __name__ == "__main__":
    main()
