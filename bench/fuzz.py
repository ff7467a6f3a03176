"""Coverage-guided fuzzing of Lumigrade's readers for a set time: executions, crashes and hangs.

Each target of tests/fuzz/targets.py runs in its own process under atheris (libFuzzer's
coverage-guided engine, as OSS-Fuzz runs FFmpeg and OpenEXR), seeded with the target's real
files. The engine/ and app/ modules are instrumented for coverage; every input goes through the
harness's contract check, and an input that breaks it is saved under WORK/TARGET/crashes with
what it did, and fuzzing goes on. Hangs and memory beyond the bound are libFuzzer's `-timeout`
(HANG_SECONDS) and `-rss_limit_mb` (the process's RSS after start-up plus MEMORY_BOUND_MB):
libFuzzer stops the process and saves the input, and the parent restarts it for the time left.
JSON targets mix structure-aware mutations and nudged numbers (tests/fuzz/mutate.py) into
libFuzzer's own.

    PYTHONPATH=$PWD python bench/fuzz.py --minutes 10 [--target exr --target sps] [--work DIR]

Targets run concurrently (one process each); prefix `nice -n 10` on a shared machine. Prints
per target: executions, executions per second (over the wall time), inputs read / refused,
crashes (distinct signatures), hangs, memory-bound breaches, restarts and libFuzzer's coverage.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STATS_EVERY_S = 2.0
# What the instrumented import covers: the readers, the validators and everything they call.
INSTRUMENTED = ["engine", "app"]


def child(name: str, seconds: float, work: Path) -> None:
    """One target under atheris until `seconds` have passed (or libFuzzer stops it)."""
    import atheris

    with atheris.instrument_imports(include=INSTRUMENTED):
        import app.project  # noqa: F401  (imported here to be instrumented)
        import engine.grade
        import engine.io.exr
        import engine.io.open
        import engine.io.radiance
        import engine.io.sequence
        import engine.io.sps
        import engine.models.weights
        import engine.pipeline  # noqa: F401
    from tests.fuzz.mutate import mutate_json, nudge_json
    from tests.fuzz.targets import HANG_SECONDS, MAX_INPUT_BYTES, MEMORY_BOUND_MB, TARGETS, check, write_seeds

    target = TARGETS[name]
    folder = work / "scratch"
    seeds = write_seeds(target, folder)
    corpus = work / "corpus"
    corpus.mkdir(exist_ok=True)
    for seed in seeds:
        (corpus / hashlib.sha1(seed).hexdigest()).write_bytes(seed)
    crashes = work / "crashes"
    crashes.mkdir(exist_ok=True)
    stats_path = work / f"stats-{os.getpid()}.json"
    stats: dict[str, object] = {"executions": 0, "kinds": {}, "signatures": []}
    deadline = time.monotonic() + seconds
    last_write = 0.0

    def write_stats() -> None:
        stats_path.write_text(json.dumps(stats))

    def test_one_input(data: bytes) -> None:
        nonlocal last_write
        now = time.monotonic()
        if now > deadline:
            write_stats()
            os._exit(0)
        # libFuzzer's -timeout watches hangs, C code included: no second alarm in the process.
        outcome = check(target, data, folder, alarm=False)
        stats["executions"] = int(stats["executions"]) + 1  # type: ignore[call-overload]
        kinds = stats["kinds"]
        kinds[outcome.kind] = kinds.get(outcome.kind, 0) + 1  # type: ignore[union-attr]
        if outcome.violation:
            signatures = stats["signatures"]
            if outcome.detail not in signatures:  # type: ignore[operator]
                signatures.append(outcome.detail)  # type: ignore[union-attr]
            digest = hashlib.sha1(data).hexdigest()[:12]
            (crashes / f"{outcome.kind}-{digest}").write_bytes(data)
            (crashes / f"{outcome.kind}-{digest}.txt").write_text(outcome.detail + "\n")
        if now - last_write > STATS_EVERY_S:
            last_write = now
            write_stats()

    def json_mutator(data: bytes, max_size: int, seed: int) -> bytes:
        rng = random.Random(seed)
        draw = rng.random()
        with contextlib.suppress(ValueError, RecursionError):  # a nudge needs parseable JSON
            if draw < 0.25:
                return nudge_json(data, rng)[:max_size]
        if draw < 0.6:
            return mutate_json(data, rng)[:max_size]
        return atheris.Mutate(data, max_size)

    rss_mb = int(Path("/proc/self/status").read_text().split("VmRSS:")[1].split()[0]) // 1024
    max_len = min(MAX_INPUT_BYTES, max(4096, 2 * max(len(s) for s in seeds)))
    argv = [sys.argv[0], str(corpus), f"-artifact_prefix={work}/", f"-timeout={int(HANG_SECONDS)}",
            f"-rss_limit_mb={rss_mb + MEMORY_BOUND_MB}", f"-max_len={max_len}",
            f"-max_total_time={int(seconds) + 30}", "-print_final_stats=1"]
    extra = {"custom_mutator": json_mutator} if target.json_seeds else {}
    atheris.Setup(argv, test_one_input, **extra)
    atheris.Fuzz()


def run_target(name: str, seconds: float, work: Path) -> subprocess.Popen[bytes]:
    work.mkdir(parents=True, exist_ok=True)
    log = open(work / "fuzz.log", "ab")  # noqa: SIM115  (the child writes it; closed with the parent)
    # OpenCV logs every corrupt image it is shown: kept out of the log, the harness judges them.
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "OPENCV_LOG_LEVEL": "OFF"}
    return subprocess.Popen([sys.executable, __file__, "--child", name, "--seconds", f"{seconds:.0f}",
                             "--work", str(work)], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)


def summarise(name: str, work: Path, seconds: float) -> dict[str, object]:
    executions, kinds, signatures = 0, {}, set()
    for path in work.glob("stats-*.json"):
        stats = json.loads(path.read_text())
        executions += stats["executions"]
        for kind, count in stats["kinds"].items():
            kinds[kind] = kinds.get(kind, 0) + count
        signatures.update(stats["signatures"])
    # Inputs libFuzzer itself stopped the process for (a hang in C code, RSS over the bound).
    hangs = len(list(work.glob("timeout-*"))) + kinds.get("hang", 0)
    memory = len(list(work.glob("oom-*"))) + kinds.get("memory", 0)
    crashes = kinds.get("crash", 0) + len(list(work.glob("crash-*")))
    # libFuzzer's last status line: the coverage (edges) the run reached.
    log = (work / "fuzz.log").read_text(errors="replace") if (work / "fuzz.log").exists() else ""
    cov = [line.split("cov: ")[1].split()[0] for line in log.splitlines() if " cov: " in line]
    return {"target": name, "cov": cov[-1] if cov else "-", "executions": executions,
            "per_s": executions / seconds,
            "ok": kinds.get("ok", 0), "refused": kinds.get("refused", 0), "crashes": crashes,
            "distinct": len(signatures), "hangs": hangs, "memory": memory, "signatures": sorted(signatures)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=1.0, help="fuzzing time per target")
    parser.add_argument("--target", action="append", help="a target name (repeatable; default: all)")
    parser.add_argument("--work", type=Path, default=None, help="corpus, crashes and logs (default: temp)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.seconds, args.work)
        return

    from tests.fuzz.targets import TARGETS

    names = args.target or list(TARGETS)
    unknown = sorted(set(names) - set(TARGETS))
    if unknown:
        parser.error(f"unknown target {unknown[0]!r} (one of {', '.join(TARGETS)})")
    work = args.work or Path(tempfile.mkdtemp(prefix="lumigrade-fuzz-"))
    seconds = args.minutes * 60
    started = time.monotonic()
    deadline = started + seconds
    running = {name: run_target(name, seconds, work / name) for name in names}
    restarts = dict.fromkeys(names, 0)
    print(f"fuzzing {', '.join(names)} for {args.minutes:g} min each, concurrently; work in {work}",
          flush=True)
    while running:
        time.sleep(1.0)
        for name, process in list(running.items()):
            if process.poll() is None:
                if time.monotonic() > deadline + 120:  # stuck past libFuzzer's own limits
                    process.kill()
                continue
            left = deadline - time.monotonic()
            if left > 5:  # libFuzzer stopped on a hang or the memory bound: go on with the time left
                restarts[name] += 1
                running[name] = run_target(name, left, work / name)
            else:
                del running[name]
    wall = time.monotonic() - started
    print(f"\n{'target':<10} {'executions':>10} {'exec/s':>7} {'read':>8} {'refused':>8} {'crashes':>8} "
          f"{'distinct':>8} {'hangs':>6} {'memory':>6} {'restarts':>8} {'cov':>6}")
    rows = [summarise(name, work / name, wall) for name in names]
    for row in rows:
        print(f"{row['target']:<10} {row['executions']:>10} {row['per_s']:>7.1f} {row['ok']:>8} "
              f"{row['refused']:>8} {row['crashes']:>8} {row['distinct']:>8} {row['hangs']:>6} "
              f"{row['memory']:>6} {restarts[str(row['target'])]:>8} {row['cov']:>6}")
    for row in rows:
        for signature in row["signatures"]:  # type: ignore[attr-defined]
            print(f"  {row['target']}: {signature}")
    print(f"wall {wall / 60:.1f} min; inputs that broke the contract are in {work}/TARGET/crashes "
          "and libFuzzer's timeout-*/oom-* files")


if __name__ == "__main__":
    main()
