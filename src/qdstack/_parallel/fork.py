"""Forked workers of :mod:`qdstack._parallel`, for short batches a command line waits for.

Work of about a second (the fits of an absorption series) cannot pay for dask's start-up
(seconds): :func:`fork_map` splits it over forked copies of this process, which inherit its
imports and data, and :func:`fork_call` runs one stage of a pipeline in a forked child
while this process goes on.  Both fall back to this process where forking is unavailable
or unsafe (:func:`fork_workers`).
"""

from __future__ import annotations

import os
import struct
import sys
from collections.abc import Callable, Iterable, Sequence

from qdstack.errors import OptionError

__all__ = ["usable_cpus", "fork_workers", "fork_map", "fork_call", "Deferred"]


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the OS has one, else the CPU count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def fork_workers(workers: int | None, n_items: int, min_per_process: int = 1) -> int:
    """How many processes :func:`fork_map` uses for ``n_items`` items (1: this process alone).

    ``workers`` None (auto): one per usable CPU, but no fewer than ``min_per_process`` items
    each (below that the fork and the transfer of the results cost more than they save);
    an explicit number is used as given (at most one per item).  1 whenever forking is
    unavailable (no ``fork`` start method: Windows; macOS, where forking a process that
    has used system frameworks is unsafe) or unsafe: this process runs other Python threads
    (a dask scheduler, a progress bar, a Jupyter kernel), which a fork would copy in an
    undefined state (Python 3.12+ warns about it).  Native BLAS threads do not count: OpenBLAS
    stops its pool before a fork and restarts it after.

    Raises
    ------
    OptionError
        ``workers < 1``.
    """
    import threading

    if workers is not None and int(workers) < 1:
        raise OptionError(f"the number of workers must be at least 1 (got {workers})", "--workers")
    if workers is None:
        n = min(usable_cpus(), n_items // max(1, int(min_per_process)))
    else:
        n = min(int(workers), n_items)
    if n <= 1 or not sys.platform.startswith("linux") or threading.active_count() > 1:
        return 1
    import multiprocessing

    if multiprocessing.current_process().daemon:  # a daemonic process may not have children
        return 1
    return n


class _Claims:
    """The items of :func:`fork_map` handed out one at a time, in order, to whichever process
    asks first (this one or a forked child): two integers in an anonymous shared mapping,
    inherited by the fork, under a lock -- the next item, and where to stop (the item count,
    or the first failed item: the loop would not have gone further)."""

    def __init__(self, ctx, start: int, stop: int):
        import mmap

        self._mem = mmap.mmap(-1, 16)  # MAP_SHARED: the same memory in every forked child
        self._lock = ctx.Lock()
        self._mem[:] = struct.pack("qq", start, stop)

    def next(self) -> int | None:
        """The next item to do, or None when there is none left."""
        with self._lock:
            i, stop = struct.unpack("qq", self._mem[:])
            if i >= stop:
                return None
            self._mem[:8] = struct.pack("q", i + 1)
            return i

    def stop_at(self, i: int) -> None:
        """Item ``i`` failed: no item after it is handed out."""
        with self._lock:
            if i < struct.unpack("q", self._mem[8:])[0]:
                self._mem[8:] = struct.pack("q", i)


def _dumps(obj, pickler=None) -> bytes:
    import io
    import pickle

    if pickler is None:
        return pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    buf = io.BytesIO()
    pickler(buf, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
    return buf.getvalue()


def _run_claims(func, items, claims: _Claims, conn, pickler=None) -> None:
    """Body of a forked worker of :func:`fork_map`: claims items until none is left, sending
    each result (or the error, after which it stops) as soon as it has it, then its warnings."""
    import pickle
    import warnings

    with warnings.catch_warnings(record=True) as caught:  # the inherited filters still apply
        while (i := claims.next()) is not None:
            try:
                message = ("ok", i, func(items[i]))
            except BaseException as exc:  # re-raised in the parent, in item order
                claims.stop_at(i)
                message = ("error", i, exc)
            try:
                data = _dumps(message, pickler)
            except Exception as exc:  # an unpicklable result or error: say so in the parent
                claims.stop_at(i)
                message = (
                    "error",
                    i,
                    RuntimeError(f"a worker's result could not be sent back: {exc!r}"),
                )
                data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
            conn.send_bytes(data)
            if message[0] == "error":
                break
    found = [(str(w.message), w.category, w.filename, w.lineno) for w in caught]
    conn.send_bytes(pickle.dumps(("done", None, found), protocol=pickle.HIGHEST_PROTOCOL))
    conn.close()


def _run_call(func, args, conn, pickler=None) -> None:
    """Body of the forked child of :func:`fork_call`: ``func(*args)`` (or its error) and the
    warnings sent back through ``conn`` (pickled by ``pickler``, default :mod:`pickle`'s)."""
    import pickle
    import warnings

    with warnings.catch_warnings(record=True) as caught:  # the inherited filters still apply
        try:
            out = ("ok", func(*args))
        except BaseException as exc:  # re-raised in the parent
            out = ("error", exc)
    out += ([(str(w.message), w.category, w.filename, w.lineno) for w in caught],)
    try:
        data = _dumps(out, pickler)
    except Exception as exc:  # an unpicklable result or error: say so in the parent
        data = pickle.dumps(
            ("error", RuntimeError(f"a worker's result could not be sent back: {exc!r}"), []),
            protocol=pickle.HIGHEST_PROTOCOL,
        )
    conn.send_bytes(data)
    conn.close()


def fork_map(
    func: Callable,
    items: Sequence,
    *,
    workers: int | None = None,
    min_per_process: int = 1,
    progress: Callable[[Iterable], Iterable] | None = None,
    pickler: type | None = None,
) -> list:
    """``[func(item) for item in items]``, split over forked copies of this process.

    This process does the first item (filling the lazy imports and caches the children then
    inherit), then forks the others (:func:`fork_workers`; ``multiprocessing``'s ``fork``
    context: they inherit the imports and the data, nothing is pickled on the way in).  The
    remaining items are handed out one at a time, in order, to whichever process is free
    (:class:`_Claims`), so a process that gets less CPU (a busy machine) does fewer; each
    child sends every result back pickled as soon as it has it, and this process reads them
    between its own items.  The results are those of the plain loop, in its order: the same
    code on the same data.  The first error in item order is raised, as the loop would raise
    it (no item after a failed one is started); the children's warnings are re-issued here.
    Items a child took and did not answer (it died) are done here.  With one process
    (``workers=1``, too few items, no safe fork) it is the loop.

    Parameters
    ----------
    func : callable
        Called as ``func(item)``; its results must pickle.
    items : sequence
    workers : int, optional
        Processes, this one included (default: :func:`fork_workers`'s choice).
    min_per_process : int
        With ``workers=None``, the fewest items worth a process.
    progress : callable, optional
        Wraps ``list(items)`` and yields them back (a progress bar), advanced as items are
        done; it is started after the fork, so its thread is not copied.
    pickler : pickle.Pickler subclass, optional
        Pickles the children's results (e.g. one whose ``reducer_override`` sends objects
        this process already holds by reference); they are read back with ``pickle.loads``.

    Returns
    -------
    list
    """
    items = list(items)
    n = fork_workers(workers, len(items), min_per_process)
    wrap = progress or (lambda seq: seq)
    claims = None
    if n > 1:
        import multiprocessing

        ctx = multiprocessing.get_context("fork")
        try:
            claims = _Claims(ctx, 1, len(items))
        except (OSError, ImportError):  # no working semaphores (sem_open) here: no fork
            claims = None
    if claims is None:
        return [func(item) for item in wrap(items)]
    import gc
    import pickle
    import warnings
    from multiprocessing.connection import wait

    # the first item here, before the fork: the lazy imports and caches it fills (lmfit and
    # scipy for a fit: 0.6 s) are then inherited instead of repeated in every child
    results: list = [None] * len(items)
    results[0] = func(items[0])
    done = [True] + [False] * (len(items) - 1)
    errors: dict[int, BaseException] = {}
    caught: list = []
    children: dict = {}  # receiving end of each child's pipe -> its process, until it is done
    procs = []
    ticks = None
    # the objects that exist now are shared with the children page by page until written;
    # the collector would write to every one of them (copying every page, in each process)
    gc.freeze()
    try:
        for _ in range(n - 1):
            recv, send = ctx.Pipe(duplex=False)
            proc = ctx.Process(
                target=_run_claims, args=(func, items, claims, send, pickler), daemon=True
            )
            proc.start()
            send.close()
            children[recv] = proc
            procs.append(proc)
        if progress is not None:
            ticks = iter(wrap(items))
            next(ticks, None)  # the bar at 0 ...
            next(ticks, None)  # ... and the first item done

        def read(recv) -> None:
            try:
                kind, i, payload = pickle.loads(recv.recv_bytes())
            except EOFError:  # the child died: what it took and did not answer is done below
                kind = "gone"
            if kind == "ok":
                results[i], done[i] = payload, True
                if ticks is not None:
                    next(ticks, None)
            elif kind == "error":
                errors[i] = payload
            else:
                if kind == "done":
                    caught.extend(payload)
                recv.close()
                del children[recv]

        while True:
            for recv in [r for r in children if r.poll()]:
                read(recv)
            i = claims.next()
            if i is not None:
                try:
                    results[i], done[i] = func(items[i]), True
                except Exception as exc:  # raised below, after the items before it
                    claims.stop_at(i)
                    errors[i] = exc
                    continue
                if ticks is not None:
                    next(ticks, None)
            elif children:
                for recv in wait(list(children)):
                    read(recv)
            else:
                break
        for message, category, filename, lineno in caught:
            warnings.warn_explicit(message, category, filename, lineno)
        first = min(errors, default=len(items))
        for i in range(first):
            if not done[i]:  # taken by a child that died
                results[i], done[i] = func(items[i]), True
                if ticks is not None:
                    next(ticks, None)
        if errors:
            raise errors[first]
        return results
    finally:
        gc.unfreeze()
        if ticks is not None:
            ticks.close()
        for recv, proc in children.items():  # still running: an error here stops them
            recv.close()
            if proc.is_alive():
                proc.terminate()
        for proc in procs:
            proc.join()


class Deferred:
    """The pending result of :func:`fork_call`: :meth:`result` waits for it."""

    def __init__(self, func: Callable, args: tuple, child=None):
        self._call = (func, args)
        self._child = child  # (process, connection) of the forked child, or None
        self._done = False
        self._value = None

    def result(self):
        """``func(*args)``: the child's (its warnings issued here), else computed here now.

        Raises
        ------
        Exception
            The call's error, re-raised here as it was raised there.
        """
        if self._done:
            return self._value
        import pickle
        import warnings

        status, payload, caught = "ok", None, []
        if self._child is not None:
            proc, recv = self._child
            try:
                status, payload, caught = pickle.loads(recv.recv_bytes())
            except EOFError:  # the child died without answering: do it here
                self._child = None
            finally:
                recv.close()
                proc.join()
        if self._child is None:
            func, args = self._call
            payload = func(*args)
        for message, category, filename, lineno in caught:
            warnings.warn_explicit(message, category, filename, lineno)
        self._child = None
        if status == "error":
            raise payload
        self._done, self._value = True, payload
        return payload


def fork_call(
    func: Callable, *args, workers: int | None = None, pickler: type | None = None
) -> Deferred:
    """``func(*args)`` in a forked child while this process goes on with other work.

    A pipeline stage: the command line reads and locates the peaks of its files in a child
    (numpy only) while this process imports lmfit and SciPy (``qdstack absorption``); the
    two use both CPUs and nothing is imported twice.  The child inherits this process
    (nothing is pickled on the way in) and sends the result back pickled (by ``pickler``,
    as in :func:`fork_map`), with its warnings and its error, which
    :meth:`Deferred.result` re-issues and re-raises here.  Where :func:`fork_map` would
    not fork (``workers=1``, one usable CPU, no safe ``fork``: :func:`fork_workers`), or
    when the child dies, the call runs here, in :meth:`Deferred.result`: the same result.

    Parameters
    ----------
    func : callable
        A function whose result (or error) pickles.
    *args
        Its arguments.
    workers : int, optional
        As for :func:`fork_map` (1: no child).
    pickler : pickle.Pickler subclass, optional
        Pickles the child's result.

    Returns
    -------
    Deferred
    """
    if fork_workers(workers, 2) == 1:
        return Deferred(func, args)
    import gc
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)
    gc.freeze()  # shared pages stay shared: the child's collector does not write to them
    try:
        proc = ctx.Process(target=_run_call, args=(func, args, send, pickler), daemon=True)
        proc.start()
    finally:
        gc.unfreeze()
    send.close()
    return Deferred(func, args, (proc, recv))
