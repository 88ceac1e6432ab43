"""``qdstack._parallel.fork_map``: the loop's results, order, errors and warnings, on forked workers."""

from __future__ import annotations

import os
import pickle
import sys
import threading
import time
import warnings

import pytest

from qdstack._parallel import fork_map, fork_workers, usable_cpus
from qdstack.errors import FitError, OptionError, QdstackWarning

linux = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="fork_map forks on Linux only"
)
PARENT = os.getpid()


def _square_and_pid(x):
    return x * x, os.getpid()


def _slow_square_and_pid(x):
    time.sleep(0.02 if os.getpid() == PARENT else 0.002)  # the children get their share
    return x * x, os.getpid()


@linux
@pytest.mark.parametrize("workers", [2, 3])
def test_results_in_order_from_several_processes(workers, forkable):
    if forkable:  # run in a fresh process: this one runs other threads
        return
    out = fork_map(_slow_square_and_pid, range(23), workers=workers)
    assert [v for v, _ in out] == [x * x for x in range(23)]
    pids = [p for _, p in out]
    assert pids[0] == PARENT  # the first item is done here, before the fork
    assert len(set(pids)) == workers  # every process took items (one at a time, in order)


def test_one_worker_is_the_loop():
    out = fork_map(_square_and_pid, range(5), workers=1)
    assert out == [(x * x, PARENT) for x in range(5)]
    assert fork_map(_square_and_pid, [], workers=2) == []


def _fail_at(bad):
    def func(x):
        if x in bad:
            raise FitError(f"item {x} failed", f"file{x}.csv")
        return x

    return func


@linux
def test_first_error_in_item_order_is_raised_with_its_source(forkable):
    if forkable:  # run in a fresh process: this one runs other threads
        return
    # 0..9 in the parent, 10..19 in the child: the child's error comes back intact
    with pytest.raises(FitError) as err:
        fork_map(_fail_at({13, 17}), range(20), workers=2)
    assert err.value.message == "item 13 failed" and err.value.source == "file13.csv"
    # an error in the parent's chunk comes first, as in the loop
    with pytest.raises(FitError, match="item 4 failed"):
        fork_map(_fail_at({4, 13}), range(20), workers=2)


def test_qdstack_error_pickles_with_its_source():
    e = pickle.loads(pickle.dumps(FitError("no peak", "a.csv")))
    assert type(e) is FitError and e.message == "no peak" and e.source == "a.csv"
    assert str(e) == "a.csv: no peak"


def _warn_odd(x):
    if x % 2:
        warnings.warn(f"odd item {x}", QdstackWarning, stacklevel=1)
    return x


@linux
def test_warnings_of_the_children_are_issued_here(forkable):
    if forkable:  # run in a fresh process: this one runs other threads
        return
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert fork_map(_warn_odd, range(8), workers=2) == list(range(8))
    messages = sorted(str(w.message) for w in caught)
    assert messages == [f"odd item {x}" for x in (1, 3, 5, 7)]
    assert all(w.category is QdstackWarning for w in caught)


def _die_in_child(x):
    if os.getpid() != PARENT:
        os._exit(3)
    return x + 1


@linux
def test_a_dead_child_has_its_chunk_done_here(forkable):
    if forkable:  # run in a fresh process: this one runs other threads
        return
    assert fork_map(_die_in_child, range(10), workers=2) == list(range(1, 11))


def test_how_many_processes(forkable):
    if forkable:  # run in a fresh process: this one runs other threads
        return
    with pytest.raises(OptionError):
        fork_workers(0, 10)
    assert fork_workers(1, 100) == 1
    assert fork_workers(None, 3, min_per_process=4) == 1  # too few items for a second process
    assert fork_workers(None, 400, min_per_process=4) == (
        min(usable_cpus(), 100) if sys.platform.startswith("linux") else 1
    )
    if sys.platform.startswith("linux"):
        assert fork_workers(5, 3) == 3  # at most one per item
    release = threading.Event()
    t = threading.Thread(target=release.wait)
    t.start()
    try:  # another thread: forking would copy it in an undefined state
        assert fork_workers(2, 100) == 1
        assert fork_map(_square_and_pid, range(6), workers=2) == [(x * x, PARENT) for x in range(6)]
    finally:
        release.set()
        t.join()


def _unpicklable_in_a_child(x):
    time.sleep(0.02 if os.getpid() == PARENT else 0.002)
    return x if os.getpid() == PARENT else (lambda: x)


@linux
def test_progress_follows_the_items_and_a_result_that_cannot_come_back_is_an_error(forkable):
    if forkable:  # run in a fresh process: this one runs other threads
        return
    shown = []

    def bar(seq):  # a progress bar: yields the items back, advanced as they are done
        for x in seq:
            yield x
            shown.append(x)

    out = fork_map(_slow_square_and_pid, range(12), workers=2, progress=bar)
    assert [v for v, _ in out] == [x * x for x in range(12)] and shown == list(range(12))
    with pytest.raises(RuntimeError, match="could not be sent back"):
        fork_map(_unpicklable_in_a_child, range(20), workers=2)


def test_no_working_semaphores_is_the_loop(monkeypatch, forkable):
    if forkable:  # run in a fresh process: this one runs other threads
        return
    import qdstack._parallel.fork as fork

    def no_sem_open(*args):
        raise OSError("This platform lacks a functioning sem_open implementation")

    monkeypatch.setattr(fork, "_Claims", no_sem_open)
    assert fork_map(_square_and_pid, range(9), workers=2) == [(x * x, PARENT) for x in range(9)]


# ------------------------------------------------------------------ fork_call


def _pid_and_sum(*values):
    warnings.warn(f"summed {len(values)} values", QdstackWarning, stacklevel=1)
    return os.getpid(), sum(values)


@linux
def test_fork_call_runs_in_a_child_while_this_process_goes_on(forkable):
    from qdstack._parallel import fork_call

    if forkable:  # run in a fresh process: this one runs other threads
        return
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pending = fork_call(_pid_and_sum, 1, 2, 3)
        here = sum(x * x for x in range(1000))  # this process is free meanwhile
        pid, total = pending.result()
    assert pid != PARENT and total == 6 and here == 332833500
    assert pending.result() == (pid, 6)  # read once, kept
    # the child's warning is issued here, once
    assert [str(w.message) for w in caught] == ["summed 3 values"]
    assert caught[0].category is QdstackWarning


def test_fork_call_without_a_fork_runs_here(forkable):
    from qdstack._parallel import fork_call

    if forkable:  # run in a fresh process: this one runs other threads
        return
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        assert fork_call(_pid_and_sum, 4, 5, workers=1).result() == (PARENT, 9)
    release = threading.Event()
    t = threading.Thread(target=release.wait)
    t.start()
    try:  # another thread: no fork
        with warnings.catch_warnings(record=True):
            warnings.simplefilter("always")
            assert fork_call(_pid_and_sum, 7).result() == (PARENT, 7)
    finally:
        release.set()
        t.join()


def _fail(source):
    raise FitError("cannot fit", source)


@linux
def test_fork_call_reraises_the_error_and_survives_a_dead_child(forkable):
    from qdstack._parallel import fork_call

    if forkable:  # run in a fresh process: this one runs other threads
        return
    pending = fork_call(_fail, "film.csv")
    with pytest.raises(FitError) as err:
        pending.result()
    assert err.value.message == "cannot fit" and err.value.source == "film.csv"
    # a child that dies without answering: the call is made here instead
    assert fork_call(_die_in_child, 41).result() == 42
