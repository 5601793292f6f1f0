"""Run an exported `.tflite` model with the LiteRT interpreter
(ai-edge-litert; no TensorFlow)."""

import os

import numpy as np

from ..utils.errors import UserError, first_line
from .exportfile import check_model_file, check_one_input_output, missing_runtime


class LiteRTModel:
    """A LiteRT classifier with input_shape, output_shape and predict_on_batch."""

    format = "litert"

    def __init__(self, path, threads=None):
        check_model_file(path, "LiteRT")
        try:
            from ai_edge_litert import __version__ as version
            from ai_edge_litert.interpreter import Interpreter
        except ImportError:
            raise missing_runtime(path, "ai-edge-litert") from None
        try:
            self.interpreter = Interpreter(model_path=path, num_threads=threads or os.cpu_count() or 1)
        except Exception as exc:  # noqa: BLE001 - the interpreter raises ValueError/RuntimeError
            raise UserError(f"{path}: not a LiteRT model the interpreter can open ({first_line(exc)})",
                            1) from None
        inputs, outputs = self.interpreter.get_input_details(), self.interpreter.get_output_details()
        check_one_input_output(path, inputs, outputs)
        if inputs[0]["dtype"] != np.float32 or outputs[0]["dtype"] != np.float32:
            raise UserError(f"{path}: takes {inputs[0]['dtype'].__name__} input; only models with "
                            "float32 input and output (as export.py writes, int8 ones too) are "
                            "supported", 1)
        self.input_index, self.output_index = inputs[0]["index"], outputs[0]["index"]
        self.input_shape = tuple(None if d < 0 else int(d) for d in inputs[0]["shape_signature"])
        self.output_shape = tuple(None if d < 0 else int(d) for d in outputs[0]["shape_signature"])
        self.batch = None
        self.versions = {"ai-edge-litert": version}

    def predict_on_batch(self, batch):
        if len(batch) != self.batch:  # the interpreter is sized per batch
            self.interpreter.resize_tensor_input(self.input_index, batch.shape)
            self.interpreter.allocate_tensors()
            self.batch = len(batch)
        self.interpreter.set_tensor(self.input_index, np.ascontiguousarray(batch, dtype=np.float32))
        self.interpreter.invoke()
        return self.interpreter.get_tensor(self.output_index).copy()
