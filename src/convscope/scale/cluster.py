"""`local_cluster`: a Dask LocalCluster of worker processes that do not oversubscribe the CPUs.

Each worker process runs `threads_per_worker` Dask threads; inside each, a convscope kernel
would by default split its channels over every CPU (kernels._parallel) and BLAS would start
a thread per CPU too, so N workers would run about N times as many threads as cores. Here
every worker process gets one BLAS thread per worker thread (OMP / OPENBLAS / MKL_NUM_THREADS
in the nanny's pre-spawn environment, there before the process starts, so before BLAS loads)
and one kernel thread (CONVSCOPE_NUM_THREADS in the worker's environment, set before it
imports convscope).
"""

from __future__ import annotations

from .._optional import require

__all__ = ["local_cluster", "worker_threads", "THREAD_VARIABLES"]

#: The environment variables that fix a worker's BLAS / OpenMP / kernel thread counts.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "CONVSCOPE_NUM_THREADS")


def local_cluster(workers: int, threads_per_worker: int = 1, **kwargs):
    """Start a LocalCluster of `workers` processes and return a Client connected to it.

    Each worker runs `threads_per_worker` Dask threads, each with one BLAS thread
    (OMP/OPENBLAS/MKL_NUM_THREADS = 1) and one convscope kernel thread
    (CONVSCOPE_NUM_THREADS = 1). `kwargs` go to LocalCluster
    (default: no dashboard port clash, `dashboard_address=':0'`). Close the client, then
    `client.cluster`, when done (`client.cluster.close()`), or use both as context managers.
    """
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise ValueError(f"local_cluster: workers must be a positive int, got "
                         f"workers={workers!r}")
    dask = require("dask", "local_cluster")
    distributed = require("distributed", "local_cluster")
    blas = dict(dask.config.get("distributed.nanny.pre-spawn-environ", {}) or {})
    blas.update({name: 1 for name in THREAD_VARIABLES[:3]})
    env = dict(kwargs.pop("env", None) or {}, CONVSCOPE_NUM_THREADS="1")
    kwargs.setdefault("dashboard_address", ":0")
    with dask.config.set({"distributed.nanny.pre-spawn-environ": blas}):
        cluster = distributed.LocalCluster(n_workers=workers,
                                           threads_per_worker=threads_per_worker,
                                           processes=True, env=env, **kwargs)
    try:
        client = distributed.Client(cluster)
    except BaseException:
        cluster.close()
        raise
    return client


def worker_threads() -> dict:
    """This process's thread settings: the `THREAD_VARIABLES` as set in its environment and
    the kernels' thread count (run on the workers with `client.run(worker_threads)`)."""
    import os

    from ..kernels import get_num_threads
    settings = {name: os.environ.get(name) for name in THREAD_VARIABLES}
    settings["kernels"] = get_num_threads()
    return settings
