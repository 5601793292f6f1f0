"""Helpers shared by the scripts: atomic writes, user errors, the model
sidecar, rank-5 accuracy and a thread pool map. Import the module you need."""
