"""Soak: many 1080p exports in one process, with random cancels and restarts, memory sampled.

A long-lived process (the GUI, a render node) runs render after render; a leak of memory, of
file handles or of temporary files shows only over many jobs. This script renders ranges of a
synthetic 1080p24 clip (bench/throughput.py's moving test pattern) through engine.render.render
until the finished outputs hold `--minutes` of footage. A random share of the jobs is cancelled
part-way through by another thread (the export dialog's Cancel) and then restarted from the
start. A sampler thread reads the process's resident memory (VmRSS) and its open file
descriptors once a second.

It prints peak and final RSS and handles and checks:
- no growth after the first minute (a warm-up: imports, numba compiles, allocator pools): of
  the samples after minute 1, the peak RSS of the last third stays within `GROWTH_MIB` of the
  peak of the first third, and the open handles at the end are no more than after the first
  finished job;
- no leftover temporary files in the output folder after any job, finished or cancelled;
- every finished output is valid: ffprobe reads 1920x1080 video with one packet per frame.

The deliverable is `--format` (default sdr: H.264 through the fused processor, the fastest real
deliverable on a 2-core machine). Partial figures are printed after every job, so an
interrupted soak (SIGINT or SIGTERM) still reports what it saw.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.throughput import make_clip
from engine.errors import RenderCancelled
from engine.grade import Grade, OperatorChoice, OutputSettings
from engine.jobs import CancelToken
from engine.render import render

FPS = 25  # make_clip's rate
SOURCE_FRAMES = 60 * FPS  # one minute of source; jobs render ranges of it
GROWTH_MIB = 64.0  # allowed RSS growth after the first minute (allocator noise)
SAMPLE_S = 1.0


def rss_mib() -> float:
    """This process's resident set (VmRSS of /proc/self/status) in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def open_handles() -> int:
    return len(os.listdir("/proc/self/fd"))


@dataclass
class Sampler:
    """(seconds, RSS MiB, handles) once a second, in a daemon thread."""

    started: float = field(default_factory=time.monotonic)
    samples: list[tuple[float, float, int]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_S):
            self.samples.append((time.monotonic() - self.started, rss_mib(), open_handles()))

    def stop(self) -> None:
        self._stop.set()


def probe_output(path: Path, frames: int) -> str | None:
    """None when ffprobe reads a 1920x1080 video stream with `frames` packets, else the problem."""
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-count_packets", "-show_entries",
         "stream=codec_name,width,height,nb_read_packets", "-of", "json", str(path)],
        capture_output=True, text=True,
    )
    if result.returncode != 0:
        return f"ffprobe failed: {result.stderr.strip()}"
    streams = json.loads(result.stdout).get("streams", [])
    if not streams:
        return "no video stream"
    s = streams[0]
    if (s.get("width"), s.get("height")) != (1920, 1080) or int(s.get("nb_read_packets", -1)) != frames:
        return f"unexpected stream {s} (wanted 1920x1080, {frames} packets)"
    return None


def leftovers(folder: Path, keep: set[str]) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name not in keep)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=20.0, help="footage to finish, in minutes")
    parser.add_argument("--format", default="sdr", help="deliverable (engine.deliverables)")
    parser.add_argument("--cancel-share", type=float, default=0.25, help="share of jobs cancelled once")
    parser.add_argument("--seed", type=int, default=21)
    parser.add_argument("--work", type=Path, default=None, help="folder for the source and outputs")
    args = parser.parse_args()

    # A soak started in the background inherits SIGINT ignored: both signals stop it with a report.
    for stop in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop, signal.default_int_handler)
    rng = random.Random(args.seed)
    work = args.work or Path(tempfile.mkdtemp(prefix="lumigrade-soak-"))
    out = work / "out"
    out.mkdir(parents=True, exist_ok=True)
    source = work / "source.mp4"
    if not source.exists():
        make_clip(source, "1920x1080", SOURCE_FRAMES)
    grade = Grade(itm=OperatorChoice("bt2408"),
                  output=OutputSettings(format=args.format, preset="ultrafast"))
    suffix = ".mp4" if args.format != "prores" else ".mov"
    goal = round(args.minutes * 60 * FPS)
    sampler = Sampler()
    sampler.start()
    print(f"soak: {args.format} 1080p{FPS}, goal {goal} frames ({args.minutes:g} min), source {source}",
          flush=True)

    finished = cancelled = done_frames = 0
    problems: list[str] = []
    handles_after_first: int | None = None
    try:
        while done_frames < goal:
            length = min(rng.randint(FPS * 10, SOURCE_FRAMES), goal - done_frames)
            length = max(length, 1)
            start = rng.randint(0, SOURCE_FRAMES - length)
            target = out / f"job{finished:04d}{suffix}"
            if rng.random() < args.cancel_share:
                token = CancelToken()
                after = rng.uniform(0.5, length / FPS)  # seconds of wall time: mid-analysis or mid-encode
                timer = threading.Timer(after, token.cancel)
                timer.start()
                try:
                    render(source, target, grade, frames=(start, start + length), cancel=token)
                    problems.append(f"{target.name}: cancel after {after:.1f} s came too late")
                    target.unlink()
                except RenderCancelled:
                    cancelled += 1
                timer.cancel()
                if extra := leftovers(out, set()):
                    problems.append(f"after a cancel: leftover {extra}")
            render(source, target, grade, frames=(start, start + length))  # the (re)start
            if problem := probe_output(target, length):
                problems.append(f"{target.name}: {problem}")
            if extra := leftovers(out, {target.name}):
                problems.append(f"after {target.name}: leftover {extra}")
            target.unlink()  # outputs are checked, then removed: 20 minutes of 1080p would fill the disk
            finished += 1
            done_frames += length
            if handles_after_first is None:
                handles_after_first = open_handles()
            elapsed = time.monotonic() - sampler.started
            minutes = done_frames / FPS / 60
            print(f"  {elapsed:7.0f} s  job {finished:3d}: {length:5d} frames  footage {minutes:6.2f} min  "
                  f"cancels {cancelled:3d}  RSS {rss_mib():7.1f} MiB  handles {open_handles()}", flush=True)
    except KeyboardInterrupt:  # Ctrl-C, SIGINT or SIGTERM: report what the soak saw so far
        print(f"interrupted: partial figures, {done_frames} of {goal} frames", flush=True)
        if extra := leftovers(out, set()):
            problems.append(f"after the interrupt: leftover {extra}")
    sampler.stop()
    report(sampler.samples, handles_after_first or 0, open_handles(), finished, cancelled, done_frames,
           problems)


def report(samples: list[tuple[float, float, int]], handles_after_first: int, handles_final: int,
           finished: int, cancelled: int, frames: int, problems: list[str]) -> None:
    steady = [s for s in samples if s[0] > 60.0] or samples
    third = max(len(steady) // 3, 1)
    peak_early, peak_late = max(s[1] for s in steady[:third]), max(s[1] for s in steady[-third:])
    final = samples[-1]
    wall = final[0]
    print(f"\nsoak finished: {finished} outputs, {frames} frames = {frames / FPS / 60:.2f} min of 1080p, "
          f"{cancelled} cancels + restarts, {wall / 60:.1f} min wall ({frames / wall:.1f} fps)")
    print(f"RSS: peak {max(s[1] for s in samples):.1f} MiB, final {final[1]:.1f} MiB; after minute 1: "
          f"peak of the first third {peak_early:.1f} MiB, of the last third {peak_late:.1f} MiB")
    print(f"handles: peak {max(s[2] for s in samples)}, after the first job {handles_after_first}, "
          f"final {handles_final}")
    growth = peak_late - peak_early
    checks = {
        f"RSS growth after minute 1 {growth:+.1f} MiB <= {GROWTH_MIB:g}": growth <= GROWTH_MIB,
        f"handles final {handles_final} <= after first job {handles_after_first}":
            handles_final <= handles_after_first,
        f"no leftover files, every output valid ({len(problems)} problems)": not problems,
    }
    for text, ok in checks.items():
        print(f"  {'PASS' if ok else 'FAIL'}  {text}")
    for problem in problems:
        print(f"    {problem}")
    sys.exit(0 if all(checks.values()) else 1)


if __name__ == "__main__":
    main()
