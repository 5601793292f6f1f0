from keras import Input, Sequential, layers


class MLP:
    """The tutorial's fully-connected network: 3072-1024-512-C with sigmoids.

    It takes flattened images (32x32x3 = 3072 values by default), so it sees
    pixels, not shapes: a baseline that a ConvNet should beat.
    """

    @staticmethod
    def build(input_dim, classes, hidden=(1024, 512), activation="sigmoid"):
        model = Sequential(name="mlp")
        model.add(Input(shape=(input_dim,)))
        for units in hidden:
            model.add(layers.Dense(units, activation=activation))
        # float32 even under a mixed-precision policy: probabilities and the loss stay exact
        # (the one small layer costs nothing to keep exact).
        model.add(layers.Dense(classes, activation="softmax", dtype="float32"))
        return model
