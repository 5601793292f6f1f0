"""Transfer learning: an ImageNet backbone without its top turns each image
into a feature vector, and a logistic regression learns the classes from them.

backbones (the table of keras.applications models and how to build one),
features (batched extraction with decoding off the inference thread),
featurefile (the HDF5 file extract_features.py writes), classifier (tune,
save and safely load the scikit-learn model), trainclassifier (train_model.py's
run: fit, evaluate, write) and predict (classify new images with backbone +
classifier). Import the module you need; only
`backbones`' table and checks are free of TensorFlow.
"""
