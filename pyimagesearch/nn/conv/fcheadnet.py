import keras
from keras.layers import Dense, Dropout, Flatten


class FCHeadNet:
    """The book's fully connected head for fine-tuning: flatten the
    backbone's feature maps, one ReLU layer of `D` units, dropout, softmax."""

    @staticmethod
    def build(baseModel, classes, D, dropout=0.5):
        # The book passes the backbone model; a tensor (the backbone's output
        # inside a larger functional model) works as well.
        head = baseModel.output if isinstance(baseModel, keras.Model) else baseModel
        head = Flatten(name="flatten")(head)
        head = Dense(D, activation="relu")(head)
        head = Dropout(dropout)(head)
        return Dense(classes, activation="softmax")(head)
