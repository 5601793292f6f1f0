import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from itertools import islice


def imap_ordered(function, items, workers=None, window=None, chunksize=1):
    """Like map(function, items), run on a pool of threads, results in order.

    Threads suit OpenCV and h5py work because both release the GIL while they
    decode, resize or read. Unlike Executor.map, at most `window` tasks are in
    flight, so a million paths never become a million pending futures. Each
    task maps `function` over `chunksize` consecutive items: a future costs
    about 25 us of GIL-holding bookkeeping, a few percent of a small JPEG's
    decode, so short calls are better sent in chunks.
    """
    workers = workers or os.cpu_count() or 1
    window = window or 4 * workers
    items = iter(items)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending = deque()
        while chunk := list(islice(items, chunksize)):
            pending.append(pool.submit(_map_list, function, chunk))
            if len(pending) >= window:
                yield from pending.popleft().result()
        while pending:
            yield from pending.popleft().result()


def _map_list(function, chunk):
    return [function(item) for item in chunk]
