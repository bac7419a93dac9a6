"""The one way to open a model file that can run code: a warning that names the risk and an explicit tick."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QDialog, QDialogButtonBox, QLabel, QStyle, QVBoxLayout, QWidget

TRUST_TEXT = "I trust this file: I know where it came from, and I accept that opening it can run code on this computer"


class TrustFileDialog(QDialog):
    """Load stays disabled until the person ticks the box; Cancel (the default) leaves the file unopened."""

    def __init__(self, file_name: str, reason: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("This model file can run code")
        self.setWindowModality(Qt.WindowModality.WindowModal)
        icon = QLabel()
        icon.setPixmap(self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning).pixmap(40, 40))
        headline = QLabel(f"<b>{file_name}</b> was not opened.")
        self.reason = QLabel(reason)
        self.reason.setWordWrap(True)
        self.reason.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        advice = QLabel("A full Python pickle (or an archive with one inside) is a program, not just numbers: "
                        "opening it runs whatever its author wrote, with your permissions. Safer formats "
                        "(safetensors, TorchScript, ONNX, a weights-only state dict) need no trust.")
        advice.setWordWrap(True)
        self.checkbox = QCheckBox(TRUST_TEXT)
        self.checkbox.setToolTip("Only for files from a source you trust: this choice lasts for this file "
                                 "until AdvLens closes or the file changes.")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.load_button = self.buttons.addButton("Load this file", QDialogButtonBox.ButtonRole.AcceptRole)
        self.load_button.setEnabled(False)
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setDefault(True)
        self.checkbox.toggled.connect(self.load_button.setEnabled)
        self.buttons.accepted.connect(self._accept_if_ticked)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        for widget in (icon, headline, self.reason, advice, self.checkbox, self.buttons):
            layout.addWidget(widget)
        self.setMinimumWidth(520)

    def _accept_if_ticked(self) -> None:
        if self.checkbox.isChecked():
            self.accept()
