"""The dask set-up of :mod:`qdstack._parallel`: local clusters, remote schedulers, tasks.

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
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Iterator, Sequence

from qdstack.errors import OptionError, QdstackError

__all__ = [
    "CONNECT_TIMEOUT_S",
    "LOCAL",
    "SERIAL",
    "dask_client",
    "run_tasks",
    "is_address",
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
