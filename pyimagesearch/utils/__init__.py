"""Helpers shared by the scripts: atomic writes, user errors, the model
sidecar, reports and a thread pool map. Import the module you need."""
