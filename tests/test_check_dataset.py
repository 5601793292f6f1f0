"""check_dataset.py on generated folders with known problems: each problem
found exactly, nothing on clean data, leakage that follows the split flags,
quarantine and restore, --exclude in a trainer's split, the HTML report in
a real browser, one-line errors."""

import csv
import json
import os
import shutil

import cv2
import numpy as np
import pytest
from browser import Chromium, find_chromium
from conftest import SHARED_DATA, assert_clean_failure, make_colour_dataset, run_script
from sklearn.model_selection import train_test_split

from pyimagesearch.datacheck import quarantine
from pyimagesearch.datacheck.findings import Finding
from pyimagesearch.datasets import list_images

WEIGHTS = SHARED_DATA / "weights" / "mobilenet_2_5_224_tf_no_top.h5"


def make_photo(rng, h=128, w=160):
    """A photo-like image: a smooth random field plus random shapes, so that
    every generated image differs from every other in its coarse structure
    (what perceptual hashes compare)."""
    field = cv2.resize(rng.integers(0, 256, (4, 5, 3), dtype=np.uint8), (w, h),
                       interpolation=cv2.INTER_CUBIC)
    for _ in range(6):
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        centre = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        cv2.circle(field, centre, int(rng.integers(5, 30)), colour, -1)
        cv2.line(field, centre, (int(rng.integers(0, w)), int(rng.integers(0, h))), colour, 2)
    return field


def make_clean(root, per_class=10, seed=0):
    rng = np.random.default_rng(seed)
    for name in ("cats", "dogs", "panda"):
        os.makedirs(root / name, exist_ok=True)
        for i in range(per_class):
            cv2.imwrite(str(root / name / f"{name}_{i:02d}.png"), make_photo(rng))
    return root


def check(root, out, *flags, code=0):
    result = run_script("check_dataset.py", "--dataset", root, "--fast", "--html", out / "c.html",
                        "--csv", out / "c.csv", "--json", out / "c.json", *flags)
    assert result.returncode == code, result.stderr
    with open(out / "c.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    return result, rows, json.loads((out / "c.json").read_text())


def found(rows, root, *kinds):
    return {(os.path.relpath(r["path"], root), r["kind"]) for r in rows if r["kind"] in kinds}


@pytest.fixture(scope="module")
def problems(tmp_path_factory):
    """A clean folder with one of each problem added; returns (root, expected)."""
    root = make_clean(tmp_path_factory.mktemp("problems") / "data")
    photo = cv2.imread(str(root / "cats" / "cats_02.png"))
    shutil.copy(root / "cats" / "cats_00.png", root / "dogs" / "zz_copy_of_cat.png")   # conflict
    shutil.copy(root / "dogs" / "dogs_01.png", root / "dogs" / "zz_same.png")           # exact copy
    cv2.imwrite(str(root / "cats" / "zz_small.jpg"), cv2.resize(photo, (80, 64)),
                [cv2.IMWRITE_JPEG_QUALITY, 50])                                        # re-encoded, half size
    cv2.imwrite(str(root / "cats" / "zz_mirror.png"), photo[:, ::-1])                  # mirrored
    cv2.imwrite(str(root / "panda" / "zz_bright.png"),
                cv2.convertScaleAbs(cv2.imread(str(root / "panda" / "panda_03.png")), beta=25))
    cv2.imwrite(str(root / "panda" / "zz_blank.png"), np.full((128, 160, 3), 128, np.uint8))
    cv2.imwrite(str(root / "panda" / "zz_tiny.png"), cv2.resize(make_photo(np.random.default_rng(9)), (40, 32)))
    jpeg = cv2.imencode(".jpg", make_photo(np.random.default_rng(5)))[1].tobytes()
    (root / "dogs" / "zz_truncated.jpg").write_bytes(jpeg[: len(jpeg) // 2])
    shutil.copy(root / "dogs" / "dogs_05.png", root / "dogs" / "zz_png_named.jpg")
    os.remove(root / "dogs" / "dogs_05.png")
    expected = {
        ("dogs/zz_copy_of_cat.png", "exact_duplicate"), ("dogs/zz_same.png", "exact_duplicate"),
        ("cats/zz_small.jpg", "near_duplicate"), ("cats/zz_mirror.png", "near_duplicate"),
        ("panda/zz_bright.png", "near_duplicate"),
        ("cats/cats_00.png", "conflict"), ("dogs/zz_copy_of_cat.png", "conflict"),
        ("dogs/zz_truncated.jpg", "unreadable"), ("dogs/zz_png_named.jpg", "wrong_extension"),
        ("panda/zz_blank.png", "low_information"), ("panda/zz_tiny.png", "tiny"),
    }
    return root, expected


@pytest.fixture(scope="module")
def checked(problems, tmp_path_factory):
    """The check of the problems folder, run once; --fail-on makes it exit 1."""
    out = tmp_path_factory.mktemp("checked")
    root = problems[0]
    # A separately collected set: a copy of one image and a re-encoding of another.
    os.makedirs(out / "other" / "any" / "layout")
    shutil.copy(root / "panda" / "panda_05.png", out / "other" / "a.png")
    cv2.imwrite(str(out / "other" / "any" / "layout" / "b.jpg"), cv2.imread(str(root / "cats" / "cats_04.png")),
                [cv2.IMWRITE_JPEG_QUALITY, 60])
    return (out, *check(root, out, "--fail-on", "conflict,outlier", "--against", out / "other", code=1))


def test_each_generated_problem_is_found_exactly(problems, checked):
    root, expected = problems
    _, result, rows, summary = checked
    kinds = ("exact_duplicate", "near_duplicate", "conflict", "unreadable", "wrong_extension",
             "low_information", "tiny", "overlap")
    assert found(rows, root, *kinds) == expected | {("panda/panda_05.png", "overlap"),
                                                    ("cats/cats_04.png", "overlap")}
    assert summary["duplicate_groups"] == 4  # cats_02 with its small and mirrored copies
    assert summary["counts"]["label_issue"] is None and summary["counts"]["overlap"] == 2
    assert "  conflict        2" in result.stdout
    order = [r["kind"] for r in rows]
    assert order == sorted(order, key=list(summary["counts"]).index)  # sorted by kind


def test_clean_data_gives_no_duplicates_or_conflicts(tmp_path):
    root = make_clean(tmp_path / "data", per_class=20, seed=1)
    _, rows, summary = check(root, tmp_path)
    assert summary["duplicate_groups"] == 0
    assert not found(rows, root, "exact_duplicate", "near_duplicate", "conflict", "leakage", "unreadable")


def expected_leaks(root, pairs, seed, test_size):
    """The tutorial's test split, written out here: the sorted paths shuffled
    with the seed, then train_test_split of their positions."""
    paths, _ = list_images(str(root), seed=seed)
    _, test = train_test_split(np.arange(len(paths)), test_size=test_size, random_state=seed)
    part = {os.path.relpath(p, root): ("test" if i in set(test) else "train") for i, p in enumerate(paths)}
    return sum((part[a] == "test") != (part[b] == "test") for a, b in pairs)


def test_leakage_follows_the_split_flags(tmp_path):
    root = make_clean(tmp_path / "data", per_class=10, seed=2)
    pairs = []
    for name in ("cats", "dogs", "panda"):
        for i in range(4):
            shutil.copy(root / name / f"{name}_{i:02d}.png", root / name / f"{name}_{i:02d}_copy.png")
            pairs.append((f"{name}/{name}_{i:02d}.png", f"{name}/{name}_{i:02d}_copy.png"))
    counts = set()
    for seed, test_size in ((42, 0.25), (7, 0.5)):
        _, rows, summary = check(root, tmp_path, "--seed", seed, "--test-size", test_size,
                                 "--val-size", 0)
        leaks = expected_leaks(root, pairs, seed, test_size)
        assert summary["test_images_with_copy_in_train"] == leaks
        assert len([r for r in rows if r["kind"] == "leakage"]) == leaks
        counts.add(leaks)
    assert len(counts) == 2  # the two splits differ, and so do their counts


def tree(root):
    return {os.path.relpath(os.path.join(d, n), root): open(os.path.join(d, n), "rb").read()
            for d, _, names in os.walk(root) for n in names}


def test_quarantine_then_restore_gives_back_the_identical_tree(problems, tmp_path):
    root = tmp_path / "data"
    shutil.copytree(problems[0], root)
    before = tree(root)
    held = tmp_path / "held"
    result, rows, _ = check(root, tmp_path, "--quarantine", held)
    moved = {os.path.relpath(r["path"], root) for r in rows
             if r["kind"] in ("exact_duplicate", "near_duplicate", "unreadable", "conflict")}
    assert "moved 7 files" in result.stdout and len(moved) == 7
    assert set(tree(held)) == moved | {"manifest.json"}
    assert set(tree(root)) == set(before) - moved
    assert all(tree(held)[p] == before[p] for p in moved)
    restored = run_script("check_dataset.py", "--restore", held / "manifest.json")
    assert restored.returncode == 0 and "restored 7 files" in restored.stdout
    assert tree(root) == before


def test_an_interrupted_quarantine_restores_or_completes(problems, tmp_path):
    root, held = tmp_path / "data", tmp_path / "held"
    shutil.copytree(problems[0], root)
    before = tree(root)
    findings = [Finding(str(root / rel), kind) for rel, kind in problems[1]]
    moves = quarantine.plan(findings, root, ("exact_duplicate", "near_duplicate", "unreadable"))
    manifest = quarantine.quarantine(moves, root, held)
    # The states a kill can leave: not moved yet, and (across file systems)
    # copied with the original still in place.
    first, second, *_ = sorted(moves)
    os.replace(held / first, root / first)
    shutil.copy2(held / second, root / second)
    assert quarantine.restore(manifest) == len(moves) - 1
    assert tree(root) == before
    os.replace(root / first, held / first)
    shutil.copy2(root / second, held / second)
    quarantine.quarantine({}, root, held)  # run again: completes the manifest's moves
    assert set(tree(root)) == set(before) - set(moves)
    quarantine.restore(manifest)
    assert tree(root) == before


def test_exclude_leaves_exactly_those_files_out_of_a_trainers_split(tmp_path):
    data = make_colour_dataset(tmp_path / "data", per_class=8, size=(16, 16))
    left_out = ["red/red_001.png", "blue/blue_004.png"]
    (tmp_path / "exclude.txt").write_text("\n".join(left_out) + "\n")
    model = tmp_path / "m.keras"
    result = run_script("train_simple_nn.py", "--dataset", data, "--size", 8, "--epochs", 1,
                        "--model", model, "--top-losses", 0, "--exclude", tmp_path / "exclude.txt")
    assert result.returncode == 0, result.stderr
    assert "left out 2 of 24 files" in result.stderr
    info = json.loads(model.with_suffix(".json").read_text())
    record = info["run"]["arguments"]["exclude"]
    assert record["excluded"] == 2 and record["file"] == str(tmp_path / "exclude.txt")
    assert info["run"]["train_images"] + info["run"]["val_images"] + info["run"]["test_images"] == 22
    from pyimagesearch.training.data import load_run_split

    split = load_run_split(info)
    used = {os.path.relpath(p, data) for p in split.train_paths + split.val_paths + split.test_paths}
    assert used == {os.path.relpath(p, data) for p in list_images(str(data))[0]} - set(left_out)


def test_exclude_reads_the_checks_csv_by_kind(problems, checked):
    root, out = problems[0], checked[0]
    paths, _ = list_images(str(root))
    from pyimagesearch.datasets.exclude import read_exclude

    default = read_exclude(str(out / "c.csv"))
    kept = [p for p, k in zip(paths, default.keep_mask(paths)) if not k]
    assert {os.path.relpath(p, root) for p in kept} == {
        "dogs/zz_copy_of_cat.png", "dogs/zz_same.png", "cats/zz_small.jpg", "cats/zz_mirror.png",
        "panda/zz_bright.png", "cats/cats_00.png", "dogs/zz_truncated.jpg"}
    tiny = read_exclude(f"{out / 'c.csv'}:tiny")
    assert sum(1 for k in tiny.keep_mask(paths) if not k) == 1


def test_the_report_opens_in_chromium_with_counts_equal_to_the_json(checked):
    if find_chromium() is None:
        pytest.skip("chromium is not installed")
    out, _, _, summary = checked
    with Chromium() as browser:
        session = browser.open((out / "c.html").as_uri())
        widths = browser.evaluate(session, "[...document.images].map(img => img.naturalWidth)")
        shown = browser.evaluate(session, "Object.fromEntries([...document.querySelectorAll('[data-kind]')]"
                                          ".filter(e => e.id).map(e => [e.dataset.kind, e.dataset.value]))")
        errors = browser.errors()
    assert errors == []
    assert len(widths) >= 11 and all(w > 0 for w in widths), widths
    assert shown == {k: "" if v is None else str(v) for k, v in summary["counts"].items()}


@pytest.mark.skipif(not WEIGHTS.is_file(), reason="the MobileNet weights file is not available")
def test_label_flips_and_junk_are_found_with_backbone_features(tmp_path):
    root = make_colour_dataset(tmp_path / "data", per_class=16, size=(64, 64))
    flipped = {"green/red_003.png": "red", "blue/green_007.png": "green"}
    for new in flipped:
        name = os.path.basename(new)
        os.replace(root / name.split("_")[0] / name, root / new)
    cv2.imwrite(str(root / "red" / "zz_text.png"),
                cv2.putText(np.full((64, 64, 3), 250, np.uint8), "LOGO", (2, 40),
                            cv2.FONT_HERSHEY_SIMPLEX, 0.8, (0, 0, 0), 2))
    result = run_script("check_dataset.py", "--dataset", root, "--weights", WEIGHTS, "--alpha", 0.25,
                        "--size", 128, "--html", tmp_path / "c.html", "--csv", tmp_path / "c.csv",
                        "--json", tmp_path / "c.json")
    assert result.returncode == 0, result.stderr
    with open(tmp_path / "c.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    issues = [r for r in rows if r["kind"] == "label_issue"]
    top = {os.path.relpath(r["path"], root): r["suggested"] for r in issues[:2]}
    assert top == flipped
    outliers = [os.path.relpath(r["path"], root) for r in rows if r["kind"] == "outlier"]
    assert outliers[0] == "red/zz_text.png"  # the farthest from every other image


@pytest.mark.parametrize("flags, fragment", [
    (["--fail-on", "dupes"], "unknown kind dupes"),
    (["--weights", "missing.h5"], "missing.h5: weights file not found"),
    (["--exclude", "missing.txt"], "missing.txt: cannot read the --exclude file"),
    (["--test-size", "2.5"], "--test-size must be"),
])
def test_bad_flags_are_one_line_errors(colour_dataset, tmp_path, flags, fragment):
    result = run_script("check_dataset.py", "--dataset", colour_dataset, "--csv", tmp_path / "c.csv", *flags)
    assert_clean_failure(result, 2, fragment)


def test_fail_on_exits_1_when_that_kind_is_found_and_restore_wants_a_manifest(checked):
    out, result = checked[:2]
    assert "found conflict (--fail-on)" in result.stderr  # exit code 1: checked by the fixture
    result = run_script("check_dataset.py", "--restore", out / "c.json")
    assert_clean_failure(result, 2, "not a quarantine manifest")
