"""One rewrite of the ONNX graph tf2onnx writes, for onnxruntime's speed.

The book's networks put BatchNormalization after the activation
(CONV => RELU => BN), so tf2onnx cannot fold it into the convolution and
writes it as a per-channel Mul and Add. onnxruntime runs convolutions in its
blocked NCHWc layout and turns the Mul into a depthwise 1x1 convolution
there, but not the Add: every such layer then converts its activations out
of NCHWc and back (ReorderOutput, Add, ReorderInput), about a tenth of
SmallVGGNet's time. Written as one depthwise 1x1 Conv with a bias, the pair
stays in NCHWc. Neither tf2onnx, onnxruntime's saved optimizations (an
ORT-only file) nor onnx's optimizer passes do this, hence by hand.
"""

import numpy as np


def fuse_channel_affines(path):
    """Rewrite, in place, every Mul(x, scale) -> Add(., shift) whose scale and
    shift are per-channel constants of a 4-D NCHW tensor x that no Conv
    produced into one depthwise 1x1 Conv(x, scale, shift). Returns how many
    pairs were rewritten."""
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(path)
    graph = model.graph
    shapes = _ranks_and_channels(model)
    constants = {t.name: t for t in graph.initializer}
    consumers = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    graph_outputs = {o.name for o in graph.output}
    # A Mul and Add right after a Conv (MobileNet's BatchNormalization after
    # a depthwise convolution) are folded into that Conv by onnxruntime
    # itself: a second Conv there would only add a pass.
    after_conv = {name for node in graph.node if node.op_type == "Conv" for name in node.output}

    def per_channel(node):
        return _per_channel_constant(node, constants, shapes)

    # Outputs of the Adds folded into a Conv: names, not the node objects,
    # since protobuf may hand out a new wrapper each time a field is read.
    rewritten, dropped, nodes = 0, set(), []
    for node in graph.node:
        if node.op_type == "Add" and node.output[0] in dropped:
            continue
        users = consumers.get(node.output[0], []) if node.op_type == "Mul" else []
        mul = per_channel(node) if node.op_type == "Mul" else None
        add = users[0] if len(users) == 1 and users[0].op_type == "Add" else None
        shift = per_channel(add) if node.output[0] not in graph_outputs else None
        if (mul is None or mul[0] in after_conv or shift is None or shift[0] != node.output[0]
                or shift[1].shape != mul[1].shape):
            nodes.append(node)
            continue
        channels = mul[1].shape[1]
        weight = numpy_helper.from_array(mul[1].reshape(channels, 1, 1, 1), f"{node.name}/depthwise_scale")
        bias = numpy_helper.from_array(shift[1].reshape(channels), f"{node.name}/depthwise_shift")
        graph.initializer.extend([weight, bias])
        nodes.append(helper.make_node("Conv", [mul[0], weight.name, bias.name], [add.output[0]],
                                      name=f"{node.name}/depthwise_affine", group=channels,
                                      kernel_shape=[1, 1]))
        dropped.add(add.output[0])
        rewritten += 1
    if rewritten:
        _save_with_nodes(model, nodes, path)
    return rewritten


def _per_channel_constant(node, constants, shapes):
    """(data input, constant array) when `node` is x (op) constant[1, C, 1, 1]
    with x a 4-D tensor of C channels; else None."""
    from onnx import numpy_helper

    if node is None or len(node.input) != 2:
        return None
    for data, const in (node.input, node.input[::-1]):
        if const in constants and data not in constants:
            value = numpy_helper.to_array(constants[const])
            if value.dtype == np.float32 and value.ndim == 4 and value.shape[0] == 1 \
                    and value.shape[2:] == (1, 1) and shapes.get(data) == (4, value.shape[1]):
                return data, value
    return None


def _save_with_nodes(model, nodes, path):
    """Give `model`'s graph `nodes`, drop the constants no node reads any
    more, check the model and save it to `path`."""
    import onnx

    graph = model.graph
    del graph.node[:]
    graph.node.extend(nodes)
    used = {name for node in graph.node for name in node.input}
    for tensor in [t for t in graph.initializer if t.name not in used]:
        graph.initializer.remove(tensor)
    onnx.checker.check_model(model)
    onnx.save(model, path)


def _ranks_and_channels(model):
    """{tensor name: (rank, size of axis 1 or None)} from ONNX shape inference."""
    import onnx

    inferred = onnx.shape_inference.infer_shapes(model)
    shapes = {}
    for value in [*inferred.graph.value_info, *inferred.graph.input, *inferred.graph.output]:
        dims = value.type.tensor_type.shape.dim
        if value.type.tensor_type.HasField("shape"):
            shapes[value.name] = (len(dims), dims[1].dim_value if len(dims) > 1 and dims[1].dim_value else None)
    return shapes
