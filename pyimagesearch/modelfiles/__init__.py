"""The files that make up a trained model: the JSON sidecar beside it (its
schema: sidecar.py) and the names of everything a run writes next to it
(paths.py). Below the engine: training, evaluation, export and prediction
all read and write these the same way."""
