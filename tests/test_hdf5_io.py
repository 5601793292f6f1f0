"""HDF5DatasetWriter / HDF5DatasetGenerator / HDF5Sequence round trips."""

import h5py
import numpy as np
import pytest

from pyimagesearch.io import HDF5DatasetGenerator, HDF5DatasetWriter
from pyimagesearch.io.hdf5file import open_hdf5
from pyimagesearch.utils.errors import UserError


def write_rows(path, n=10, shape=(4, 5, 3), buf_size=3, names=("a", "b", "c")):
    rows = np.arange(n * int(np.prod(shape)), dtype=np.int64).reshape((n,) + shape) % 251
    rows = rows.astype(np.uint8)
    labels = np.arange(n) % len(names)
    with HDF5DatasetWriter((n,) + shape, path, buf_size=buf_size) as writer:
        writer.store_class_labels(names)
        for i in range(0, n, 2):  # batches that straddle the buffer boundary
            writer.add(rows[i:i + 2], labels[i:i + 2])
    return rows, labels


def test_writer_round_trip_with_plain_h5py(tmp_path):
    path = tmp_path / "data.hdf5"
    rows, labels = write_rows(path, names=("cat", "dög", "panda"))
    with h5py.File(path, "r") as db:
        assert db["images"].dtype == np.uint8 and db["images"].shape == rows.shape
        np.testing.assert_array_equal(db["images"][:], rows)
        np.testing.assert_array_equal(db["labels"][:], labels)
        assert list(db["label_names"].asstr()[:]) == ["cat", "dög", "panda"]
        assert db["images"].chunks[1:] == rows.shape[1:]


def test_writer_trims_to_rows_added_and_grows_past_dims(tmp_path):
    with HDF5DatasetWriter((10, 2, 2, 3), tmp_path / "short.hdf5", buf_size=4) as writer:
        writer.add(np.ones((3, 2, 2, 3), np.uint8), [0, 1, 0])
    with HDF5DatasetWriter((2, 2, 2, 3), tmp_path / "long.hdf5", buf_size=4) as writer:
        writer.add(np.ones((5, 2, 2, 3), np.uint8), [1] * 5)
    with h5py.File(tmp_path / "short.hdf5") as short, h5py.File(tmp_path / "long.hdf5") as long:
        assert short["images"].shape[0] == short["labels"].shape[0] == 3
        assert long["images"].shape[0] == long["labels"].shape[0] == 5


def test_book_spelling_and_explicit_close(tmp_path):
    path = tmp_path / "book.hdf5"
    writer = HDF5DatasetWriter((2, 3), path, "features", 1000, dtype="float32")
    writer.storeClassLabels(["x", "y"])
    writer.add([[1, 2, 3], [4, 5, 6]], [0, 1])
    assert not path.exists()  # still under its temporary name
    writer.close()
    with h5py.File(path) as db:
        np.testing.assert_array_equal(db["features"][:], [[1, 2, 3], [4, 5, 6]])


def test_error_inside_writer_leaves_previous_file_untouched(tmp_path):
    path = tmp_path / "data.hdf5"
    rows, _ = write_rows(path)
    before = path.read_bytes()
    with pytest.raises(RuntimeError), HDF5DatasetWriter((10, 4, 5, 3), path, buf_size=2) as writer:
        writer.add(rows[:5], [0] * 5)
        raise RuntimeError("interrupted mid-build")
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["data.hdf5"]  # no temporary left


def test_error_inside_writer_leaves_no_file_at_new_target(tmp_path):
    with pytest.raises(KeyboardInterrupt), \
            HDF5DatasetWriter((4, 2, 2, 3), tmp_path / "new.hdf5") as writer:
        writer.add(np.zeros((2, 2, 2, 3), np.uint8), [0, 1])
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_non_atomic_writer_flushes_buffer_on_error(tmp_path):
    path = tmp_path / "partial.hdf5"
    with pytest.raises(RuntimeError), \
            HDF5DatasetWriter((10, 2), path, buf_size=100, dtype="float32", atomic=False) as writer:
        writer.add([[1, 2], [3, 4], [5, 6]], [0, 1, 0])
        raise RuntimeError
    with h5py.File(path) as db:
        np.testing.assert_array_equal(db["images"][:], [[1, 2], [3, 4], [5, 6]])


def test_generator_batches_exact_pixels_and_last_partial_batch(tmp_path):
    path = tmp_path / "data.hdf5"
    rows, labels = write_rows(path, n=10)
    gen = HDF5DatasetGenerator(path, 4, binarize=False)
    assert gen.classes == 3 and gen.class_names == ["a", "b", "c"] and len(gen) == 3
    batches = list(gen.generator(passes=1))
    gen.close()
    assert [len(x) for x, _ in batches] == [4, 4, 2]
    np.testing.assert_array_equal(np.concatenate([x for x, _ in batches]), rows)
    np.testing.assert_array_equal(np.concatenate([y for _, y in batches]), labels)


def test_generator_binarizes_preprocesses_and_repeats(tmp_path):
    path = tmp_path / "data.hdf5"
    rows, labels = write_rows(path, n=6)

    class Invert:
        def preprocess(self, image):
            return 255 - image

    gen = HDF5DatasetGenerator(path, 4, preprocessors=[Invert()], classes=5)
    batches = list(gen.generator(passes=2))
    gen.close()
    assert len(batches) == 4
    np.testing.assert_array_equal(batches[2][0], 255 - rows[:4])
    assert batches[1][1].shape == (2, 5)
    np.testing.assert_array_equal(batches[1][1].argmax(axis=1), labels[4:])


def test_sequence_shuffles_whole_batches_each_epoch(tmp_path):
    from pyimagesearch.io.hdf5sequence import HDF5Sequence

    path = tmp_path / "data.hdf5"
    rows, _labels = write_rows(path, n=23)
    seq = HDF5Sequence(path, 4, shuffle=True, seed=1, workers=2)
    assert len(seq) == 6
    orders = []
    for _ in range(3):
        xs = [seq[i][0] for i in range(len(seq))]
        # every batch is a contiguous slice of the file, all images appear once
        starts = [int(np.where((rows == x[0]).all(axis=(1, 2, 3)))[0][0]) for x in xs]
        for start, x in zip(starts, xs):
            np.testing.assert_array_equal(x, rows[start:start + 4])
        assert sorted(starts) == [0, 4, 8, 12, 16, 20]
        orders.append(starts)
        seq.on_epoch_end()
    assert len({tuple(o) for o in orders}) > 1
    seq.close()


def test_sequence_feeds_model_fit(tmp_path):
    import keras

    from pyimagesearch.io.hdf5sequence import HDF5Sequence

    path = tmp_path / "data.hdf5"
    write_rows(path, n=12)
    seq = HDF5Sequence(path, 5, workers=2, shuffle=True, seed=0)
    model = keras.Sequential([keras.Input((4, 5, 3)), keras.layers.Rescaling(1 / 255.0),
                              keras.layers.Flatten(), keras.layers.Dense(3, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    history = model.fit(seq, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2
    seq.close()


def test_open_hdf5_names_what_is_missing(tmp_path):
    path = tmp_path / "other.hdf5"
    with h5py.File(path, "w") as db:
        db["features"] = np.zeros((2, 3))
    with pytest.raises(UserError, match=r"other.hdf5: no 'images' or 'labels' dataset.*features"):
        open_hdf5(path)
    (tmp_path / "text.hdf5").write_text("not hdf5")
    with pytest.raises(UserError, match="not an HDF5 file"):
        open_hdf5(tmp_path / "text.hdf5")
