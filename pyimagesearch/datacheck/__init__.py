"""Find what is wrong with a folder dataset before training on it (check_dataset.py)."""
