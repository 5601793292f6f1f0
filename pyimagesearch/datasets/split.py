"""The project's one train/val/test split, and the listing it depends on
(no TensorFlow needed).

Every stage that needs a run's parts calls `split_rows` on the images
`list_split_images` listed: the trainers (training.sources), build_hdf5.py
(io.hdf5build), check_dataset.py's leakage check (datacheck.leakage) and
export.py (export.splits). The tutorial's split is the default: paths
sorted, shuffled with the seed, then `train_test_split(test_size,
random_state=seed)` over the readable images, so the same seed gives the
same 750 Animals test images in every stage. build_hdf5.py keeps the book's
stratified split (`stratified=True`).

    options = SplitOptions(seed=DEFAULT_SEED)
    paths, labels = list_split_images("animals", options)
    train, val, test = split_rows(encode_labels(labels)[0], options)
"""

from dataclasses import dataclass

from ..utils.errors import UserError

# The tutorial's seed: its shuffle and split, hence its 750 Animals test images.
DEFAULT_SEED = 42
DEFAULT_TEST_SIZE = 0.25
DEFAULT_VAL_SIZE = 0.1


def split_size(value, name):
    """A split size is a fraction in (0, 1) or a whole count >= 1."""
    if value is None or value == 0:
        return None
    if 0 < value < 1:
        return float(value)
    if value >= 1 and float(value).is_integer():
        return int(value)
    raise UserError(f"--{name} must be a fraction between 0 and 1 or a whole number of "
                    f"images, got {value}")


@dataclass(frozen=True)
class SplitOptions:
    """Which images a dataset folder lists and how they are split: labels
    from the class `label_from` ("folder" or "filename"), the files of
    `exclude` left out, the rest shuffled with `seed`, then `test_size` of
    them held out and `val_size` of the rest for validation (fractions or
    counts; 0 for none)."""
    test_size: float = DEFAULT_TEST_SIZE
    val_size: float = DEFAULT_VAL_SIZE
    seed: int = DEFAULT_SEED
    label_from: str = "folder"
    exclude: object = None  # an --exclude value (datasets.exclude), or None

    @classmethod
    def from_arguments(cls, arguments):
        """The options a run used, from the flags its sidecar recorded
        (`--labels`, `--seed`, `--test-size`, `--val-size`, `--exclude`);
        a flag the run did not record keeps its default."""
        arguments = arguments or {}
        return cls(test_size=arguments.get("test_size", DEFAULT_TEST_SIZE),
                   val_size=arguments.get("val_size", DEFAULT_VAL_SIZE),
                   seed=arguments.get("seed", DEFAULT_SEED),
                   label_from=arguments.get("labels", "folder"),
                   exclude=arguments.get("exclude"))


def list_split_images(dataset, options):
    """(paths, labels) of a dataset folder in the order the split reads
    them (sorted, then shuffled with options.seed); UserError when the
    folder cannot be used."""
    from .folder import find_dataset

    return find_dataset(dataset, label_from=options.label_from, seed=options.seed,
                        exclude=options.exclude)


def split_rows(y, options, stratified=False):
    """(train, val, test) positions of the listed images whose integer
    labels are `y`: the project's one split.

    By default the tutorial's: the test part is `train_test_split(test_size,
    random_state=seed)` without stratification, so it depends only on the
    number of images and their listing order; the validation part, for
    EarlyStopping, comes out of the rest, stratified when every class can
    give one image. `stratified=True` is build_hdf5.py's (the book's): both
    parts stratified by label, and both sizes must be above 0 since it
    writes train, val and test files."""
    import numpy as np
    from sklearn.model_selection import train_test_split

    y = np.asarray(y)
    test_size = split_size(options.test_size, "test-size")
    val_size = split_size(options.val_size, "val-size")
    if stratified and not (test_size and val_size):
        raise UserError("--test-size and --val-size must both be above 0 (the HDF5 stage "
                        "writes train, val and test files)")
    seed, index = options.seed, np.arange(len(y))
    try:
        train, test = train_test_split(index, test_size=test_size, random_state=seed,
                                       stratify=y if stratified else None)
        val = np.array([], dtype=np.int64)
        if val_size and stratified:
            train, val = train_test_split(train, test_size=val_size, random_state=seed,
                                          stratify=y[train])
        elif val_size:
            try:
                train, val = train_test_split(train, test_size=val_size, random_state=seed,
                                              stratify=y[train])
            except ValueError:
                # Too few images for one of each class in validation: a
                # plain random split still gives EarlyStopping a signal.
                train, val = train_test_split(train, test_size=val_size, random_state=seed)
    except ValueError as exc:
        raise UserError(f"cannot split {len(y)} images with --test-size {test_size} and "
                        f"--val-size {val_size}: {exc}") from None
    return train, val, test


def tutorial_split(n, y, test_size=DEFAULT_TEST_SIZE, val_size=DEFAULT_VAL_SIZE, seed=DEFAULT_SEED):
    """(train, val, test) positions of `n` listed images (labels `y`): the
    tutorial's split (split_rows); `n` is len(y), kept for the callers
    written against the first version."""
    return split_rows(y, SplitOptions(test_size, val_size, seed))


def stratified_split(items, labels, test_size, val_size, seed):
    """Return {"train": (items, labels), "val": ..., "test": ...}: the
    book's stratified split (split_rows with stratified=True) of `items`."""
    import numpy as np

    labels = np.asarray(labels)
    parts = split_rows(labels, SplitOptions(test_size, val_size, seed), stratified=True)

    def take(values, rows):
        return values[rows] if isinstance(values, np.ndarray) else [values[i] for i in rows]

    return {name: (take(items, rows), take(labels, rows))
            for name, rows in zip(("train", "val", "test"), parts)}
