"""The image cache on disk (pyimagesearch.io.imagecache): the same pixels as
the in-memory loader, reused while the files are unchanged, rebuilt when
they change, and never a partial file after an error, a signal or a kill."""

import os
import random
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time

import cv2
import h5py
import numpy as np
import pytest
from conftest import ROOT, make_colour_dataset, slow_dataset
from imagecorpus import write_corpus

from pyimagesearch.datasets import SimpleDatasetLoader
from pyimagesearch.datasets.folder import find_dataset
from pyimagesearch.io.imagecache import ImageCache, cache_path, estimate_bytes, open_cache
from pyimagesearch.preprocessing import RESIZERS
from pyimagesearch.utils.errors import UserError


def photo_dataset(root, per_class=5, seed=0):
    """JPEGs and PNGs of several sizes and aspect ratios: large JPEGs take
    the loader's reduced-scale decoding, wide and tall ones make the aspect
    resize crop differently from the plain one."""
    rng = np.random.default_rng(seed)
    sizes = [(240, 320), (300, 140), (50, 90), (33, 33), (400, 260)]
    for name in ("cats", "dogs"):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            h, w = sizes[i % len(sizes)]
            image = cv2.GaussianBlur(rng.integers(0, 256, (h, w, 3), dtype=np.uint8), (5, 5), 0)
            ext = ".png" if i % 3 == 2 else ".jpg"
            cv2.imwrite(str(root / name / f"{name}_{i:02d}{ext}"), image)
    return root


@pytest.fixture
def photos(tmp_path):
    return photo_dataset(tmp_path / "photos")


def cache_files(folder):
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# 40x24 rows fit many to a chunk; 300x200 rows 5 to a chunk (about 1 MiB),
# so rows are read from several chunks, the last one partly filled.
@pytest.mark.parametrize("resize, width, height", [("simple", 40, 24), ("aspect", 300, 200)])
def test_pixels_rows_and_labels_equal_the_loaders(resize, width, height, tmp_path, capsys):
    root = tmp_path / "corpus"
    write_corpus(root)
    photo_dataset(root)
    paths, labels = find_dataset(root, seed=7)
    loader = SimpleDatasetLoader([RESIZERS[resize](width, height)])
    data, kept_labels = loader.load(paths, labels=labels)
    assert loader.skipped  # the corpus has unreadable files
    capsys.readouterr()

    with open_cache(root, paths, labels, width, height, resize, folder=tmp_path / "cache") as cache:
        rows, kept = cache.rows_for(paths)
        assert kept == loader.paths
        assert rows.dtype == np.int64 and len(rows) == len(data)
        assert np.array_equal(cache.read(rows), data)
        assert np.array_equal(cache.read_all(rows), data)
        assert np.array_equal(cache.labels_for(rows), kept_labels)
        assert cache.image_shape == (height, width, 3) and cache.num_images == len(data)
        assert cache.nbytes == data.nbytes == estimate_bytes(len(data), width, height)
        assert sorted(rel for rel, _ in cache.skipped) == sorted(
            os.path.relpath(p, root).replace(os.sep, "/") for p, _ in loader.skipped)
    # Each unreadable file is named once, as the loader's callers report it.
    err = capsys.readouterr().err
    for path, reason in loader.skipped:
        assert err.count(f"skipped {path}: {reason}\n") == 1
    assert f"skipped {len(loader.skipped)} of {len(paths)} files" in err


def test_the_file_is_plain_hdf5_in_sorted_order_whatever_the_seed(photos, tmp_path, capsys):
    paths, labels = find_dataset(photos, seed=1)
    cache = open_cache(photos, paths, labels, 16, 16, folder=tmp_path / "cache")
    cache.close()
    with h5py.File(cache.path, "r") as db:
        rels = list(db["paths"].asstr()[:])
        assert rels == sorted(rels) and len(rels) == len(paths)
        assert list(db["labels"].asstr()[:]) == [rel.split("/")[0] for rel in rels]
        assert db["images"].dtype == np.uint8 and db["images"].shape == (len(paths), 16, 16, 3)
        assert db["images"].compression is None
        first = cv2.resize(cv2.imread(str(photos / rels[0])), (16, 16), interpolation=cv2.INTER_AREA)
        assert db.attrs["dataset"] == str(photos) and db.attrs["resize"] == "simple"
        assert (db.attrs["width"], db.attrs["height"]) == (16, 16) and db.attrs["skipped"] == "[]"
        # The first file, decoded at reduced scale by the loader: close to a plain resize.
        assert np.abs(db["images"][0].astype(int) - first).mean() < 2

    # Another seed lists the files in another order: the same cache serves it.
    other_paths, other_labels = find_dataset(photos, seed=2)
    capsys.readouterr()
    with open_cache(photos, other_paths, other_labels, 16, 16, folder=tmp_path / "cache") as again:
        assert "reusing" in capsys.readouterr().out
        rows, kept = again.rows_for(other_paths)
        assert kept == other_paths
        assert [again.paths[r] for r in rows] == [
            os.path.relpath(p, photos).replace(os.sep, "/") for p in other_paths]


def test_a_second_open_reuses_the_file(photos, tmp_path, capsys):
    paths, labels = find_dataset(photos, seed=3)
    folder = tmp_path / "cache"
    with open_cache(photos, paths, labels, 24, 24, folder=folder) as cache:
        first = cache.read_all()
    out = capsys.readouterr().out
    assert re.search(rf"building {re.escape(cache.path)}: new", out), out
    before = os.stat(cache.path)
    time.sleep(0.01)
    with open_cache(photos, paths, labels, 24, 24, folder=folder) as again:
        assert np.array_equal(again.read_all(), first)
    out = capsys.readouterr().out
    assert re.search(rf"reusing {re.escape(cache.path)} \({len(paths)} images, built \d{{4}}-", out), out
    after = os.stat(cache.path)
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    # Another size or resize mode is another cache; the first one stays.
    with open_cache(photos, paths, labels, 24, 24, "aspect", folder=folder):
        pass
    assert "building" in capsys.readouterr().out
    assert len(cache_files(folder)) == 2


def test_a_changed_added_removed_or_relabelled_file_rebuilds(photos, tmp_path, capsys):
    folder = tmp_path / "cache"

    def open_now():
        paths, labels = find_dataset(photos, seed=0)
        cache = open_cache(photos, paths, labels, 20, 20, folder=folder)
        loader = SimpleDatasetLoader([RESIZERS["simple"](20, 20)])
        data, _ = loader.load(paths, labels=labels)
        rows, _ = cache.rows_for(paths)
        assert np.array_equal(cache.read(rows), data)  # the rebuilt pixels are today's
        cache.close()
        return capsys.readouterr().out

    assert "new" in open_now()
    changed = photos / "cats" / "cats_00.jpg"
    cv2.imwrite(str(changed), np.full((60, 80, 3), 30, np.uint8))
    assert "1 files changed, 0 added, 0 removed" in open_now()
    cv2.imwrite(str(photos / "dogs" / "extra.png"), np.full((30, 30, 3), 90, np.uint8))
    assert "0 files changed, 1 added, 0 removed" in open_now()
    (photos / "dogs" / "dogs_01.jpg").unlink()
    assert "0 files changed, 0 added, 1 removed" in open_now()
    os.rename(photos / "dogs" / "dogs_03.jpg", photos / "dogs" / "renamed.jpg")
    assert "0 files changed, 1 added, 1 removed" in open_now()
    assert "reusing" in open_now()
    # A relabelling with the same files (labels from file names here).
    paths, _ = find_dataset(photos, seed=0)
    with open_cache(photos, paths, ["x" if "cats" in p else "y" for p in paths], 20, 20,
                    folder=folder) as cache:
        assert set(cache.labels) == {"x", "y"}
    assert f"{len(paths)} files changed, 0 added, 0 removed" in capsys.readouterr().out
    assert len(cache_files(folder)) == 1


def skipped_lines(stderr):
    return [line for line in stderr.splitlines() if line.startswith("skipped ")]


def test_reuse_names_the_count_of_unreadable_files_once(tmp_path, capsys):
    root = tmp_path / "corpus"
    expected = write_corpus(root)
    paths, labels = find_dataset(root, seed=0)
    open_cache(root, paths, labels, 16, 16, folder=tmp_path / "cache").close()
    assert len(skipped_lines(capsys.readouterr().err)) == len(expected["bad"]) + 1  # and the count
    with open_cache(root, paths, labels, 16, 16, folder=tmp_path / "cache") as cache:
        captured = capsys.readouterr()
        assert skipped_lines(captured.err) == []
        assert (f"{len(expected['bad'])} unreadable files were left out when the cache was built "
                f"(see the skipped attribute of {cache.path})") in captured.err
        assert {rel for rel, _ in cache.skipped} == set(expected["bad"])


def test_read_returns_rows_in_the_asked_order_from_several_threads(photos, tmp_path):
    paths, labels = find_dataset(photos, seed=0)
    # 5 rows of 256x240 to a chunk (about 1 MiB): the 10 rows lie in 2 chunks.
    with open_cache(photos, paths, labels, 256, 240, folder=tmp_path / "cache") as cache:
        every = cache.read_all()
        with h5py.File(cache.path, "r") as db:
            assert db["images"].chunks[0] == 5
            assert np.array_equal(db["images"][:], every)
        asked = [7, 2, 9, 2, 0]
        assert np.array_equal(cache.read(asked), every[asked])
        assert np.array_equal(cache.read_all(asked), every[asked])
        assert cache.read([]).shape == (0, 240, 256, 3)
        with pytest.raises(IndexError):
            cache.read([cache.num_images])
        with pytest.raises(ValueError, match="not in the image cache"):
            cache.rows_for([str(tmp_path / "elsewhere.jpg")])

        results, errors = {}, []

        def reader(seed):
            try:
                order = np.random.default_rng(seed).permutation(cache.num_images)
                results[seed] = all(np.array_equal(cache.read(order[i:i + 3]), every[order[i:i + 3]])
                                    for _ in range(20) for i in range(0, len(order), 3))
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=reader, args=(seed,)) for seed in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors and all(results.values()) and len(results) == 4


def test_without_preadv_rows_are_read_through_h5py(photos, tmp_path, monkeypatch):
    paths, labels = find_dataset(photos, seed=0)
    with open_cache(photos, paths, labels, 16, 12, folder=tmp_path / "cache") as cache:
        every, path = cache.read_all(), cache.path
    monkeypatch.delattr(os, "preadv")  # as on Windows
    with ImageCache(path) as cache:
        assert np.array_equal(cache.read([3, 1, 3]), every[[3, 1, 3]])
        assert np.array_equal(cache.read_all(), every)


def test_not_enough_free_space_is_one_line_naming_the_folder(photos, tmp_path):
    paths, labels = find_dataset(photos, seed=0)
    folder = tmp_path / "cache"
    with pytest.raises(UserError) as raised:
        open_cache(photos, paths, labels, 100_000, 100_000, folder=folder)
    message = str(raised.value)
    assert "\n" not in message and message.startswith(f"{folder}: not enough free disk space")
    assert "it needs 300" in message  # 10 images of 100,000 x 100,000 x 3 bytes: 300 GB
    assert cache_files(folder) == []


# A build in a child process: the tests below stop it in the middle (a
# signal, SIGKILL) or make its writes fail. With a third argument, files may
# not grow past that many bytes, and writing past it fails with EFBIG instead
# of killing the process (SIGXFSZ), as a full disk fails writes with ENOSPC.
BUILD = textwrap.dedent("""
    import resource, signal, sys
    from pyimagesearch.datasets.folder import find_dataset
    from pyimagesearch.io.imagecache import open_cache
    from pyimagesearch.utils.errors import run_cli

    def main(argv):
        if len(argv) > 2:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (int(argv[2]), resource.RLIM_INFINITY))
        paths, labels = find_dataset(argv[0], seed=0)
        open_cache(argv[0], paths, labels, 64, 64, folder=argv[1], workers=1).close()

    sys.exit(run_cli(main, sys.argv[1:]))
""")


def start_build(dataset, folder, *file_size_limit):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, "-c", BUILD, str(dataset), str(folder), *file_size_limit],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def wait_until_writing(proc, folder):
    """Wait until the build `proc` has its temporary file in `folder`; fail
    if it ends first."""
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        if any(folder.glob(f".*.tmp-{proc.pid}.hdf5")):
            break
        time.sleep(0.01)
    assert proc.poll() is None, f"the build ended too soon: {proc.communicate()}"


def stop_mid_build(dataset, folder, sig):
    proc = start_build(dataset, folder)
    try:
        wait_until_writing(proc, folder)
        proc.send_signal(sig)
        _, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    return proc.returncode, stderr


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_an_interrupted_build_is_never_used(sig, tmp_path, capsys):
    dataset = slow_dataset(tmp_path / "slow", per_class=400)
    folder = tmp_path / "cache"
    code, stderr = stop_mid_build(dataset, folder, sig)
    final = cache_path(dataset, 64, 64, "simple", folder)
    assert not os.path.exists(final)
    leftovers = list(folder.glob(".*.tmp-*.hdf5"))
    if sig == signal.SIGINT:
        assert code == 130 and "interrupted" in stderr and "Traceback" not in stderr, stderr
        assert leftovers == []  # cleaned up on the way out
    else:
        assert code == -signal.SIGKILL and len(leftovers) == 1  # nothing could clean up
        # The next build removes what the killed one left, and builds anew.
        for path in dataset.glob("*/0[1-9]*.jpg"):
            path.unlink()
        paths, labels = find_dataset(dataset, seed=0)
        with open_cache(dataset, paths, labels, 64, 64, folder=folder) as cache:
            assert cache.num_images == len(paths)
        captured = capsys.readouterr()
        assert f"building {final}: new" in captured.out
        assert f"removed {leftovers[0]}, left by a cache build that was killed" in captured.err
        assert cache_files(folder) == [os.path.basename(final)]


def test_a_running_builds_temporary_file_is_left_alone(photos, tmp_path):
    folder = tmp_path / "cache"
    folder.mkdir()
    final = cache_path(photos, 16, 16, "simple", folder)
    stem = os.path.splitext(os.path.basename(final))[0]
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    try:
        for proc in (alive, dead):
            (folder / f".{stem}.tmp-{proc.pid}.hdf5").write_bytes(b"partial")
        paths, labels = find_dataset(photos, seed=0)
        open_cache(photos, paths, labels, 16, 16, folder=folder).close()
        assert cache_files(folder) == sorted([f".{stem}.tmp-{alive.pid}.hdf5", os.path.basename(final)])
    finally:
        alive.kill()
        alive.wait()


def test_a_failing_write_is_one_line_and_leaves_no_file(tmp_path):
    dataset = make_colour_dataset(tmp_path / "colours", per_class=40, size=(64, 64), ext=".png")
    folder = tmp_path / "cache"
    proc = start_build(dataset, folder, "200000")
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 1, stderr
    assert "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, stderr
    assert errors[0].startswith(f"error: {folder}: could not write the image cache (File too large")
    assert cache_files(folder) == []


def test_two_builds_at_once_leave_one_complete_cache(tmp_path):
    dataset = slow_dataset(tmp_path / "slow", per_class=150)
    folder = tmp_path / "cache"
    first = start_build(dataset, folder)
    try:
        wait_until_writing(first, folder)
        # The second finds no cache, and must leave the first one's file alone.
        second = start_build(dataset, folder)
        outputs = [proc.communicate(timeout=120) for proc in (second, first)]
    finally:
        first.kill()
    for proc, (out, err) in zip((second, first), outputs):
        assert proc.returncode == 0 and "building" in out and "new" in out, err
    final = cache_path(dataset, 64, 64, "simple", folder)
    assert cache_files(folder) == [os.path.basename(final)]
    sources = {name: SimpleDatasetLoader([RESIZERS["simple"](64, 64)]).load(
        [str(dataset / name / "source.jpg")])[0][0] for name in ("a", "b")}
    with ImageCache(final) as cache:
        assert cache.num_images == 302
        for row, image in enumerate(cache.read_all()):
            assert np.array_equal(image, sources[cache.paths[row].split("/")[0]])


def test_shuffled_listing_keeps_the_loaders_order(tmp_path):
    root = tmp_path / "corpus"
    write_corpus(root)
    paths, labels = find_dataset(root, seed=None)
    pairs = list(zip(paths, labels))
    random.Random(5).shuffle(pairs)
    paths, labels = [p for p, _ in pairs], [label for _, label in pairs]
    loader = SimpleDatasetLoader([RESIZERS["aspect"](8, 8)])
    data, _ = loader.load(paths, labels=labels)
    with open_cache(root, paths, labels, 8, 8, "aspect", folder=tmp_path / "cache") as cache:
        rows, kept = cache.rows_for(paths)
        assert kept == loader.paths
        assert np.array_equal(cache.read(rows), data)
