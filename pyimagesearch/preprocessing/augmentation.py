import math

# --augmentation's geometric settings (flips are --flip's). "tutorial" is the
# tutorial's ImageDataGenerator; "light" is closer to what fine-tuning
# recipes use (fastai's default transforms: rotations up to 10 degrees, zoom
# up to 1.1), for pretrained features that heavy distortion would fight.
AUGMENTATIONS = {
    "tutorial": {"rotation": 30, "shift": 0.1, "shear": 0.2, "zoom": 0.2},
    "light": {"rotation": 10, "shift": 0.05, "shear": 0, "zoom": 0.1},
    "none": {"rotation": 0, "shift": 0, "shear": 0, "zoom": 0},
}


def named_augmentation(name, flip=True, seed=None):
    """The training augmentation AUGMENTATIONS[`name`] (--augmentation),
    with --flip and --seed."""
    return image_augmentation(**AUGMENTATIONS[name], flip=flip, seed=seed)


def image_augmentation(rotation=30, shift=0.1, shear=0.2, zoom=0.2, flip=True, seed=None):
    """The tutorial's ImageDataGenerator settings as Keras preprocessing layers.

    `rotation` and `shear` are in degrees, as in ImageDataGenerator (whose
    `shear_range=0.2` meant 0.2 degrees, not 20%); `shift` and `zoom` are
    fractions of the image size. Apply it to float batches in a tf.data map (training only);
    the saved model then contains no augmentation. Turn `flip` off for data
    whose mirror image means something else, such as digits or text.
    """
    import keras  # here: the module's names are read before TensorFlow is imported

    stack = []
    if flip:
        stack.append(keras.layers.RandomFlip("horizontal", seed=seed))
    if rotation:
        stack.append(keras.layers.RandomRotation(rotation / 360.0, fill_mode="nearest", seed=seed))
    if shift:
        stack.append(keras.layers.RandomTranslation(shift, shift, fill_mode="nearest", seed=seed))
    if shear:
        # RandomShear takes the shift across the image, i.e. tan(angle).
        factor = math.tan(math.radians(shear))
        stack.append(keras.layers.RandomShear(x_factor=factor, fill_mode="nearest", seed=seed))
    if zoom:
        stack.append(keras.layers.RandomZoom(zoom, fill_mode="nearest", seed=seed))
    if not stack:  # an empty Sequential cannot be built
        return keras.layers.Identity(name="augmentation")
    return keras.Sequential(stack, name="augmentation")
