from keras import Input, Sequential, layers, regularizers


class AlexNet:
    """The tutorial's AlexNet variant.

    CONV96 11x11/4 => POOL 3/2, CONV256 5x5 => POOL 3/2,
    CONV384 => CONV384 => CONV256 (3x3) => POOL 3/2, FC4096, FC4096, softmax.
    ReLU then BatchNorm after every conv/FC (in place of the original's local
    response normalisation), dropout 0.25 after each conv block and 0.5 after
    each FC, L2 `reg` on every conv and FC kernel. Input 227x227x3 in the
    tutorial; at small inputs (tests) a pool whose window no longer fits the
    feature map pads it ("same") instead of failing, so any size >= 1 builds.
    """

    @staticmethod
    def build(width=227, height=227, depth=3, classes=1000, reg=0.0002, fc_units=4096):
        l2 = regularizers.l2(reg)
        model = Sequential(name="alexnet")
        model.add(Input(shape=(height, width, depth)))
        size = [-(-height // 4), -(-width // 4)]  # after the stride-4 "same" conv

        def conv_bn(filters, kernel, strides=1):
            model.add(layers.Conv2D(filters, kernel, strides=strides, padding="same",
                                    kernel_regularizer=l2))
            model.add(layers.Activation("relu"))
            model.add(layers.BatchNormalization(axis=-1))

        def pool_dropout():
            fits = min(size) >= 3
            model.add(layers.MaxPooling2D(pool_size=(3, 3), strides=(2, 2),
                                          padding="valid" if fits else "same"))
            size[:] = [(s - 3) // 2 + 1 if fits else -(-s // 2) for s in size]
            model.add(layers.Dropout(0.25))

        conv_bn(96, (11, 11), strides=(4, 4))
        pool_dropout()
        conv_bn(256, (5, 5))
        pool_dropout()
        conv_bn(384, (3, 3))
        conv_bn(384, (3, 3))
        conv_bn(256, (3, 3))
        pool_dropout()
        model.add(layers.Flatten())
        for _ in range(2):
            model.add(layers.Dense(fc_units, kernel_regularizer=l2))
            model.add(layers.Activation("relu"))
            model.add(layers.BatchNormalization())
            model.add(layers.Dropout(0.5))
        model.add(layers.Dense(classes, kernel_regularizer=l2))
        # float32 even under a mixed-precision policy: probabilities and the loss stay exact.
        model.add(layers.Activation("softmax", dtype="float32"))
        return model
