"""The Analysis tab: choose a set of images and an analysis, watch its plot fill in, cancel at will."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from .analysis_views import GroupedBarsView, HistogramView, LandscapeView, RobustCurveView, TransferTableView
from .banner import BannerArea
from .model_checklist import ModelChecklist
from .side_column import SideColumn
from .task_progress import TaskProgress

ANALYSES = (
    ("sweep", "Robust accuracy vs ε", "Attack every image at each epsilon with the Explorer's attack; plot the "
     "share still classified correctly."),
    ("minimal", "Minimal perturbations", "Find the smallest perturbation that fools each image; show their spread."),
    ("landscape", "Loss landscape", "Loss and class regions on a plane through the current image: the adversarial "
     "direction against a random one."),
    ("noise", "Noise vs attack", "Random noise of exactly the attack's size: how many images does it fool?"),
    ("transfer", "Transfer", "Adversarials made on the Explorer's model and each model checked under Transfer "
     "models, tested on every other."),
    ("frequency", "Frequency bands", "Where the perturbation's energy sits, from fine to coarse, beside the image's."),
)


class AnalysisPanel(QWidget):
    """Controls on the left, one view per analysis on the right."""

    runRequested = Signal(str, dict)
    cancelRequested = Signal()
    folderRequested = Signal()
    transferToggled = Signal(str, bool)  # a transfer model's key, checked
    addModelRequested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        outer = QHBoxLayout(self)
        left_widget = QWidget()
        left = QVBoxLayout(left_widget)
        left.setContentsMargins(0, 0, 0, 0)

        data_box = QGroupBox("Images")
        form = QFormLayout(data_box)
        self.source = QComboBox()
        self.source.addItem("Held-out demo scenes", "demo")
        self.source.addItem("A folder…", "folder")
        self.source.setToolTip("The images the analysis runs over: demo scenes the model never saw, or your folder.")
        form.addRow("Source", self.source)
        self.count = QSpinBox()
        self.count.setRange(1, 5000)
        self.count.setValue(64)
        self.count.setToolTip("How many images (demo scenes) to use; more is slower and steadier.")
        form.addRow("Images", self.count)
        self.folder = QLabel("")
        self.folder.setWordWrap(True)
        form.addRow("Folder", self.folder)
        self.resolution = QComboBox()
        self.resolution.addItems(["16", "24", "32", "48", "64", "96", "128", "256"])
        self.resolution.setCurrentText("32")
        self.resolution.setToolTip("Side length the images are drawn or resampled to.")
        form.addRow("Resolution", self.resolution)
        left.addWidget(data_box)

        settings_box = QGroupBox("Settings")
        sform = QFormLayout(settings_box)
        self.eps_range = QLineEdit("0:16:1/255")
        self.eps_range.setToolTip("Epsilons for the sweep: START:STOP:STEP (0:16:1/255) or a list a,b,c.")
        sform.addRow("ε range", self.eps_range)
        self.minimal_attack = QComboBox()
        for name, title in (("fmn", "FMN"), ("deepfool", "DeepFool"), ("cw", "Carlini-Wagner L2")):
            self.minimal_attack.addItem(title, name)
        self.minimal_attack.setToolTip("The minimal-norm attack for minimal perturbations and the landscape.")
        sform.addRow("Minimal attack", self.minimal_attack)
        self.minimal_norm = QComboBox()
        self.minimal_norm.addItem("L2", "l2")
        self.minimal_norm.addItem("Linf", "linf")
        self.minimal_norm.setToolTip("Norm the minimal perturbation is measured in.")
        sform.addRow("Minimal norm", self.minimal_norm)
        note = QLabel("Fixed-budget analyses use the attack set in the Explorer tab.")
        note.setWordWrap(True)
        sform.addRow(note)
        left.addWidget(settings_box)

        self._transfer_ready = True
        self._busy = False
        self._why_not = ""
        self._transfer_tip = next(tip for kind, _title, tip in ANALYSES if kind == "transfer")

        run_box = QGroupBox("Run")
        rlayout = QVBoxLayout(run_box)
        self.buttons: dict[str, QPushButton] = {}
        for kind, title, tip in ANALYSES:
            button = QPushButton(title)
            button.setToolTip(tip)
            button.clicked.connect(lambda _c=False, k=kind: self.runRequested.emit(k, self.options()))
            rlayout.addWidget(button)
            self.buttons[kind] = button
        self.task = TaskProgress("Stop the analysis after the piece of work under way.")
        self.task.cancelRequested.connect(self.cancelRequested)
        self.cancel = self.task.cancel
        rlayout.addWidget(self.task)
        left.addWidget(run_box)
        left.addStretch(1)
        self.side = SideColumn(left_widget, min_chars=30, max_chars=40)
        outer.addWidget(self.side, 0)

        right = QVBoxLayout()
        outer.addLayout(right, 1)
        self.summary = QLabel("Choose an analysis on the left.")
        self.summary.setObjectName("banner")
        self.summary.setAlignment(Qt.AlignmentFlag.AlignCenter)
        right.addWidget(BannerArea(self.summary, max_lines=3))
        self.views = QTabWidget()
        self.robust_view = RobustCurveView()
        self.histogram_view = HistogramView()
        self.landscape_view = LandscapeView()
        self.noise_view = GroupedBarsView("Share of images fooled", "fooled")
        self.transfer_view = TransferTableView()
        self.transfer_models = ModelChecklist("Compare with")
        self.transfer_models.setToolTip("The models the transfer table compares with the Explorer's model "
                                        "(never the same model twice, nor the Explorer's own).")
        self.transfer_models.toggled.connect(self.transferToggled)
        self.transfer_models.addRequested.connect(self.addModelRequested)
        self.transfer_page = QWidget()  # the chooser sits above the table it fills
        page = QVBoxLayout(self.transfer_page)
        page.setContentsMargins(0, 0, 0, 0)
        page.addWidget(self.transfer_models, 0)
        page.addWidget(self.transfer_view, 1)
        self.frequency_view = GroupedBarsView("Energy by frequency band (finest left)", "share of energy")
        self.view_for = {"sweep": self.robust_view, "minimal": self.histogram_view, "landscape": self.landscape_view,
                         "noise": self.noise_view, "transfer": self.transfer_page, "frequency": self.frequency_view}
        for kind, title, _tip in ANALYSES:
            self.views.addTab(self.view_for[kind], title)
        right.addWidget(self.views, 1)
        self.source.currentIndexChanged.connect(self._on_source)

    def set_transfer_models(self, rows: list[tuple[str, str, str, bool]], ready: bool, why: str = "",
                            attacked: str = "") -> None:
        """The transfer models to choose from (key, text, tooltip, checked) and the model they are compared
        with; `ready`: enough are checked to run (else `why` not)."""
        self.transfer_models.setTitle(f"Compare {attacked} with" if attacked else "Compare with")
        self.transfer_models.set_models(rows)
        self._transfer_ready = ready
        button = self.buttons["transfer"]
        button.setToolTip(self._transfer_tip if ready else f"{why}.")
        if not self._busy:
            button.setEnabled(ready)
        if not ready:
            self.transfer_models.set_note(why)
        elif self.transfer_models.note.text() == self._why_not:
            self.transfer_models.set_note("")
        self._why_not = "" if ready else why

    def _on_source(self, _index: int) -> None:
        if self.source.currentData() == "folder":
            self.folderRequested.emit()
        self.count.setEnabled(self.source.currentData() == "demo")

    def set_folder(self, path: str) -> None:
        self.folder.setText(path)
        if not path:
            self.source.setCurrentIndex(0)

    def options(self) -> dict:
        return {
            "source": self.source.currentData(),
            "count": self.count.value(),
            "folder": self.folder.text(),
            "resolution": int(self.resolution.currentText()),
            "eps_range": self.eps_range.text(),
            "minimal_attack": self.minimal_attack.currentData(),
            "minimal_norm": self.minimal_norm.currentData(),
        }

    def set_options(self, options: dict) -> None:
        """Show saved settings (the keys of `options()`); a folder source shows its folder without asking for
        one, and a folder source without a folder falls back to the demo scenes."""
        folder = str(options.get("folder", self.folder.text()))
        self.folder.setText(folder)
        source = options.get("source", self.source.currentData())
        self.source.blockSignals(True)  # choosing 'A folder…' by hand opens the folder dialog: not here
        self.source.setCurrentIndex(max(0, self.source.findData(source if folder or source != "folder" else "demo")))
        self.source.blockSignals(False)
        self.count.setEnabled(self.source.currentData() == "demo")
        if "count" in options:
            self.count.setValue(int(options["count"]))
        if "resolution" in options:
            self.resolution.setCurrentText(str(int(options["resolution"])))
        if "eps_range" in options:
            self.eps_range.setText(str(options["eps_range"]))
        for combo, key in ((self.minimal_attack, "minimal_attack"), (self.minimal_norm, "minimal_norm")):
            index = combo.findData(options.get(key))
            if index >= 0:
                combo.setCurrentIndex(index)

    def set_busy(self, busy: bool, kind: str = "") -> None:
        self._busy = busy
        for kind_, button in self.buttons.items():
            button.setEnabled(not busy and (kind_ != "transfer" or self._transfer_ready))
        self.task.set_busy(busy)
        if busy and kind in self.view_for:
            self.views.setCurrentWidget(self.view_for[kind])

    def set_progress(self, done: int, total: int, eta: float | None) -> None:
        self.task.set_progress(done, total, eta)
