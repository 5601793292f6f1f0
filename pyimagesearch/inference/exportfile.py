"""The checks an exported model file goes through before its runtime opens
it, shared by the ONNX and LiteRT runtimes."""

import os

from ..utils.errors import UserError

# What a machine without TensorFlow installs to run an export.
REQUIREMENTS_FILE = "requirements-predict.txt"


def check_model_file(path, kind):
    if not os.path.exists(path):
        raise UserError(f"{path}: {kind} model file not found; write one with export.py")
    if os.path.isdir(path):
        raise UserError(f"{path}: is a folder; pass the exported model file")


def check_one_input_output(path, inputs, outputs):
    if len(inputs) != 1 or len(outputs) != 1:
        raise UserError(f"{path}: expected a classifier with one input and one output, found "
                        f"{len(inputs)} and {len(outputs)}", 1)


def missing_runtime(path, package):
    return UserError(f"{path}: running this model needs the {package} package, which is not "
                     f"installed; pip install -r {REQUIREMENTS_FILE}", 1)
