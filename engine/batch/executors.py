"""Where batch tasks run: a local process pool (the default) or a Ray cluster.

Both run engine.batch.tasks.run_task and hand back concurrent.futures Futures, so the queue
runner does not care which it has. Progress events come back through a queue each executor
drains for the runner.

Locally the pool uses the spawn start method (a forked process would inherit torch's and
x265's threads in an undefined state) and is sized to the machine: one process per GPU when
CUDA is present, each with its own device; otherwise one per two cores, each with its share of
the cores for torch and numba. On Ray every task is a Ray task (one GPU each when the cluster
has GPUs); inputs and outputs must be on storage every node mounts at the same path, which
`check_paths` verifies on every node before anything starts.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any, Protocol

import torch

from engine.batch.tasks import Task, TaskResult, init_local_worker, run_task, unseen_paths
from engine.errors import MediaError


class Executor(Protocol):
    """What the queue runner needs from a place to run tasks."""

    name: str
    workers: int

    def submit(self, task: Task) -> Future[TaskResult]: ...
    def drain(self) -> list[dict[str, Any]]: ...
    def check_paths(self, paths: list[Path]) -> None: ...
    def close(self) -> None: ...


def local_workers() -> int:
    """The local pool's default size: one process per GPU, else one per two cores."""
    if torch.cuda.is_available():
        return torch.cuda.device_count()
    return max(1, (os.cpu_count() or 1) // 2)


class LocalExecutor:
    """A pool of spawned processes on this machine."""

    name = "local"

    def __init__(self, workers: int | None = None) -> None:
        context = multiprocessing.get_context("spawn")
        self.workers = workers or local_workers()
        cuda = torch.cuda.is_available()
        threads = 1 if cuda else max(1, (os.cpu_count() or 1) // self.workers)
        self._queue = context.Queue()
        self._pool = ProcessPoolExecutor(
            self.workers, mp_context=context, initializer=init_local_worker,
            initargs=(self._queue, threads, context.Value("i", 0) if cuda else None),
        )

    def submit(self, task: Task) -> Future[TaskResult]:
        return self._pool.submit(run_task, task)

    def drain(self) -> list[dict[str, Any]]:
        events = []
        while True:
            try:
                events.append(self._queue.get_nowait())
            except queue.Empty:
                return events

    def check_paths(self, paths: list[Path]) -> None:
        """Local workers share this machine's files: nothing to check."""

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._queue.close()


class RayExecutor:
    """Ray tasks on the cluster at `address` ('auto': a running cluster, else a new local one).

    A Ray session already initialised in this process (a test's local cluster) is used as is.
    """

    name = "ray"

    def __init__(self, address: str | None = "auto") -> None:
        import ray
        from ray.util.queue import Queue

        self._ray = ray
        self._owned = not ray.is_initialized()
        if self._owned:
            try:
                ray.init(address=address, include_dashboard=False, log_to_driver=False)
            except ConnectionError:
                if address != "auto":
                    raise MediaError(f"no Ray cluster answers at {address}") from None
                ray.init(include_dashboard=False, log_to_driver=False)
        resources = ray.cluster_resources()
        gpus = int(resources.get("GPU", 0))
        self.workers = gpus or int(resources.get("CPU", 1))
        self._run = ray.remote(num_gpus=1 if gpus else 0)(run_task)
        self._queue = Queue()

    def submit(self, task: Task) -> Future[TaskResult]:
        return self._run.remote(task, self._queue).future()

    def drain(self) -> list[dict[str, Any]]:
        size = self._queue.qsize()
        return list(self._queue.get_nowait_batch(size)) if size else []

    def check_paths(self, paths: list[Path]) -> None:
        """MediaError naming the first path some node of the cluster cannot see."""
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        names = [str(p.absolute()) for p in paths]
        probe = self._ray.remote(num_cpus=0)(unseen_paths)
        alive = [n["NodeID"] for n in self._ray.nodes() if n["Alive"]]
        nodes = [NodeAffinitySchedulingStrategy(node, soft=False) for node in alive]
        checks = [probe.options(scheduling_strategy=node).remote(names) for node in nodes]
        for host, missing in self._ray.get(checks):
            if missing:
                raise MediaError(f"Ray worker on {host} cannot see this path; inputs and outputs must be on "
                                 "storage every node mounts at the same path", missing[0])

    def close(self) -> None:
        self._queue.shutdown()
        if self._owned:
            self._ray.shutdown()
