"""Evaluating a trained model: metrics and reports on a test split, and
single-view against 10-crop accuracy."""
