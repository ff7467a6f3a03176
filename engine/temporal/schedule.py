"""Which frames are keyframes, and which frames of its shot each keyframe draws on.

Global sampling: a keyframe looks for its clipped content across its whole shot, not only in
its neighbours, because auto exposure drifts slowly and a highlight blown here may have been
metered darker seconds away. Candidates are the keyframe's immediate neighbours (alternating
brackets) and every `stride`-th frame of the shot. A candidate is worth what it reveals: the
keyframe's clipped pixels that it shows, through the analysed camera motion, below its own clip
level. A darker frame reveals more of the clipped range, but only where its view and the
keyframe's overlap, which a push or a pan changes from frame to frame.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import Tensor

_DARKNESS_STEP_EV = 0.5
# Two views of a clipped pixel: their mean halves the noise, and one covers the other's
# alignment failures.
_VIEWS_PER_PIXEL = 2
# A pixel no reference shows falls back to the single-frame operator, however few they are; a
# second view only refines one, which is worth a reference's cost when it covers this share.
_MIN_EXTRA_VIEW_SHARE = 0.005


def shot_keyframes(shot: range, spacing: int) -> list[int]:
    """Every `spacing`-th frame of the shot from its first, plus its last frame.

    Ending on the last frame gives every frame of the shot a keyframe on both sides, so
    propagation never reaches across a cut.
    """
    keys = list(range(shot.start, shot.stop, spacing))
    if keys[-1] != shot.stop - 1:
        keys.append(shot.stop - 1)
    return keys


def neighbour_keyframes(index: int, keyframes: Sequence[int]) -> tuple[int | None, int | None]:
    """The nearest of sorted `keyframes` strictly before and strictly after `index`; None
    where there is none. A frame propagates from both, a keyframe serves the frames up to
    them, and the learned refinement reads them."""
    before = [k for k in keyframes if k < index]
    after = [k for k in keyframes if k > index]
    return (before[-1] if before else None), (after[0] if after else None)


def reference_candidates(
    key: int, shot: range, stride: int, log_exposure: Sequence[float], min_gain_ev: float = 0.1
) -> list[int]:
    """Frames of `shot` that may serve `key` as references, the most promising first.

    `log_exposure[i]` is frame i's exposure in stops (any common origin within the shot).
    Candidates are key ± 1, key ± 2, the darkest frame of the shot (it reveals the most) and
    the frames key + n · stride, if darker than `key` by at least `min_gain_ev`; the darkest
    come first, in half-stop steps, and within a step the nearest in time.
    """
    candidates = {key - 2, key - 1, key + 1, key + 2, min(shot, key=lambda j: log_exposure[j])}
    candidates.update(range(shot.start + (key - shot.start) % stride, shot.stop, stride))
    darker = [j for j in candidates if j in shot and log_exposure[key] - log_exposure[j] >= min_gain_ev]
    return sorted(
        (j for j in darker if j != key),
        key=lambda j: (round((log_exposure[j] - log_exposure[key]) / _DARKNESS_STEP_EV), abs(j - key)),
    )


def choose_references(
    candidates: Sequence[int], max_references: int, reveals: Mapping[int, Tensor] | None = None
) -> list[int]:
    """Up to `max_references` of `candidates` (ordered as reference_candidates orders them).

    `reveals[j]` is a boolean (N,) over the keyframe's clipped pixels (at analysis resolution)
    telling which of them frame j shows unclipped. The references are then picked greedily as
    a set cover, first views before second ones: each next one reveals the most pixels that no
    reference picked so far reveals, ties to the earlier candidate; once no candidate adds a
    first view, the most pixels with fewer than `_VIEWS_PER_PIXEL` views, if they make up
    `_MIN_EXTRA_VIEW_SHARE` of the clipped pixels. Picking stops when no candidate qualifies.
    Without `reveals`, the first `max_references` candidates are taken.

    A push reveals its keyframe's highlights in slices, each later (darker, narrower) frame a
    few more; counting second views alongside first ones spent the budget on second views of
    the slices already found (bench: city/push +1.7 dB). A frame can be almost wholly
    unrecoverable, with a few highlights other frames see: no share of the clipped pixels is
    too small to get a first view, since the metric, like the viewer, weighs each frame alike.
    """
    if reveals is None:
        return sorted(candidates[:max_references])
    left = [j for j in candidates if j in reveals]
    if not left:
        return []
    views = torch.zeros(reveals[left[0]].numel(), dtype=torch.int64)
    chosen: list[int] = []
    while left and len(chosen) < max_references:
        best = _best_cover(left, reveals, views)
        if best is None:
            break
        j = left.pop(best)
        views += reveals[j].to(torch.int64)
        chosen.append(j)
    return sorted(chosen)


def _best_cover(left: Sequence[int], reveals: Mapping[int, Tensor], views: Tensor) -> int | None:
    """Index in `left` of the candidate adding the most first views, else the most further
    views if they reach `_MIN_EXTRA_VIEW_SHARE` of the pixels; None when none does."""
    for level in range(_VIEWS_PER_PIXEL):
        wanted = views <= level
        gains = [int((reveals[j] & wanted).sum()) for j in left]
        best = max(range(len(left)), key=lambda n: (gains[n], -n))
        if gains[best] >= (1 if level == 0 else _MIN_EXTRA_VIEW_SHARE * views.numel()):
            return best
    return None
