"""The training engine: one run from split data (in memory or streamed) to every
saved output, shared by all the trainers.

- config: RunConfig, the run's options built from the parsed flags
- sources: where the images come from (a folder held in memory, its disk
  cache, build_hdf5.py's files) and the split into train/val/test Parts
- data: the tf.data pipelines that read a Part in batches for the model
- outputs: where a run writes (TensorFlow-free)
- run: start_run and fit_and_evaluate, the one training loop of every trainer
- optimizers, distribute, resume: optimizers and schedules by name,
  tf.distribute strategies, --resume after an interrupted run

Nothing is imported here, so that a light script can use `outputs` or
`config` without importing TensorFlow.
"""
