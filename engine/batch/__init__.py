"""Render queues: many clips and long clips, chunked across local processes or a Ray cluster.

plan (jobs, deliverables, chunks), tasks (what a worker runs), executors (local pool, Ray),
join (chunks back into one deliverable), state (the resumable state file), run (the runner).
docs/batch.md describes the queue and how it scales out.
"""
