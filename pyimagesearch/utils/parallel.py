import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor


def imap_ordered(function, items, workers=None, window=None):
    """Like map(function, items), run on a pool of threads, results in order.

    Threads suit OpenCV and h5py work because both release the GIL while they
    decode, resize or read. Unlike Executor.map, at most `window` calls are in
    flight, so a million paths never become a million pending futures.
    """
    workers = workers or os.cpu_count() or 1
    window = window or 4 * workers
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending = deque()
        for item in items:
            pending.append(pool.submit(function, item))
            if len(pending) >= window:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
