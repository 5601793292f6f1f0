"""What the model gets wrong, and where it looked.

gradcam (Grad-CAM heatmaps for Keras ConvNets, nested backbones included),
explainers (which explainer draws a model's heatmaps, fed uint8 images),
toplosses (per-image loss, the worst images), losstiles (the worst images'
tiles, with their heatmaps), heatmap (colouring a map over its image),
gallery (the top-losses grid), report (the run's one-page HTML page),
summary (gallery and page assembled at the end of an evaluation) and
overlays (predict.py --explain's heatmap files). The transfer pipeline's
class activation map lives with it, in transfer.cam. Import the module you
need; toplosses, losstiles, heatmap, gallery and report are free of
TensorFlow.
"""
