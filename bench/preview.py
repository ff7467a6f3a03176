"""Preview responsiveness: what a colourist feels when moving a slider or playing cached frames.

Prints, for a 1080p and a 4K frame drawn at 1:1:
1. slider-change-to-frame-on-screen time for a display-only change (view exposure: one
   uniform, an update, the preview window's swap and glFinish), against a peer measured in the
   same process: a plain QPainter blit of the same frame as an 8-bit QImage (no colour work at
   all). Measured at 1:1 in a widget the frame's size (every frame pixel shaded) and fitted into
   a 1280x720 viewer (what the window shows; shader cost follows the widget, not the frame);
2. playback rate of cached 1080p frames (texture upload + draw per frame), and the peer's;
3. a grade slider dragged over a 1080p clip through the session, the preview feed and the
   engine bridge (the default grade, exposure, one edit every 60 ms): time from each edit to
   the first picture that shows it (a proxy of its revision or a newer one; app.preview_feed
   picks the proxy scale), how many edits got a picture of their own, and the time from the
   last edit to the full-resolution frame;
4. the longest event-loop stall (a 5 ms QTimer heartbeat) while the engine bridge renders
   1080p frames on its worker thread.

Goals (issue 16, on llvmpipe): display-only slider <= 20 ms (1080p in 1280x720), <= 40 ms
(1080p 1:1), <= 25 ms (4K in 1280x720); cached 1080p playback >= the clip's 24 fps; a grade
slider to a first picture <= 150 ms; no event-loop stall > 50 ms. Run under a display:
`xvfb-run -a -s "-screen 0 3840x2160x24" .venv/bin/python bench/preview.py [--data DIR]`
(on this team's machines the GL is Mesa llvmpipe, a CPU rasteriser).
The frame is DIR/GoldenGate.exr resized, or without --data a synthetic log ramp.
`--only` runs some parts; the machine's load average is printed with the figures, since on a
shared machine llvmpipe's drawing threads compete with everything else.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "xcb")

import numpy as np
import torch
from OpenGL import GL
from PySide6.QtCore import QElapsedTimer, QEventLoop, QTimer
from PySide6.QtGui import QImage, QPainter, QPaintEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget

from app.viewer.gl_format import install_default_surface_format

SIZES = {"1080p": (1920, 1080), "4K": (3840, 2160)}
WINDOW_VIEWER = (1280, 720)
STILL_NAME = "GoldenGate.exr"
CLIP_FPS = 24.0
SLIDER_GOALS_MS = {("1080p", True): 40.0, ("1080p", False): 20.0, ("4K", True): 40.0, ("4K", False): 25.0}


def test_frame(width: int, height: int, still: Path | None) -> torch.Tensor:
    """(3, H, W) cd/m²: the HDR still resized when there is one, else a log ramp."""
    if still is not None:
        import cv2
        import OpenEXR

        with OpenEXR.File(str(still)) as exr:
            rgb = np.asarray(exr.channels()["RGB"].pixels, dtype=np.float32)
        rgb = cv2.resize(np.clip(rgb, 0, None), (width, height), interpolation=cv2.INTER_LINEAR)
        return torch.from_numpy(rgb).permute(2, 0, 1).contiguous() * 100.0  # 1.0 = 100 cd/m²
    x = torch.linspace(-2, 4, width).exp2().view(1, 1, width) * 10.0
    return x.expand(3, height, width).contiguous()


def to_qimage(signal: np.ndarray) -> QImage:
    """(H, W, 3) float in [0, 1] -> an 8-bit RGB QImage (the peer draws it as is)."""
    data = np.ascontiguousarray((np.clip(signal, 0, 1) * 255).astype(np.uint8))
    height, width = data.shape[:2]
    image = QImage(data.data, width, height, width * 3, QImage.Format.Format_RGB888)
    return image.copy()  # own the pixels


class BlitPeer(QWidget):
    """The simplest way to show a frame in Qt: QPainter.drawImage of a prepared QImage."""

    def __init__(self, image: QImage) -> None:
        super().__init__()
        self.image = image

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.drawImage(0, 0, self.image)
        painter.end()


def median_ms(action: Callable[[], None], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        times.append((time.perf_counter() - start) * 1000.0)
    return statistics.median(times)


def swapped(app: QApplication, viewer: object) -> None:
    """update() the preview and return once its frame was swapped and GL has finished."""
    presented = viewer.frames_presented  # type: ignore[attr-defined]
    viewer.update()  # type: ignore[attr-defined]
    while viewer.frames_presented == presented:  # type: ignore[attr-defined]
        # Blocking, not spinning: PySide6 6.12 drops a reference to None on every call of a
        # void method (processEvents included), so a busy loop soon aborts Python (none_dealloc).
        app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents)
    finish_gl(viewer)


def finish_gl(viewer: object) -> None:
    viewer.makeCurrent()  # type: ignore[attr-defined]
    GL.glFinish()
    viewer.doneCurrent()  # type: ignore[attr-defined]


def shown(widget: QWidget, size: tuple[int, int]) -> None:
    widget.resize(*size)
    widget.show()
    if not QTest.qWaitForWindowExposed(widget):
        raise RuntimeError("the benchmark window was never exposed; is there a display?")


def slider_to_frame(
    app: QApplication, label: str, size: tuple[int, int], viewer_size: tuple[int, int] | None, repeats: int,
    still: Path | None,
) -> None:
    from app.viewer.preview_widget import PreviewWidget
    from app.viewer.view_state import CompareMode, ViewSettings
    from app.worker import to_half_image
    from engine.display import pq_view
    from engine.processor.glsl import preview_display

    width, height = size
    frame = test_frame(width, height, still)
    display = pq_view(1000.0)
    viewer = PreviewWidget()
    viewer.set_settings(ViewSettings(compare=CompareMode.B))
    if viewer_size is None:
        viewer.one_to_one()
    viewer.set_display_transform(preview_display(display), 1000.0)
    viewer.set_frames(None, to_half_image(frame))
    shown(viewer, viewer_size or size)
    viewer.repaint()
    finish_gl(viewer)

    exposures = iter(np.tile([0.0, 0.5], repeats + 1))

    def change() -> None:
        viewer.set_settings(viewer.settings.replace(exposure=float(next(exposures))))
        swapped(app, viewer)

    ours = median_ms(change, repeats)
    signal = display.apply(frame).permute(1, 2, 0).numpy()
    if viewer_size is not None:
        import cv2

        signal = cv2.resize(signal, viewer_size, interpolation=cv2.INTER_AREA)
    peer = BlitPeer(to_qimage(signal))
    shown(peer, viewer_size or size)
    theirs = median_ms(peer.repaint, repeats)
    where = "1:1" if viewer_size is None else f"fit {viewer_size[0]}x{viewer_size[1]}"
    goal = SLIDER_GOALS_MS[(label, viewer_size is None)]
    print(f"slider-to-frame {label:>5} {where:>13}: {ours:8.2f} ms (goal <= {goal:g})  |  QPainter blit peer "
          f"{theirs:7.2f} ms  |  ratio ours/peer {ours / theirs:6.2f}")
    viewer.close()
    peer.close()


def playback(app: QApplication, frames: int, viewer_size: tuple[int, int] | None,
             still: Path | None) -> None:
    from app.viewer.preview_widget import PreviewWidget
    from app.viewer.view_state import CompareMode, ViewSettings
    from app.worker import to_half_image
    from engine.display import pq_view
    from engine.processor.glsl import preview_display

    width, height = SIZES["1080p"]
    base = test_frame(width, height, still)
    cached = [to_half_image(base * (1.0 + 0.01 * i)) for i in range(8)]
    viewer = PreviewWidget()
    viewer.set_settings(ViewSettings(compare=CompareMode.B))
    if viewer_size is None:
        viewer.one_to_one()
    viewer.set_display_transform(preview_display(pq_view(1000.0)), 1000.0)
    viewer.set_frames(None, cached[0])
    shown(viewer, viewer_size or (width, height))
    viewer.repaint()
    finish_gl(viewer)
    start = time.perf_counter()
    for i in range(frames):
        viewer.set_frames(None, cached[i % len(cached)])
        swapped(app, viewer)
    ours = frames / (time.perf_counter() - start)
    images = [to_qimage(np.clip(f.astype(np.float32) / 1000.0, 0, 1)) for f in cached]
    peer = BlitPeer(images[0])
    shown(peer, viewer_size or (width, height))
    start = time.perf_counter()
    for i in range(frames):
        peer.image = images[i % len(images)]
        peer.repaint()
    theirs = frames / (time.perf_counter() - start)
    where = "1:1" if viewer_size is None else f"fit {viewer_size[0]}x{viewer_size[1]}"
    print(f"playback 1080p cached {where:>13}: {ours:6.1f} fps (goal >= {CLIP_FPS:g})  |  QPainter blit peer "
          f"{theirs:6.1f} fps  |  ratio ours/peer {ours / theirs:5.2f}")
    viewer.close()
    peer.close()


def make_clip(folder: Path, frames: int) -> Path:
    """A 1080p24 BT.709 H.264 test clip (ffmpeg's testsrc2)."""
    path = folder / "clip1080.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=24",
         "-frames:v", str(frames), "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
         "-color_trc", "bt709", "-color_primaries", "bt709", "-colorspace", "bt709", str(path)],
        check=True,
    )
    return path


def grade_slider(app: QApplication, edits: int) -> None:
    from app.panels.timeline import Timeline
    from app.preview_feed import PreviewFeed
    from app.session import Session
    from app.viewer.preview_widget import PreviewWidget
    from app.worker import FrameResult

    with tempfile.TemporaryDirectory() as folder:
        session = Session()
        viewer = PreviewWidget()
        shown(viewer, WINDOW_VIEWER)
        feed = PreviewFeed(session, viewer, Timeline(session))
        session.open_clip(make_clip(Path(folder), 4))
        arrivals: list[tuple[int, bool, float]] = []
        shown_results: list[FrameResult] = []
        feed.frame_shown.connect(lambda r: (arrivals.append((r.revision, r.is_proxy, time.perf_counter())),
                                            shown_results.append(r)))
        while not arrivals:
            _spin(app, 0.005)
        _spin(app, 0.5)  # the first paint compiles the shader: not part of a slider move
        gaps, beat = _heartbeat()
        edited: dict[int, float] = {}
        for k in range(edits):
            session.propose_grade(session.grade.replace(exposure=0.1 * (k + 1)), "exposure")
            edited[session.revision] = time.perf_counter()
            _spin(app, 0.06)
        last = session.revision
        while not any(rev == last and not proxy for rev, proxy, _ in arrivals):
            _spin(app, 0.005)
        beat.stop()
        own = {rev for rev, _, _ in arrivals}
        # An edit's picture: the first one shown that includes it (its revision or a newer one).
        latencies = [(next(t for r, _, t in arrivals if r >= rev and t >= at) - at) * 1000.0
                     for rev, at in edited.items()]
        full = next(at for rev, proxy, at in arrivals if rev == last and not proxy)
        scales = sorted({round(r.scale, 4) for r in shown_results if r.is_proxy})
        feed.shutdown()
        session.close()
        viewer.close()
    print(f"grade slider 1080p in fit {WINDOW_VIEWER[0]}x{WINDOW_VIEWER[1]}: edit to a picture showing it, "
          f"median {statistics.median(latencies):6.1f} ms, worst {max(latencies):6.1f} ms (goal <= 150; "
          f"{len(own & set(edited))}/{edits} edits got a picture of their own, proxy scales {scales}); "
          f"full resolution {(full - edited[last]) * 1000.0:6.1f} ms after the last edit; longest stall "
          f"{max(gaps[1:]):5.1f} ms (goal <= 50)")


def _heartbeat() -> tuple[list[float], QTimer]:
    """A 5 ms QTimer recording the gaps between its ticks: the event loop's stalls."""
    clock = QElapsedTimer()
    gaps: list[float] = []
    last = [0.0]

    def beat() -> None:
        now = clock.nsecsElapsed() / 1e6
        gaps.append(now - last[0])
        last[0] = now

    heartbeat = QTimer()
    heartbeat.setInterval(5)
    heartbeat.timeout.connect(beat)
    clock.start()
    heartbeat.start()
    return gaps, heartbeat


def _spin(app: QApplication, seconds: float) -> None:
    """Run the event loop for `seconds`: one exec(), not a processEvents() loop (PySide6 6.12
    drops a reference to None on each call of a void method; a long busy loop aborts Python)."""
    loop = QEventLoop()
    QTimer.singleShot(max(1, round(seconds * 1000.0)), loop.quit)
    loop.exec()


def engine_stall(app: QApplication, frames: int) -> None:
    from app.worker import EngineBridge
    from engine.grade import Grade
    from engine.io.open import open_clip

    with tempfile.TemporaryDirectory() as folder:
        clip = open_clip(make_clip(Path(folder), frames))
        bridge = EngineBridge()
        bridge.set_clip(clip, Grade(), revision=1)
        done: list[int] = []
        bridge.frame_ready.connect(lambda r: done.append(r.index))
        gaps, heartbeat = _heartbeat()
        start = time.perf_counter()
        bridge.request(0, range(1, frames))
        while len(done) < frames and time.perf_counter() - start < 300:
            _spin(app, 0.02)
        elapsed = time.perf_counter() - start
        heartbeat.stop()
        bridge.shutdown()
        clip.close()
    print(f"engine renders {len(done)} 1080p frames in {elapsed:5.2f} s ({len(done) / elapsed:5.2f} fps); "
          f"longest event-loop stall {max(gaps[1:]):6.1f} ms (goal <= 50), heartbeat 5 ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--frames", type=int, default=48)
    parser.add_argument("--edits", type=int, default=10, help="grade slider edits, 60 ms apart")
    parser.add_argument("--only", choices=("slider", "playback", "grade", "stall"), action="append",
                        help="run only these parts (repeatable; default all)")
    parser.add_argument("--data", type=Path,
                        help=f"a folder of HDR stills holding {STILL_NAME} (default: a synthetic log ramp)")
    args = parser.parse_args()
    still = args.data / STILL_NAME if args.data else None
    if still is not None and not still.is_file():
        parser.error(f"--data {args.data}: no {STILL_NAME} there (the team's is in ../shared/data/hdr)")
    install_default_surface_format()
    app = QApplication(sys.argv[:1])
    renderer = _gl_renderer(app)
    print(f"OpenGL renderer: {renderer}; torch device for the engine: "
          f"{'cuda' if torch.cuda.is_available() else 'cpu'}; load average {os.getloadavg()[0]:.2f}")
    parts = set(args.only or ("slider", "playback", "grade", "stall"))
    if "slider" in parts:
        for label, size in SIZES.items():
            for viewer_size in (None, WINDOW_VIEWER):
                slider_to_frame(app, label, size, viewer_size, args.repeats, still)
    if "playback" in parts:
        for viewer_size in (None, WINDOW_VIEWER):
            playback(app, args.frames, viewer_size, still)
    if "grade" in parts:
        grade_slider(app, args.edits)
    if "stall" in parts:
        engine_stall(app, min(args.frames, 12))
    print(f"load average at the end {os.getloadavg()[0]:.2f}")
    return 0


def _gl_renderer(app: QApplication) -> str:
    from app.viewer.preview_widget import PreviewWidget

    probe = PreviewWidget()
    probe.show()
    app.processEvents()
    probe.makeCurrent()
    name = GL.glGetString(GL.GL_RENDERER).decode()
    probe.doneCurrent()
    probe.close()
    return name


if __name__ == "__main__":
    sys.exit(main())
