"""What the model gets wrong, and where it looked.

gradcam (Grad-CAM heatmaps for Keras ConvNets, nested backbones included),
explainers (which explainer draws a model's heatmaps, fed uint8 images),
toplosses (per-image loss, the worst images, the most-confused
class pairs), heatmap (colouring a map over its image), gallery (the
top-losses grid), report (the run's one-page HTML report) and evaluation
(all of it at the end of a training run). The transfer pipeline's class
activation map lives in transfer.cam. Import the module you need;
toplosses, heatmap, gallery and report are free of TensorFlow.
"""
