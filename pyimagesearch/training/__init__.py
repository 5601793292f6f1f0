"""The training engine: one run from split data (in memory or HDF5) to every
saved output, shared by all the trainers.

- config: RunConfig, the run's options built from the parsed flags
- data: the folder dataset loaded as uint8, split, and fed through tf.data
- outputs: where a run writes (TensorFlow-free)
- run: start_run and fit_and_evaluate (in-memory folder datasets)
- hdf5: fit_from_hdf5 (datasets streamed from build_hdf5.py's files)
- optimizers, distribute, resume: optimizers and schedules by name,
  tf.distribute strategies, --resume after an interrupted run

Nothing is imported here, so that a light script can use `outputs` or
`config` without importing TensorFlow.
"""
