import numpy as np
from conftest import make_colour_dataset

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
