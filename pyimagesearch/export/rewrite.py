"""Rewrite a Keras model, before conversion, into layers the converters can
express, computing the same function with the same weights. Three layers of
keras.applications' backbones need it:

- `Normalization` (EfficientNet's and ConvNeXt's input statistics) keeps its
  mean and variance as eager tensors made when it was built. Traced for
  export they become captured inputs of the function, which tf2onnx writes
  as two more graph inputs ("found 3 inputs"). The same per-channel affine
  map as a `Rescaling` layer with NumPy arrays is constants in the graph.
- A `Conv2D` with `groups` equal to its input channels (ConvNeXt's 7x7
  depthwise convolutions): Keras' TensorFlow backend runs grouped
  convolutions as an XLA-compiled function, which reaches tf2onnx as an
  opaque StatefulPartitionedCall node that onnxruntime refuses
  (INVALID_GRAPH). It is exactly a `DepthwiseConv2D`, with the kernel's
  axes rearranged.
- The exact GELU (ConvNeXt): TensorFlow computes it with Erfc, which
  tf2onnx cannot convert; 0.5 x (1 + erf(x / sqrt 2)) is the same function
  through Erf, which ONNX has.
"""

import math

import numpy as np


def exportable_model(model):
    """`model`, or a clone of it (nested models too, every other layer shared
    with the original, so no weight is copied) with each layer a converter
    cannot express replaced by an equivalent one."""
    import keras

    if not any(_replacement(layer) is not None for layer in _all_layers(model)):
        return model

    def swap(layer):
        return _replacement(layer) or layer

    clone = keras.models.clone_model(model, clone_function=swap, recursive=True)
    clone(np.zeros((1, *model.input_shape[1:]), np.float32))  # Keras exports only a called model
    return clone


def _all_layers(model):
    for layer in model.layers:
        yield layer
        if hasattr(layer, "layers"):
            yield from _all_layers(layer)


def _replacement(layer):
    """The equivalent layer to export instead of `layer`, or None to keep it."""
    import keras

    if isinstance(layer, keras.layers.Normalization):
        return normalization_as_rescaling(layer)
    if type(layer) is keras.layers.Conv2D and layer.groups > 1 and layer.kernel.shape[2] == 1:
        return grouped_conv_as_depthwise(layer)
    if type(layer) is keras.layers.Activation and layer.activation is keras.activations.gelu:
        return keras.layers.Activation(gelu_through_erf, name=f"{layer.name}_erf")
    return None


def normalization_as_rescaling(layer):
    """A built Normalization layer as the Rescaling layer computing the same
    (x - mean) / max(sqrt(variance), epsilon), or its inverse."""
    import keras

    mean = np.asarray(keras.ops.convert_to_numpy(layer.mean), np.float64)
    std = np.maximum(np.sqrt(np.asarray(keras.ops.convert_to_numpy(layer.variance), np.float64)),
                     keras.backend.epsilon())
    if layer.invert:
        scale, offset = std, mean
    else:
        scale, offset = 1.0 / std, -mean / std
    return keras.layers.Rescaling(scale.astype(np.float32), offset.astype(np.float32),
                                  name=f"{layer.name}_as_rescaling")


def grouped_conv_as_depthwise(layer):
    """A Conv2D whose every group is one input channel, as the DepthwiseConv2D
    with the same weights: output channel c * m + k of the grouped kernel
    (height, width, 1, C * m) is multiplier k of input channel c."""
    import keras

    kernel = keras.ops.convert_to_numpy(layer.kernel)
    channels = layer.groups
    depthwise = keras.layers.DepthwiseConv2D(
        layer.kernel_size, layer.strides, layer.padding, layer.filters // channels,
        layer.data_format, layer.dilation_rate, activation=layer.activation, use_bias=layer.use_bias,
        name=f"{layer.name}_as_depthwise")
    depthwise.build((None, None, None, channels) if layer.data_format == "channels_last"
                    else (None, channels, None, None))
    weights = [kernel.reshape(*kernel.shape[:2], channels, layer.filters // channels)]
    if layer.use_bias:
        weights.append(keras.ops.convert_to_numpy(layer.bias))
    depthwise.set_weights(weights)
    return depthwise


def gelu_through_erf(x):
    import keras

    return 0.5 * x * (1.0 + keras.ops.erf(x * (1.0 / math.sqrt(2.0))))
