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
imports, and falls back to a plain loop where forking is unavailable or unsafe;
:func:`fork_call` runs one stage of a pipeline in a forked child meanwhile.

Layout: :mod:`~qdstack._parallel.cluster` holds the dask set-up (:func:`dask_client`,
:func:`run_tasks`), :mod:`~qdstack._parallel.fork` the forked workers (:func:`fork_map`,
:func:`fork_call`); every name is re-exported here.
"""

from qdstack._parallel.cluster import (
    CONNECT_TIMEOUT_S,
    LOCAL,
    SERIAL,
    _run_threaded as _run_threaded,
    dask_client,
    is_address,
    run_tasks,
)
from qdstack._parallel.fork import (
    Deferred,
    _Claims as _Claims,
    _run_chunk as _run_chunk,
    _run_claims as _run_claims,
    fork_call,
    fork_map,
    fork_workers,
    usable_cpus,
)

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
