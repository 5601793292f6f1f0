import math

import keras


def image_augmentation(rotation=30, shift=0.1, shear=0.2, zoom=0.2, flip=True, seed=None):
    """The tutorial's ImageDataGenerator settings as Keras preprocessing layers.

    `rotation` and `shear` are in degrees, as in ImageDataGenerator (whose
    `shear_range=0.2` meant 0.2 degrees, not 20%); `shift` and `zoom` are
    fractions of the image size. Apply it to float batches in a tf.data map (training only);
    the saved model then contains no augmentation. Turn `flip` off for data
    whose mirror image means something else, such as digits or text.
    """
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
    return keras.Sequential(stack, name="augmentation")
