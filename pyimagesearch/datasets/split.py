"""Split sizes given on the command line, and a stratified train/val/test
split of a listed dataset (no TensorFlow needed)."""

from ..utils.errors import UserError


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


def stratified_split(items, labels, test_size, val_size, seed):
    """Return {"train": (items, labels), "val": ..., "test": ...}: the test
    split out of everything, then the validation split out of the rest,
    both stratified by label and reproducible with `seed`."""
    from sklearn.model_selection import train_test_split

    test_size = split_size(test_size, "test-size")
    val_size = split_size(val_size, "val-size")
    if not test_size or not val_size:
        raise UserError("--test-size and --val-size must both be above 0 (the HDF5 stage "
                        "writes train, val and test files)")
    try:
        x_rest, x_test, y_rest, y_test = train_test_split(
            items, labels, test_size=test_size, random_state=seed, stratify=labels)
        x_train, x_val, y_train, y_val = train_test_split(
            x_rest, y_rest, test_size=val_size, random_state=seed, stratify=y_rest)
    except ValueError as exc:
        raise UserError(f"cannot split {len(items)} images with --test-size {test_size} and "
                        f"--val-size {val_size}: {exc}") from None
    return {"train": (x_train, y_train), "val": (x_val, y_val), "test": (x_test, y_test)}


def tutorial_split(n, y, test_size=0.25, val_size=0.1, seed=42):
    """(train, val, test) positions of `n` listed images (labels `y`): the
    tutorial's split. The test part is `train_test_split(test_size,
    random_state=seed)` without stratification, so it depends only on `n`
    and the listing order (paths sorted, then shuffled with the seed); the
    validation part, for EarlyStopping, comes out of the rest, stratified
    when every class can give one image."""
    import numpy as np
    from sklearn.model_selection import train_test_split

    test_size = split_size(test_size, "test-size")
    val_size = split_size(val_size, "val-size")
    index = np.arange(n)
    try:
        train, test = train_test_split(index, test_size=test_size, random_state=seed)
        val = np.array([], dtype=np.int64)
        if val_size:
            try:
                train, val = train_test_split(train, test_size=val_size, random_state=seed,
                                              stratify=np.asarray(y)[train])
            except ValueError:
                # Too few images for one of each class in validation: a
                # plain random split still gives EarlyStopping a signal.
                train, val = train_test_split(train, test_size=val_size, random_state=seed)
    except ValueError as exc:
        raise UserError(f"cannot split {n} images with --test-size {test_size} and "
                        f"--val-size {val_size}: {exc}") from None
    return train, val, test
