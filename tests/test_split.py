import numpy as np
from conftest import SHARED_DATA, make_colour_dataset, needs_shared

from pyimagesearch.datasets import list_images


def test_split_is_reproducible_disjoint_and_complete(tmp_path):
    from pyimagesearch.training import data as training

    root = make_colour_dataset(tmp_path / "d", per_class=10, size=(12, 12))
    paths, labels = list_images(root, seed=7)

    def split():
        return training.load_split(str(root), paths, labels, 8, 8, seed=7, test_size=0.25,
                                   val_size=0.2)

    first, second = split(), split()
    train, val, test = (set(first.train_paths), set(first.val_paths), set(first.test_paths))
    assert not (train & test) and not (train & val) and not (val & test)
    assert train | val | test == set(paths)
    assert len(test) == 8 and len(first.x_test) == 8
    for a, b in ((first.x_train, second.x_train), (first.x_val, second.x_val),
                 (first.x_test, second.x_test), (first.y_test, second.y_test)):
        assert np.array_equal(a, b)
    assert first.x_train.dtype == np.uint8
    assert first.test_paths == second.test_paths


def test_every_stage_splits_through_one_function(tmp_path):
    """The trainers (load_split), export.py (run_split, from the sidecar's
    arguments) and check_dataset.py (tutorial_split) pick the same images."""
    from pyimagesearch.datasets.folder import encode_labels
    from pyimagesearch.datasets.split import SplitOptions, list_split_images, split_rows, tutorial_split
    from pyimagesearch.export.splits import run_split
    from pyimagesearch.training.sources import load_split

    root = make_colour_dataset(tmp_path / "d", per_class=10, size=(12, 12))
    options = SplitOptions(test_size=0.3, val_size=0.2, seed=5)
    paths, labels = list_split_images(str(root), options)
    y, names = encode_labels(labels)
    train, val, test = split_rows(y, options)
    assert sorted(np.concatenate([train, val, test]).tolist()) == list(range(len(paths)))
    assert [list(a) for a in tutorial_split(len(y), y, 0.3, 0.2, 5)] == [list(train), list(val), list(test)]

    trained = load_split(str(root), paths, labels, 8, 8, seed=5, test_size=0.3, val_size=0.2)
    assert trained.test_paths == [paths[i] for i in test]
    assert trained.val_paths == [paths[i] for i in val]
    info = {"run": {"arguments": {"dataset": str(root), "size": 8, "seed": 5, "test_size": 0.3,
                                  "val_size": 0.2}},
            "input": {"width": 8, "height": 8, "resize": "simple"}}
    exported = run_split(info, names)
    assert exported.test_paths == trained.test_paths
    assert exported.train_paths == trained.train_paths
    # Another seed lists and splits differently.
    other = load_split(str(root), *list_split_images(str(root), SplitOptions(seed=6)), 8, 8, seed=6,
                       test_size=0.3, val_size=0.2)
    assert other.test_paths != trained.test_paths


def test_tutorial_test_part_ignores_labels_and_hdf5_part_is_stratified():
    """The tutorial's test part depends only on the number of images (so
    skipped files and label sources cannot move it); build_hdf5.py's split
    keeps each class's share in every part."""
    from pyimagesearch.datasets.split import SplitOptions, split_rows, stratified_split

    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2], [40, 20, 20])
    options = SplitOptions(test_size=0.25, val_size=0.1, seed=3)
    _, _, test = split_rows(y, options)
    _, _, test_shuffled_labels = split_rows(rng.permutation(y), options)
    assert list(test) == list(test_shuffled_labels)
    parts = stratified_split(np.arange(80), y, 0.25, 0.1, 3)
    assert np.bincount(parts["test"][1]).tolist() == [10, 5, 5]
    assert np.array_equal(parts["test"][1], y[parts["test"][0]])
    assert sorted(np.concatenate([parts[k][0] for k in parts]).tolist()) == list(range(80))


@needs_shared
def test_one_split_gives_the_tutorials_750_animals_test_images():
    from pyimagesearch.datasets.folder import encode_labels
    from pyimagesearch.datasets.split import SplitOptions, list_split_images, split_rows

    options = SplitOptions()
    _, labels = list_split_images(str(SHARED_DATA / "animals"), options)
    y, names = encode_labels(labels)
    _, _, test = split_rows(y, options)
    assert len(test) == 750
    assert dict(zip(names, np.bincount(y[test]).tolist())) == {"cats": 236, "dogs": 236, "panda": 278}


def test_a_filename_labelled_run_lists_its_images_for_export(tmp_path):
    """A run trained with --labels filename (one folder, cat.0.jpg) names
    its dataset in the sidecar: export.py finds its images there, as the run
    listed them, instead of none (its default verification images)."""
    from pyimagesearch.export.splits import run_images, sample

    root = make_colour_dataset(tmp_path / "nested", per_class=6, size=(12, 12))
    flat = tmp_path / "flat"
    flat.mkdir()
    for path in root.glob("*/*.png"):
        path.rename(flat / f"{path.parent.name}.{path.stem.split('_')[-1]}.png")
    (tmp_path / "exclude.txt").write_text(str(flat / "red.000.png") + "\n")
    info = {"run": {"arguments": {"dataset": str(flat), "labels": "filename", "seed": 42,
                                  "exclude": str(tmp_path / "exclude.txt")}}}
    paths = run_images(info)
    assert len(paths) == 17 and str(flat / "red.000.png") not in paths
    assert sample(paths, 8) == sample(sorted(paths), 8) and len(sample(paths, 8)) == 8
    assert run_images({"run": {"arguments": {"dataset": str(tmp_path / "gone")}}}) is None
