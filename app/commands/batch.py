"""`lumigrade batch QUEUE`: a render queue (or an OpenTimelineIO cut) on local processes or Ray."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

from app.batch_queue import jobs_from_data, load_queue, timeline_queue
from app.progress import ProgressReporter
from engine.batch.plan import Job
from engine.batch.run import WorkerLost, run_queue
from engine.batch.state import QueueState
from engine.deliverables import DELIVERABLES
from engine.errors import GradeError

EXIT_WORKER_LOST = 1


def add_parser(sub: Any) -> None:
    p = sub.add_parser("batch", help="render a queue of clips and deliverables, locally or on a Ray cluster")
    p.add_argument("queue", type=Path, help="queue (.json, docs/batch.md) or OpenTimelineIO timeline (.otio)")
    p.add_argument("--workers", type=int, help="local processes (default: one per GPU, else cores / 2)")
    p.add_argument("--ray", metavar="ADDRESS", help="run on Ray: a cluster address, or 'auto'")
    p.add_argument("--chunk-frames", type=int, metavar="N", help="frames per chunk (default: the queue's)")
    p.add_argument("--state", type=Path, help="state file for resuming (default: QUEUE.state.json beside it)")
    p.add_argument("--format", action="append", default=[], choices=tuple(DELIVERABLES),
                   help="for a timeline: a deliverable of every clip; repeatable")
    p.add_argument("--output-dir", type=Path, help="for a timeline: where the deliverables go")
    p.add_argument("--grade", type=Path, help="for a timeline: the grade or project of every clip")
    p.add_argument("--json", action="store_true", help="progress and events as JSON lines on stdout")
    p.set_defaults(run=run)


def read_jobs(args: argparse.Namespace) -> list[Job]:
    """The validated jobs of the queue or timeline the command names."""
    if args.queue.suffix.lower() == ".otio":
        if not args.format or args.output_dir is None:
            raise GradeError("a timeline needs --format (one or more) and --output-dir", args.queue)
        data = timeline_queue(args.queue, args.format, args.output_dir, args.grade)
        return jobs_from_data(data, args.queue)
    if args.format or args.output_dir or args.grade:
        raise GradeError("--format, --output-dir and --grade apply to a timeline; a queue names its own",
                         args.queue)
    return load_queue(args.queue)


def make_executor(args: argparse.Namespace) -> Any:
    if args.ray is None:
        from engine.batch.executors import LocalExecutor

        return LocalExecutor(args.workers)
    try:
        import ray  # noqa: F401
    except ImportError:
        raise GradeError("--ray needs Ray: pip install 'lumigrade[cluster]'") from None
    from engine.batch.executors import RayExecutor

    return RayExecutor(args.ray)


def run(args: argparse.Namespace) -> int:
    if args.workers is not None and (args.workers < 1 or args.ray is not None):
        raise GradeError("--workers takes a number above 0, for the local pool (Ray sizes itself)")
    if args.chunk_frames is not None and args.chunk_frames < 1:
        raise GradeError(f"--chunk-frames must be at least 1, got {args.chunk_frames}")
    jobs = read_jobs(args)
    if args.chunk_frames is not None:
        jobs = [dataclasses.replace(job, chunk_frames=args.chunk_frames) for job in jobs]
    state = QueueState(args.state or args.queue.with_suffix(".state.json"))
    reporter = ProgressReporter.for_terminal(args.json)
    executor = make_executor(args)
    try:
        summary = run_queue(jobs, executor, state, reporter.batch_event)
    except WorkerLost as exc:
        reporter.close()
        print(f"lumigrade: {args.queue}: {exc}", file=sys.stderr)
        return EXIT_WORKER_LOST
    finally:
        executor.close()
        reporter.close()
    if args.json:
        print(json.dumps({"event": "summary", **summary.to_dict()}))
    else:
        print(f"{len(summary.written)} deliverables written, {len(summary.already_done)} already done: "
              f"{summary.frames} frames in {summary.seconds:.1f} s "
              f"on {summary.workers} {summary.executor} workers")
    return 0
