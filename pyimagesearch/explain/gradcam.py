"""Grad-CAM (Selvaraju et al. 2017): where a ConvNet looked for a class.

The gradient of the class score with respect to a convolutional layer's
activations, averaged over the feature map, weights each channel; the
weighted sum of the channels, through a ReLU, is the heatmap. One
GradientTape covers a whole batch: in inference mode the images do not
interact, so the gradient of the summed scores holds each image's own.

    explainer = GradCAM(model)              # last conv layer, found automatically
    maps, probs = explainer.heatmaps(batch)  # maps (N, h, w) in 0..1
"""

import keras
import numpy as np
import tensorflow as tf

from ..utils.errors import UserError

CONV_LAYERS = (keras.layers.Conv2D, keras.layers.DepthwiseConv2D, keras.layers.SeparableConv2D)
# Layers that act on each position alone: the activations after them are the
# conv layer's own, made non-negative and normalised, on the same grid.
POINTWISE_LAYERS = (keras.layers.Activation, keras.layers.ReLU, keras.layers.BatchNormalization,
                    keras.layers.LeakyReLU)


def layer_paths(model, prefix=()):
    """Every layer of `model` in order, as a path from the model: (layer,)
    for its own layers, (submodel, layer) for a layer of a nested model
    (a keras.applications backbone inside a fine-tuned model), and so on."""
    for layer in model.layers:
        yield prefix + (layer,)
        if isinstance(layer, keras.Model):
            yield from layer_paths(layer, prefix + (layer,))


def find_target_layer(model, name=None, where=None):
    """The path (see layer_paths) to the layer whose activations Grad-CAM
    uses: the layer `name`, or else the last convolutional layer followed by
    its activation/normalisation layers on the same grid. Raises UserError
    for a model without a convolutional layer or an unknown name."""
    where = where or model.name
    paths = [p for p in layer_paths(model) if not isinstance(p[-1], keras.Model)]
    spatial = [p for p in paths if len(_output_shape(p[-1])) == 4]
    if name is not None:
        chosen = [p for p in paths if p[-1].name == name]
        if not chosen:
            raise UserError(f"{where}: no layer named {name!r}; layers with a feature map: "
                            + ", ".join(p[-1].name for p in spatial[-8:]))
        if chosen[0] not in spatial:
            raise UserError(f"{where}: layer {name!r} has output {_output_shape(chosen[0][-1])}, not "
                            "a feature map (batch, height, width, channels); choose one of "
                            + ", ".join(p[-1].name for p in spatial[-8:]))
        return chosen[0]
    convs = [i for i, p in enumerate(paths) if isinstance(p[-1], CONV_LAYERS)]
    if not convs:
        raise UserError(f"{where}: {model.name} has no convolutional layer, so Grad-CAM has no "
                        "feature map to explain; --explain works for ConvNets such as SmallVGGNet, "
                        "AlexNet and fine-tuned backbones")
    i = convs[-1]
    while (i + 1 < len(paths) and paths[i + 1][:-1] == paths[i][:-1]
           and isinstance(paths[i + 1][-1], POINTWISE_LAYERS)
           and _output_shape(paths[i + 1][-1]) == _output_shape(paths[i][-1])):
        i += 1
    return paths[i]


def _output_shape(layer):
    try:
        return tuple(layer.output.shape)
    except (AttributeError, ValueError):  # a layer used several times has no single output
        return ()


def _is_softmax(function):
    return getattr(function, "__name__", None) == "softmax"


def _run_graph(model, x, operation_fn):
    """Call `model`'s layers on `x` as the model does, each layer replaced by
    `operation_fn(layer)`. Keras has no public way to tap a layer nested in a
    sub-model (keras.Model(inputs, inner_layer.output) is "not connected"),
    so a functional model is walked with its own graph runner."""
    if isinstance(model, keras.Sequential):
        for layer in model.layers:
            x = operation_fn(layer)(x)
        return x
    return model._run_through_graph([x], operation_fn=operation_fn)


def _tap(model, x, path, taps):
    """`model`'s output on `x`, storing the activations of the layer at
    `path` (nested models entered on the way) in taps["activations"]."""
    def operation_fn(layer):
        if layer is not path[0]:
            return layer
        if len(path) == 1:
            def call(*args, **kwargs):
                taps["activations"] = layer(*args, **kwargs)
                return taps["activations"]
            return call
        return lambda inputs, *args, **kwargs: _tap(layer, inputs, path[1:], taps)
    return _run_graph(model, x, operation_fn)


def activation_model(model, path):
    """A keras.Model from `model`'s input to [the activations of the layer at
    `path`, the class scores]. The scores are the logits when the model ends
    in a softmax (an Activation layer or a Dense layer's activation): the
    gradient of a saturated probability is close to 0 everywhere, the
    logit's is not. Returns (model, True if the scores are logits)."""
    last = model.layers[-1]
    inputs = keras.Input(shape=model.input_shape[1:], dtype=model.inputs[0].dtype)
    taps = {}

    def operation_fn(layer):
        if layer is path[0] and len(path) > 1:
            return lambda x, *args, **kwargs: _tap(layer, x, path[1:], taps)
        if layer is path[0]:
            def call(*args, **kwargs):
                taps["activations"] = layer(*args, **kwargs)
                return taps["activations"]
            return call
        if layer is last and isinstance(last, keras.layers.Activation) and _is_softmax(last.activation):
            def logits_of(x, *args, **kwargs):
                taps["logits"] = x
                return layer(x, *args, **kwargs)
            return logits_of
        if layer is last and isinstance(last, keras.layers.Dense) and _is_softmax(last.activation):
            def dense_logits(x, *args, **kwargs):
                taps["logits"] = keras.ops.matmul(x, last.kernel) + (last.bias if last.use_bias else 0)
                return layer(x, *args, **kwargs)
            return dense_logits
        return layer

    outputs = _run_graph(model, inputs, operation_fn)
    return keras.Model(inputs, [taps["activations"], taps.get("logits", outputs)]), "logits" in taps


class GradCAM:
    """Grad-CAM heatmaps of a Keras classifier, a batch at a time.

    `layer` names the layer to explain; by default the last convolutional
    layer (with its activation and normalisation). Works for Sequential and
    functional models, the layer possibly inside a nested backbone."""

    def __init__(self, model, layer=None, where=None):
        self.path = find_target_layer(model, layer, where)
        self.layer_name = self.path[-1].name
        self.model, self.logits = activation_model(model, self.path)
        self._compute = tf.function(self._maps, reduce_retracing=True)

    def _maps(self, x, class_index):
        with tf.GradientTape() as tape:
            activations, scores = self.model(x, training=False)
            probs = tf.nn.softmax(scores) if self.logits else scores
            chosen = tf.where(class_index < 0, tf.argmax(probs, axis=1, output_type=tf.int32),
                              class_index)
            picked = tf.gather(scores, chosen, axis=1, batch_dims=1)
            if not self.logits:
                picked = tf.math.log(tf.maximum(picked, 1e-12))
            total = tf.reduce_sum(picked)
        grads = tape.gradient(total, activations)
        weights = tf.reduce_mean(grads, axis=(1, 2), keepdims=True)
        maps = tf.nn.relu(tf.reduce_sum(activations * weights, axis=-1))
        return maps, probs, chosen

    def heatmaps(self, x, class_index=None):
        """Heatmaps for the float model input `x` (N, H, W, C): returns (maps
        (N, h, w) float32 scaled to 0..1 per image, on the layer's grid;
        probabilities (N, classes); the class each map is of). `class_index`
        is an int, one int per image, or None for each image's prediction."""
        n = len(x)
        index = np.full(n, -1 if class_index is None else 0, np.int32)
        if class_index is not None:
            index[:] = class_index
        maps, probs, chosen = self._compute(tf.convert_to_tensor(x, tf.float32),
                                            tf.convert_to_tensor(index))
        return normalise_maps(np.asarray(maps)), np.asarray(probs), np.asarray(chosen)


def normalise_maps(maps):
    """Scale each map to 0..1 by its maximum; an all-zero map (nothing
    positive for the class) stays zero."""
    maps = np.maximum(np.asarray(maps, np.float32), 0)
    peak = maps.reshape(len(maps), -1).max(axis=1)
    return maps / np.where(peak > 0, peak, 1)[:, None, None]
