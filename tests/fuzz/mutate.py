"""Mutations of seed files, driven by a random.Random so hypothesis and atheris can share them.

Byte mutations follow the classic operators of AFL and libFuzzer's MutationDispatcher: flip a
bit, set a byte, write an "interesting" integer (0, -1, the edges of signed and unsigned
widths, 100000 for sizes) in either byte order, insert, delete, duplicate or truncate. JSON
seeds also get structure-aware mutations: a value anywhere in the document is replaced by one
a hostile file would hold (huge or non-finite numbers, paths outside the folder, deep nesting,
long arrays), a key is dropped or an unknown one added; or numbers are only nudged, so that
values the validator accepts reach what lies behind it.
"""

from __future__ import annotations

import copy
import json
import random
import struct
from typing import Any

_INTERESTING = (0, 1, -1, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 100000, 0x7FFFFFFF, 0x80000000,
                0xFFFFFFFF, 1 << 62)
_HOSTILE_JSON: tuple[Any, ...] = (
    None, True, False, 0, -1, 1 << 64, -(1 << 64), 1e308, -1e308, float("nan"), float("inf"),
    float("-inf"), 5e-324, "", "\x00", "../../../etc/passwd", "/etc/passwd", "~/x", "a" * 4096,
    [], {}, [0] * 10000, [[[[[]]]]], {"__class__": "os.system", "args": ["true"]},
)


def mutate_bytes(data: bytes, rng: random.Random, max_size: int) -> bytes:
    """1 to 8 byte-level mutations of `data`, at most `max_size` bytes long."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        op = rng.randrange(8)
        pos = rng.randrange(len(out) + 1)
        if op == 0 and out:
            out[min(pos, len(out) - 1)] ^= 1 << rng.randrange(8)
        elif op == 1 and out:
            out[min(pos, len(out) - 1)] = rng.randrange(256)
        elif op == 2:
            width = rng.choice((1, 2, 4, 8))
            value = rng.choice(_INTERESTING) & ((1 << 8 * width) - 1)
            order = rng.choice(("<", ">"))
            packed = struct.pack(order + {1: "B", 2: "H", 4: "I", 8: "Q"}[width], value)
            out[pos : pos + width] = packed
        elif op == 3:
            out[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
        elif op == 4 and out:
            del out[pos : pos + rng.randint(1, 64)]
        elif op == 5 and out:
            start = rng.randrange(len(out))
            chunk = out[start : start + rng.randint(1, 256)]
            out[pos:pos] = chunk
        elif op == 6:
            del out[pos:]
        elif op == 7 and out:
            # A decimal number in text (a header line, a JSON value) becomes an extreme one.
            out[pos:pos] = rng.choice((b"0", b"-1", b"1e400", b"100000", b"nan", b"99999999999999999999"))
    return bytes(out[:max_size])


def _paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every position in a JSON document down to 32 levels (below that: nesting mutated in), as
    key/index paths."""
    found = [path]
    if len(path) >= 32:
        return found
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*path, index))
    return found


def _hostile(rng: random.Random) -> Any:
    value = copy.deepcopy(rng.choice(_HOSTILE_JSON))  # later mutations edit it in place
    if rng.random() < 0.1:  # nesting deeper than a recursive reader's stack
        for _ in range(rng.choice((100, 5000, 100000))):
            value = [value]
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def nudge_json(data: bytes, rng: random.Random) -> bytes:
    """1 or 2 numbers of a JSON document scaled by 0.5 to 1.5: often still valid, so the values
    behind the validator reach the render."""
    doc = json.loads(data)
    numbers = [p for p in _paths(doc) if p and _is_number(_at(doc, p))]
    for path in rng.sample(numbers, min(len(numbers), rng.randint(1, 2))):
        parent, value = _at(doc, path[:-1]), _at(doc, path)
        nudged = value * rng.uniform(0.5, 1.5)
        parent[path[-1]] = round(nudged) if isinstance(value, int) else nudged
    return json.dumps(doc).encode()


def _at(doc: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        doc = doc[step]
    return doc


def mutate_json(data: bytes, rng: random.Random) -> bytes:
    """1 to 3 structure-aware mutations of a JSON document (bytes mutations if it does not parse)."""
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError):
        return mutate_bytes(data, rng, len(data) * 2 + 64)
    for _ in range(rng.randint(1, 3)):
        path = rng.choice(_paths(doc))
        if not path:
            doc = _hostile(rng) if rng.random() < 0.2 else doc
            continue
        parent, key = _at(doc, path[:-1]), path[-1]
        op = rng.randrange(4)
        value = parent[key]
        if op == 0 and isinstance(parent, dict):
            del parent[key]
        elif op == 1 and isinstance(parent, dict):
            parent[rng.choice(("extra", "__import__", "exec", key + "_"))] = _hostile(rng)
        elif op == 2 and _is_number(value):
            parent[key] = value * rng.choice((-1, 10, 1e6, 1e300)) + rng.choice((0, 0.5, 1))
        else:
            parent[key] = _hostile(rng)
    try:
        return json.dumps(doc).encode()
    except (RecursionError, ValueError):
        # json.dumps nests in C; a document too deep for it is written by hand.
        return b"[" * 100000 + b"]" * 100000
