"""Which frames are keyframes, and which frames of its shot each keyframe draws on.

Global sampling: a keyframe looks for its clipped content across its whole shot, not only in
its neighbours, because auto exposure drifts slowly and a highlight blown here may have been
metered darker seconds away. Candidates are the keyframe's immediate neighbours (alternating
brackets) and every `stride`-th frame of the shot; the darker a candidate was exposed relative
to the keyframe, the more of the keyframe's clipped range it shows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

_DARKNESS_STEP_EV = 0.5


def shot_keyframes(shot: range, spacing: int) -> list[int]:
    """Every `spacing`-th frame of the shot from its first, plus its last frame.

    Ending on the last frame gives every frame of the shot a keyframe on both sides, so
    propagation never reaches across a cut.
    """
    keys = list(range(shot.start, shot.stop, spacing))
    if keys[-1] != shot.stop - 1:
        keys.append(shot.stop - 1)
    return keys


def bracketing_keyframes(index: int, keyframes: Sequence[int]) -> tuple[int, int]:
    """The nearest keyframes at or before and at or after `index` (sorted `keyframes` of its shot)."""
    before = max(k for k in keyframes if k <= index)
    after = min(k for k in keyframes if k >= index)
    return before, after


def choose_references(
    key: int,
    shot: range,
    stride: int,
    max_references: int,
    log_exposure: Sequence[float],
    min_gain_ev: float = 0.1,
    overlap: Callable[[int, int], float] | None = None,
    min_overlap: float = 0.25,
) -> list[int]:
    """Up to `max_references` frames of `shot` darker than `key` by at least `min_gain_ev`.

    `log_exposure[i]` is frame i's exposure in stops (any common origin within the shot).
    Candidates are key ± 1, key ± 2, the darkest frame of the shot (it reveals the most) and
    the frames key + n · stride. The darkest come first, in
    half-stop steps, and within a step the one that shares most of the keyframe's view
    (`overlap(key, j)` in [0, 1], from the analysed camera motion; nearest in time without it).
    Frames sharing less than `min_overlap` of the view are left out.
    """
    shared = overlap or (lambda a, b: 1.0 - min(1.0, abs(a - b) / max(len(shot), 1)))
    candidates = {key - 2, key - 1, key + 1, key + 2, min(shot, key=lambda j: log_exposure[j])}
    candidates.update(range(shot.start + (key - shot.start) % stride, shot.stop, stride))
    darker = [
        j for j in candidates
        if j in shot and j != key and log_exposure[key] - log_exposure[j] >= min_gain_ev
        and shared(key, j) >= min_overlap
    ]
    darker.sort(
        key=lambda j: (round((log_exposure[j] - log_exposure[key]) / _DARKNESS_STEP_EV), -shared(key, j))
    )
    return sorted(darker[:max_references])

