"""The GUI entry point: `lumigrade` with no arguments, and `lumigrade open FILE`."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtWidgets import QApplication

from app.viewer.gl_format import install_default_surface_format


def run_gui(path: Path | None) -> int:
    """Open the window on `path` (a clip or a .lumigrade project), or on the demo clip."""
    install_default_surface_format()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setOrganizationName("Lumigrade")
    app.setApplicationName("Lumigrade")
    # Imported after the surface format is set: the window module pulls in the GL widget.
    from app.main_window import DEMO_CLIP, MainWindow

    window = MainWindow()
    window.show()
    # After a crash the autosaved session comes first; declined, the window opens as asked.
    if not window.autosave.offer_restore(lambda question: window.actions.ask("Restore session", question)):
        window.actions.open_path(path if path is not None else DEMO_CLIP)
    return int(app.exec())
