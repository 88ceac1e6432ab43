"""The one place where qdstack sets up parallel execution (dask, forked workers).

Every batch of independent work -- a sweep of films, a series of decay fits, the
analyses of a study -- runs through this module, so that there is one choice of
scheduler, one connection timeout and one error message for an unreachable
cluster.  The computation layers (:mod:`qdstack.physics`, :mod:`qdstack.analysis`)
hand top-level functions and their arguments here and never import
``distributed`` themselves.

The schedulers (the ``scheduler`` argument, the CLI's ``--scheduler``: local threads or
processes, ``"threads"``, ``"serial"``, or a ``dask.distributed`` address) are described in
:mod:`~qdstack._parallel.cluster`.

Short batches that a command line waits for (the fits of an absorption series: about a
second of work) cannot pay for dask's start-up (seconds); :func:`fork_map` splits them
over forked copies of this process instead (:func:`usable_cpus`), which inherit its
imports, and falls back to a plain loop where forking is unavailable or unsafe;
:func:`fork_call` runs one stage of a pipeline in a forked child meanwhile.

Layout: :mod:`~qdstack._parallel.cluster` holds the dask set-up (:func:`dask_client`,
:func:`run_tasks`), :mod:`~qdstack._parallel.fork` the forked workers (:func:`fork_map`,
:func:`fork_call`); every public name is re-exported here.
"""

from qdstack._parallel.cluster import (
    CONNECT_TIMEOUT_S,
    LOCAL,
    SERIAL,
    dask_client,
    is_address,
    run_tasks,
)
from qdstack._parallel.fork import (
    Deferred,
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
