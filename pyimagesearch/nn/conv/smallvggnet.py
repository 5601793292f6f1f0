from keras import Input, Sequential, layers


class SmallVGGNet:
    """The tutorial's small VGG-style network.

    CONV32 => POOL, (CONV64)x2 => POOL, (CONV128)x3 => POOL, FC512, softmax;
    every conv/FC is followed by ReLU and BatchNorm; dropout 0.25 after each
    conv block and 0.5 after the FC layer.
    """

    @staticmethod
    def build(width, height, depth, classes):
        model = Sequential(name="smallvggnet")
        model.add(Input(shape=(height, width, depth)))
        for filters, convs in ((32, 1), (64, 2), (128, 3)):
            for _ in range(convs):
                model.add(layers.Conv2D(filters, (3, 3), padding="same"))
                model.add(layers.Activation("relu"))
                model.add(layers.BatchNormalization(axis=-1))
            model.add(layers.MaxPooling2D(pool_size=(2, 2)))
            model.add(layers.Dropout(0.25))
        model.add(layers.Flatten())
        model.add(layers.Dense(512))
        model.add(layers.Activation("relu"))
        model.add(layers.BatchNormalization())
        model.add(layers.Dropout(0.5))
        model.add(layers.Dense(classes))
        # float32 even under a mixed-precision policy: probabilities and the loss stay exact.
        model.add(layers.Activation("softmax", dtype="float32"))
        return model
