"""The one place where qdstack sets up parallel execution (dask).

Every batch of independent work -- a sweep of films, a series of decay fits, the
analyses of a study -- runs through this module, so that there is one choice of
scheduler, one connection timeout and one error message for an unreachable
cluster.  The computation layers (:mod:`qdstack.physics`, :mod:`qdstack.analysis`)
hand top-level functions and their arguments here and never import
``distributed`` themselves.

Schedulers (the ``scheduler`` argument, the CLI's ``--scheduler``):

``None`` / ``"local"``
    work on this machine: threads (numpy releases the GIL) or, with
    ``processes=True``, a local cluster of single-threaded worker processes
    (pure-Python work such as lmfit bookkeeping holds the GIL);
``"threads"``
    dask's threaded scheduler in this process;
``"serial"`` / ``"sync"``
    one call after the other in this process (debugging, tiny batches);
anything else
    the address of a running ``dask.distributed`` scheduler
    (``"tcp://host:8786"``): the work goes to its workers.

Short batches that a command line waits for (the fits of an absorption series: about a
second of work) cannot pay for dask's start-up (seconds); :func:`fork_map` splits them
over forked copies of this process instead (:func:`usable_cpus`), which inherit its
imports, and falls back to a plain loop where forking is unavailable or unsafe.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence

from qdstack.errors import OptionError, QdstackError

__all__ = [
    "CONNECT_TIMEOUT_S",
    "LOCAL",
    "SERIAL",
    "dask_client",
    "run_tasks",
    "is_address",
    "usable_cpus",
    "fork_workers",
    "fork_map",
    "fork_call",
    "Deferred",
]

#: Seconds to wait for a remote scheduler before giving up with an OptionError.
CONNECT_TIMEOUT_S = 10

LOCAL = (None, "local", "threads")
SERIAL = ("serial", "sync")


def is_address(scheduler: str | None) -> bool:
    """Whether ``scheduler`` names a remote dask scheduler rather than a local mode."""
    return scheduler not in LOCAL + SERIAL


@contextlib.contextmanager
def dask_client(
    scheduler: str | None = None,
    *,
    n_workers: int | None = None,
    processes: bool = True,
    threads_per_worker: int = 1,
    n_tasks: int | None = None,
    option: str = "--scheduler",
) -> Iterator:
    """A ``dask.distributed.Client`` for the duration of a ``with`` block.

    Parameters
    ----------
    scheduler : str or None
        None or ``"local"``: a new local cluster, closed on exit; ``"serial"``/``"sync"``:
        no dask at all (yields None); otherwise the address of a running scheduler.
    n_workers : int, optional
        Workers of a local cluster (default: the CPU count, at most ``n_tasks``).
    processes : bool
        Local workers are processes (True) or threads of this process (False).
    threads_per_worker : int
        Threads per local worker.
    n_tasks : int, optional
        Number of tasks to run (caps the number of local workers).
    option : str
        Name of the option the scheduler came from, for the error message.

    Raises
    ------
    OptionError
        The scheduler cannot be reached within :data:`CONNECT_TIMEOUT_S`, or
        ``n_workers < 1``.
    """
    if scheduler in SERIAL:
        yield None
        return
    import dask
    from distributed import Client, LocalCluster

    cluster = None
    if scheduler in LOCAL:
        n = n_workers or min(os.cpu_count() or 1, max(1, n_tasks or (os.cpu_count() or 1)))
        if n < 1:
            raise OptionError("the number of workers must be at least 1", "--workers")
        # no statistical profiler in the workers: sampling the deep stacks of many short
        # numpy calls costs more CPU than the work itself
        cfg = {
            "distributed.worker.daemon": False,
            "logging.distributed": "error",
            "distributed.worker.profile.enabled": False,
        }
        with dask.config.set(cfg):
            cluster = LocalCluster(
                n_workers=n,
                threads_per_worker=max(1, threads_per_worker),
                processes=processes,
                # ":0": the scheduler's HTTP server (always started) on a free port, not 8787,
                # which another cluster on this machine may hold
                dashboard_address=":0",
                worker_dashboard_address=None,
                silence_logs=50,
            )
        client = Client(cluster)
    else:
        try:
            client = Client(scheduler, timeout=f"{CONNECT_TIMEOUT_S}s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise OptionError(
                f"cannot reach the dask scheduler {scheduler} ({exc})", option
            ) from None
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def run_tasks(
    calls: Sequence[tuple[Callable, tuple]],
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    processes: bool = False,
    progress: Callable[[Iterable], Iterable] | None = None,
) -> list:
    """Run ``f(*args)`` for every call; results in the order of ``calls``.

    Parameters
    ----------
    calls : sequence of (callable, tuple)
        Top-level functions and their arguments (picklable for a cluster).
    scheduler : str, optional
        See the module docstring. With None and ``processes=False`` the calls run on
        dask's threaded scheduler in this process.
    workers : int, optional
        Local threads or processes (default: the number of CPUs).
    processes : bool
        With a local scheduler, run the calls in worker processes.
    progress : callable, optional
        Wraps an iterable that yields once per finished call (a progress bar).

    Raises
    ------
    QdstackError
        The first error of a call, re-raised as is (the other calls are cancelled).
    """
    calls = list(calls)
    if not calls:
        return []
    if scheduler in SERIAL:
        out = []

        def serial():
            for f, args in calls:
                out.append(f(*args))
                yield 1

        for _ in progress(serial()) if progress else serial():
            pass
        return out
    if scheduler in LOCAL and not processes:
        from dask import delayed

        tasks = [delayed(f, pure=False)(*args) for f, args in calls]
        return _run_threaded(tasks, workers or os.cpu_count() or 1, progress)
    with dask_client(scheduler, n_workers=workers, processes=True, n_tasks=len(calls)) as client:
        from distributed import as_completed

        futures = [client.submit(f, *args, pure=False) for f, args in calls]
        results = [None] * len(futures)
        index = {f.key: i for i, f in enumerate(futures)}

        def finished():
            for fut in as_completed(futures):
                try:
                    results[index[fut.key]] = fut.result()
                except QdstackError:
                    for other in futures:
                        other.cancel()
                    raise
                yield 1

        for _ in progress(finished()) if progress else finished():
            pass
        return results


def _run_threaded(tasks, workers: int, progress):
    import queue
    import threading

    import dask
    from dask.callbacks import Callback

    keys = {t.key for t in tasks}
    ticks: queue.Queue = queue.Queue()

    class _Tick(Callback):
        def _posttask(self, key, result, dsk, state, worker_id):
            if key in keys:
                ticks.put(1)

    if progress is None:
        return list(dask.compute(*tasks, scheduler="threads", num_workers=workers))
    box: dict = {}

    def run():
        try:
            with _Tick():
                box["out"] = dask.compute(*tasks, scheduler="threads", num_workers=workers)
        except BaseException as exc:  # re-raised in the caller's thread
            box["err"] = exc
        finally:
            ticks.put(None)

    thread = threading.Thread(target=run, name="qdstack-tasks", daemon=True)
    thread.start()

    def finished():
        while ticks.get() is not None:
            yield 1

    for _ in progress(finished()):
        pass
    thread.join()
    if "err" in box:
        raise box["err"]
    return list(box["out"])


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


def _chunks(n_items: int, n: int) -> list[range]:
    """``n`` contiguous ranges covering ``range(n_items)``, in order: nearly equal, but the
    first (this process's) one item longer when there are at least four items a process --
    the children start an item later and pickle their results (on the absorption series
    the parent waited ~25 ms for its child with equal halves)."""
    extra = 1 if n_items >= 4 * n else 0
    first = min(n_items - (n - 1), -(-(n_items - extra) // n) + extra)
    rest = n_items - first
    bounds = [0, first] + [first + round(k * rest / (n - 1)) for k in range(1, n)]
    return [range(bounds[k], bounds[k + 1]) for k in range(n)]


def _run_chunk(func, items, conn, pickler=None) -> None:
    """Body of a forked worker: ``func`` over its items, the results (or the first error) and
    the warnings sent back through ``conn`` (pickled by ``pickler``, default :mod:`pickle`'s)."""
    import io
    import pickle
    import warnings

    def dumps(obj) -> bytes:
        if pickler is None:
            return pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
        buf = io.BytesIO()
        pickler(buf, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
        return buf.getvalue()

    with warnings.catch_warnings(record=True) as caught:  # the inherited filters still apply
        try:
            out = ("ok", [func(item) for item in items])
        except BaseException as exc:  # re-raised in the parent, in order
            out = ("error", exc)
    out += ([(str(w.message), w.category, w.filename, w.lineno) for w in caught],)
    try:
        data = dumps(out)
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

    The items are cut into contiguous chunks, one per process (:func:`fork_workers`); this
    process works through the first chunk while forked children (``multiprocessing``'s
    ``fork`` context: they inherit the imports and the data, nothing is pickled on the way
    in) do the others and send their results back pickled.  The results are those of the
    plain loop, in its order: the same code on the same data.  The first error in item
    order is raised, as the loop would raise it (the children are stopped); the children's
    warnings are re-issued here.  A child that dies without answering has its chunk done
    here.  With one process (``workers=1``, too few items, no safe fork) it is the loop.

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
        Wraps ``list(items)`` and yields them back (a progress bar); it is started after
        the fork, so its thread is not copied.
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
    if n == 1:
        return [func(item) for item in wrap(items)]
    import multiprocessing
    import pickle
    import warnings

    ctx = multiprocessing.get_context("fork")
    chunks = _chunks(len(items), n)
    children = []
    ticks = iter(wrap(items)) if progress is not None else None
    # the first item here, before the fork: the lazy imports and caches it fills (lmfit and
    # scipy for a fit: 0.6 s) are then inherited instead of repeated in every child
    results: list = [None] * len(items)
    results[0] = func(items[0])
    import gc

    # the objects that exist now are shared with the children page by page until written;
    # the collector would write to every one of them (copying every page, in each process)
    gc.freeze()
    try:
        for chunk in chunks[1:]:
            recv, send = ctx.Pipe(duplex=False)
            proc = ctx.Process(
                target=_run_chunk,
                args=(func, [items[i] for i in chunk], send, pickler),
                daemon=True,
            )
            proc.start()
            send.close()
            children.append((chunk, proc, recv))
        owner = {i: k for k, chunk in enumerate(chunks) for i in chunk}
        done = set(chunks[0])
        for i, item in enumerate(ticks if ticks is not None else items):
            k = owner[i]
            if k == 0:
                if i:
                    results[i] = func(item)
            elif i not in done:
                chunk, proc, recv = children[k - 1]
                try:
                    status, payload, caught = pickle.loads(recv.recv_bytes())
                except EOFError:  # the child died: do its chunk here
                    status, payload, caught = "ok", [func(items[j]) for j in chunk], []
                for message, category, filename, lineno in caught:
                    warnings.warn_explicit(message, category, filename, lineno)
                if status == "error":
                    raise payload
                for j, value in zip(chunk, payload, strict=True):
                    results[j] = value
                done.update(chunk)
        return results
    finally:
        gc.unfreeze()
        for _, proc, recv in children:
            recv.close()
            if proc.is_alive():
                proc.terminate()
            proc.join()


def _apply(call):
    func, args = call
    return func(*args)


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
                payload = payload[0] if status == "ok" else payload
            except EOFError:  # the child died without answering: do it here
                self._child = None
            finally:
                recv.close()
                proc.join()
        if self._child is None:
            payload = _apply(self._call)
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
        proc = ctx.Process(
            target=_run_chunk, args=(_apply, [(func, args)], send, pickler), daemon=True
        )
        proc.start()
    finally:
        gc.unfreeze()
    send.close()
    return Deferred(func, args, (proc, recv))
