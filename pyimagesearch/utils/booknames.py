"""The book's camelCase keyword names as aliases of this package's names.

Readers' code from the book calls, for example,
`TrainingMonitor(figPath, jsonPath=..., startAt=...)`; the package spells
those parameters `fig_path`, `json_path`, `start_at` (PEP 8, the same names
everywhere). The positional order is the book's in both, so only keywords
need translating.
"""

import functools
import inspect


def accepts_book_names(**aliases):
    """Decorate a function or method so that each `bookName="our_name"` pair
    lets callers pass `bookName=` in place of `our_name=`.

        @accepts_book_names(figPath="fig_path", jsonPath="json_path")
        def __init__(self, fig_path, json_path=None): ...

    Giving the same argument twice (both spellings, or a positional argument
    and its book keyword) raises TypeError, as Python does for a keyword
    repeated. The signature seen by help() and inspect stays the original's.
    """
    def decorate(func):
        parameters = inspect.signature(func).parameters
        unknown = [ours for ours in aliases.values() if ours not in parameters]
        if unknown:
            raise ValueError(f"{func.__qualname__} has no parameter {', '.join(unknown)}")
        positional = [name for name, p in parameters.items()
                      if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        where = func.__qualname__.removesuffix(".__init__")

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            for book, ours in aliases.items():
                if book not in kwargs:
                    continue
                if ours in kwargs or ours in positional[:len(args)]:
                    raise TypeError(f"{where}() got {ours!r} twice: as {ours!r} and as the book's "
                                    f"{book!r}; pass only one of them")
                kwargs[ours] = kwargs.pop(book)
            return func(*args, **kwargs)
        return wrapper
    return decorate
