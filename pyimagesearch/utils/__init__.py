"""The bottom layer, which every other sub-package may use and which uses
none of them: user errors (errors.py), atomic file writes (atomic.py),
Ctrl-C deferred during a write (deferredinterrupts.py), a thread-pool map
(parallel.py), rank-5 accuracy (ranked.py), the book's spellings
(booknames.py) and TensorFlow's start-up lines (tfstartup.py). Import the
module you need."""
