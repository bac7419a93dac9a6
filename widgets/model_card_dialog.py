"""Fill in a model card by hand for a file that has none: name, labels, mean/std, input size, architecture.

It takes and returns plain data (a dict shaped like a card file); the app remembers the answer for
that file, so the question is asked once.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

NORMALISATION_PRESETS: dict[str, tuple[list[float], list[float]]] = {
    "ImageNet (0.485, 0.456, 0.406 / 0.229, 0.224, 0.225)": ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
    "None: the model takes [0, 1] pixels": ([0.0, 0.0, 0.0], [1.0, 1.0, 1.0]),
    "[-1, 1]: mean 0.5, std 0.5": ([0.5, 0.5, 0.5], [0.5, 0.5, 0.5]),
}
NUMBERED = "Numbered: class 0, class 1, ..."
CUSTOM = "Custom: one name per line below"


def _numbers(text: str) -> list[float] | None:
    try:
        values = [float(part) for part in text.replace(";", ",").split(",") if part.strip()]
    except ValueError:
        return None
    return values or None


def _format(values: list[float]) -> str:
    return ", ".join(f"{v:g}" for v in values)


class ModelCardDialog(QDialog):
    """A card editor prefilled with a guess; OK is enabled only when the card is complete and consistent."""

    def __init__(self, file_name: str, suggestion: dict, label_presets: dict[str, list[str]],
                 architectures: list[str] | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(f"Model card for {file_name}")
        self.label_presets = label_presets
        intro = QLabel(f"<b>{file_name}</b> has no model card beside it. Say how to feed it; AdvLens remembers "
                       f"this for the file. (A card file, <i>{file_name.rsplit('.', 1)[0]}.json</i>, does the "
                       f"same for everyone; see the README.)")
        intro.setWordWrap(True)

        self.name = QLineEdit(suggestion.get("name", ""))
        self.name.setToolTip("A short name shown in the title bar and in run records.")
        self.labels_source = QComboBox()
        self.labels_source.addItems([*label_presets, NUMBERED, CUSTOM])
        self.labels_source.setToolTip("Class names in the order of the model's outputs.")
        self.class_count = QSpinBox()
        self.class_count.setRange(1, 100_000)
        self.class_count.setValue(max(1, int(suggestion.get("num_classes") or len(suggestion.get("labels", [])) or 10)))
        self.class_count.setToolTip("How many scores the model outputs (read off the model where possible).")
        self.labels = QPlainTextEdit("\n".join(suggestion.get("labels", [])))
        self.labels.setToolTip("One class name per line, in output order.")
        self.labels.setMaximumHeight(120)
        self.normalisation = QComboBox()
        self.normalisation.addItems([*NORMALISATION_PRESETS, "Custom"])
        self.normalisation.setToolTip("What the model was trained on: (pixel - mean) / std, per channel.")
        self.mean = QLineEdit(_format(suggestion.get("mean", [0.0, 0.0, 0.0])))
        self.std = QLineEdit(_format(suggestion.get("std", [1.0, 1.0, 1.0])))
        self.mean.setToolTip("One number per colour channel, comma separated (one number for a grey model).")
        self.std.setToolTip("One number per colour channel, each above 0.")
        self.input_size = QSpinBox()
        self.input_size.setRange(0, 4096)
        self.input_size.setSpecialValueText("any size")
        self.input_size.setValue(int(suggestion.get("input_size") or 0))
        self.input_size.setToolTip("The exact width = height the model needs, or 'any size' for models with "
                                   "global pooling.")
        self.architecture = QComboBox()
        self.architecture.setEditable(True)
        self.architecture.addItems(architectures or [])
        self.architecture.setCurrentText(suggestion.get("architecture", ""))
        self.architecture.setToolTip("The network these weights belong to: a built-in name or torchvision:NAME.")
        self.needs_architecture = bool(suggestion.get("needs_architecture"))

        form = QFormLayout()
        form.addRow("Name", self.name)
        form.addRow("Labels", self.labels_source)
        form.addRow("Classes", self.class_count)
        form.addRow("", self.labels)
        form.addRow("Normalisation", self.normalisation)
        form.addRow("Mean", self.mean)
        form.addRow("Std", self.std)
        form.addRow("Input size", self.input_size)
        if self.needs_architecture:
            form.addRow("Architecture", self.architecture)
        self.problem = QLabel("")
        self.problem.setObjectName("cardProblem")
        self.problem.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("Load with this card")
        self.buttons.accepted.connect(self._accept_if_valid)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.problem)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(560)

        self._choose_initial_presets(suggestion)
        for signal in (self.name.textChanged, self.mean.textChanged, self.std.textChanged,
                       self.labels.textChanged, self.architecture.currentTextChanged, self.class_count.valueChanged):
            signal.connect(self._validate)
        self.labels_source.currentTextChanged.connect(self._labels_source_changed)
        self.class_count.valueChanged.connect(lambda _n: self._labels_source_changed(self.labels_source.currentText()))
        self.normalisation.currentTextChanged.connect(self._normalisation_changed)
        self._labels_source_changed(self.labels_source.currentText())

    # ------------------------------------------------------------------ presets
    def _choose_initial_presets(self, suggestion: dict) -> None:
        labels = suggestion.get("labels", [])
        preset = next((name for name, names in self.label_presets.items() if names == labels), None)
        if preset is not None:
            self.labels_source.setCurrentText(preset)
        elif labels and all(label == f"class {i}" for i, label in enumerate(labels)):
            self.labels_source.setCurrentText(NUMBERED)
        else:
            self.labels_source.setCurrentText(CUSTOM)
        pair = (suggestion.get("mean"), suggestion.get("std"))
        chosen = next((name for name, values in NORMALISATION_PRESETS.items() if values == pair), "Custom")
        self.normalisation.blockSignals(True)
        self.normalisation.setCurrentText(chosen)
        self.normalisation.blockSignals(False)

    def _labels_source_changed(self, source: str) -> None:
        self.labels.setReadOnly(source != CUSTOM)
        self.class_count.setEnabled(source == NUMBERED)
        if source in self.label_presets:
            self.labels.setPlainText("\n".join(self.label_presets[source]))
        elif source == NUMBERED:
            self.labels.setPlainText("\n".join(f"class {i}" for i in range(self.class_count.value())))
        self._validate()

    def _normalisation_changed(self, name: str) -> None:
        if name in NORMALISATION_PRESETS:
            mean, std = NORMALISATION_PRESETS[name]
            channels = len(_numbers(self.mean.text()) or [0, 0, 0])
            self.mean.setText(_format(mean if channels == 3 else mean[:1] * channels))
            self.std.setText(_format(std if channels == 3 else std[:1] * channels))

    # ------------------------------------------------------------------ result
    def label_list(self) -> list[str]:
        if self.labels_source.currentText() == NUMBERED:
            return [f"class {i}" for i in range(self.class_count.value())]
        return [line.strip() for line in self.labels.toPlainText().splitlines() if line.strip()]

    def problem_text(self) -> str:
        """The first thing missing or inconsistent, in plain words ('' when the card is complete)."""
        mean, std = _numbers(self.mean.text()), _numbers(self.std.text())
        if not self.name.text().strip():
            return "Give the model a name."
        if not self.label_list():
            return "Give at least one class name."
        if mean is None or std is None:
            return "Mean and std must be numbers separated by commas."
        if len(mean) != len(std):
            return f"Mean has {len(mean)} numbers but std has {len(std)}: give one per channel in both."
        if any(v <= 0 for v in std):
            return "Every std value must be above 0."
        if self.needs_architecture and not self.architecture.currentText().strip():
            return "This file holds only weights: name the architecture they belong to."
        return ""

    def _validate(self) -> None:
        problem = self.problem_text()
        self.problem.setText(problem)
        self.ok_button.setEnabled(not problem)

    def _accept_if_valid(self) -> None:
        if not self.problem_text():
            self.accept()

    def card(self) -> dict:
        """The card as plain data, shaped like a card file."""
        data = {
            "name": self.name.text().strip(),
            "labels": self.label_list(),
            "mean": _numbers(self.mean.text()) or [],
            "std": _numbers(self.std.text()) or [],
            "input_size": self.input_size.value() or None,
        }
        if self.needs_architecture:
            data["architecture"] = self.architecture.currentText().strip()
        return data
