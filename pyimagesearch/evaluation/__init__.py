"""Evaluating a trained model: reports (the classification report, the
headline metrics, the confusion matrix's picture), confusion (the
most-confused pairs and the sidecar's facts about the mistakes), bootstrap
(95% intervals) and cropaccuracy (single view against 10-crop)."""
