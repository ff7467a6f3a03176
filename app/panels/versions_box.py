"""The compare's versions: save the current grade as a version, choose what A and B show.

Resolve's "gallery stills" in small: a version is a named Grade kept in the session and the
project (app.versions); each compare side shows the source, the current grade or a version.
The box shows the session's versions and sides and proposes edits to the session.
"""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QFormLayout, QGroupBox, QHBoxLayout, QLineEdit, QPushButton, QWidget

from app.session import Session
from app.versions import CURRENT, SOURCE, CompareSides, next_version_name, side_label


class VersionsBox(QGroupBox):
    """A and B side pickers, a name field and Save / Delete buttons."""

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__("Compare versions", parent)
        self.session = session
        form = QFormLayout(self)
        self.side_a, self.side_b = QComboBox(), QComboBox()
        self.name = QLineEdit()
        self.name.setPlaceholderText("name of the new version")
        self.save = QPushButton("Save current grade")
        self.delete = QPushButton("Delete")
        buttons = QHBoxLayout()
        buttons.addWidget(self.save)
        buttons.addWidget(self.delete)
        form.addRow("A shows", self.side_a)
        form.addRow("B shows", self.side_b)
        form.addRow("Version", self.name)
        form.addRow(buttons)
        self.save.clicked.connect(self.save_version)
        self.delete.clicked.connect(self._delete_version)
        for combo in (self.side_a, self.side_b):
            combo.currentIndexChanged.connect(self._sides_picked)
        session.versions_changed.connect(self._refresh)
        session.sides_changed.connect(lambda _sides: self._refresh())
        self._refresh()

    def save_version(self) -> None:
        """Save the current Grade under the typed name, or 'Version N'."""
        name = self.name.text().strip() or next_version_name(self.session.versions)
        self.session.save_version(name)
        self.name.clear()

    def _delete_version(self) -> None:
        """Delete the version named in the field, or else the one B shows."""
        name = self.name.text().strip() or self.session.sides.b
        if name not in (SOURCE, CURRENT):
            self.session.delete_version(name)

    def _refresh(self) -> None:
        choices = [SOURCE, CURRENT, *(v.name for v in self.session.versions)]
        for combo, side in ((self.side_a, self.session.sides.a), (self.side_b, self.session.sides.b)):
            combo.blockSignals(True)
            combo.clear()
            for choice in choices:
                combo.addItem(side_label(choice), choice)
            combo.setCurrentIndex(choices.index(side))
            combo.blockSignals(False)
        self.delete.setEnabled(bool(self.session.versions))

    def _sides_picked(self) -> None:
        self.session.set_sides(CompareSides(self.side_a.currentData(), self.side_b.currentData()))
