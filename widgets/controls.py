"""The attack control panel: every setting of a run, each with a one-sentence tooltip.

Plain Python values in and out (`config()` / `set_config()`), so the panel knows nothing of the
engine; the app supplies the attack catalogue and class names as data.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

RESOLUTIONS = (16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512)
FILTERS = ("area", "bilinear", "bicubic", "lanczos", "nearest")
FITS = ("auto", "crop", "squash", "pad")
PRECISIONS = ("fp32", "bf16", "fp16")  # as engine/config.py (widgets import no engine)
# Epsilon units per norm: Linf in 1/255 grey levels (what people think in), L2 and L1 in pixel units.
EPS_UNITS = {"linf": 1 / 255, "l2": 1.0, "l1": 1.0}
EPS_RANGE = {"linf": (0.0, 64.0, 0.5, 2), "l2": (0.0, 20.0, 0.05, 3), "l1": (0.0, 500.0, 1.0, 1)}
# The ε slider: positions map to ε on a square law, so the small budgets demos use get most of the travel
# (Linf: 8/255 sits at 35% of the way, and a step of one position near it moves ε by about 0.5/255).
SLIDER_POSITIONS = 200
SLIDER_PAGE = 10
CAVEAT_COLOUR = "#c0392b"  # the banner's failure red: a caveat that voids every prediction


class AttackControls(QWidget):
    """Model, image resolution and attack settings; emits `changed` whenever any of them moves."""

    changed = Signal()
    modelChosen = Signal(str)
    openModelRequested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._attacks: dict[str, dict] = {}
        self._updating = False
        # each attack keeps the steps last used with it; one never used starts at its own default
        # (a minimal-norm search needs more than PGD's 20 steps)
        self._steps_by_attack: dict[str, int] = {}
        self._attack_shown: str | None = None
        outer = QVBoxLayout(self)
        outer.setContentsMargins(6, 6, 6, 6)

        model_box = QGroupBox("Model")
        model_form = QFormLayout(model_box)
        row = QHBoxLayout()
        self.model = QComboBox()
        self.model.setToolTip("The classifier under attack: a bundled model or one you opened.")
        self.open_model = QPushButton("Open…")
        self.open_model.setToolTip("Open a model file (safetensors weights with a JSON model card).")
        row.addWidget(self.model, 1)
        row.addWidget(self.open_model)
        model_form.addRow(row)
        # what makes this model's predictions meaningless (random weights, constant outputs), in full:
        # the box itself may elide the same words at the end of a long name
        self.model_caveat = QLabel()
        self.model_caveat.setWordWrap(True)
        self.model_caveat.setStyleSheet(f"color: {CAVEAT_COLOUR}; font-weight: bold;")
        self.model_caveat.setToolTip("The model's loader says so (advlens models / the model card).")
        self.model_caveat.setVisible(False)
        model_form.addRow(self.model_caveat)
        self.device = QComboBox()
        self.device.setToolTip("Where the attack computes: a GPU if you have one, else the CPU.")
        model_form.addRow("Device", self.device)
        self.fast = QCheckBox("Fast step")
        self.fast.setToolTip("Compile the attack step once and replay it (PGD, BIM, FGSM): for one image on a GPU. "
                             "The first run compiles for about 30 s; on a CPU it is no faster.")
        model_form.addRow(self.fast)
        self.precision = QComboBox()
        self.precision.addItems(list(PRECISIONS))
        self.precision.setToolTip("The model's arithmetic: bf16/fp16 autocast speeds up batches on a GPU and can "
                                  "change which images are fooled; fp32 is exact.")
        model_form.addRow("Precision", self.precision)
        self.channels_last = QCheckBox("Channels last")
        self.channels_last.setToolTip("NHWC memory layout for the model and images: faster for batches on a GPU.")
        model_form.addRow(self.channels_last)
        outer.addWidget(model_box)

        image_box = QGroupBox("Image")
        image_form = QFormLayout(image_box)
        self.resolution = QComboBox()
        self.resolution.addItems([str(r) for r in RESOLUTIONS] + ["native"])
        self.resolution.setToolTip("Side length in pixels the image is drawn or resampled to before the attack.")
        image_form.addRow("Resolution", self.resolution)
        self.filter = QComboBox()
        self.filter.addItems(FILTERS)
        self.filter.setToolTip("How a photo is resampled: 'area' averages pixels, the honest way to lower resolution.")
        image_form.addRow("Resample", self.filter)
        self.fit = QComboBox()
        self.fit.addItems(FITS)
        self.fit.setToolTip("How a photo meets a model's fixed input size: crop (resize, then cut the centre), "
                            "squash or pad; auto crops where the model's own preprocessing does.")
        image_form.addRow("Fit", self.fit)
        outer.addWidget(image_box)

        attack_box = QGroupBox("Attack")
        form = QFormLayout(attack_box)
        self.attack = QComboBox()
        self.attack.setToolTip("The attack method; hover an entry for what it does.")
        form.addRow("Method", self.attack)
        self.norm = QComboBox()
        self.norm.setToolTip("How perturbation size is measured: Linf bounds every pixel, L2 the total energy.")
        form.addRow("Norm", self.norm)
        eps_row = QHBoxLayout()
        self.eps_slider = QSlider(Qt.Orientation.Horizontal)
        self.eps_slider.setRange(0, SLIDER_POSITIONS)
        self.eps_slider.setSingleStep(1)
        self.eps_slider.setPageStep(SLIDER_PAGE)
        self.eps_slider.setToolTip("Perturbation budget epsilon: how far each image may be changed.")
        self.eps = QDoubleSpinBox()
        self.eps.setToolTip("Perturbation budget epsilon (Linf in 1/255 grey levels, L2 in [0,1] pixel units).")
        self.eps.setKeyboardTracking(False)
        eps_row.addWidget(self.eps_slider, 1)
        eps_row.addWidget(self.eps)
        self.eps_label_text = "ε (/255)"
        form.addRow(self.eps_label_text, eps_row)
        self._eps_row_label = form.labelForField(eps_row)
        self.step_size = QDoubleSpinBox()
        self.step_size.setSpecialValueText("auto")
        self.step_size.setToolTip("Size of each gradient step, in the same units as epsilon; 'auto' is 2.5·ε/steps.")
        self.step_size.setKeyboardTracking(False)
        form.addRow("Step size", self.step_size)
        self.steps = QSpinBox()
        self.steps.setRange(1, 100_000)
        self.steps.setValue(20)
        self.steps.setToolTip("How many iterations the attack runs.")
        self.steps.setKeyboardTracking(False)
        form.addRow("Steps", self.steps)
        self.random_start = QCheckBox("Random start")
        self.random_start.setChecked(True)
        self.random_start.setToolTip("Start from a random point inside the budget instead of the image itself.")
        form.addRow(self.random_start)
        self.early_stop = QCheckBox("Stop when fooled")
        self.early_stop.setToolTip("Stop changing the image as soon as the model is fooled.")
        form.addRow(self.early_stop)
        target_row = QHBoxLayout()
        self.targeted = QCheckBox("Targeted")
        self.targeted.setToolTip("Aim for one chosen class instead of any wrong class.")
        self.target = QComboBox()
        self.target.setToolTip("The class the targeted attack tries to make the model predict.")
        self.target.setEnabled(False)
        target_row.addWidget(self.targeted)
        target_row.addWidget(self.target, 1)
        form.addRow(target_row)
        self.restarts = QSpinBox()
        self.restarts.setRange(1, 100)
        self.restarts.setToolTip("Run the attack this many times from new random starts and keep the best result.")
        self.restarts.setKeyboardTracking(False)
        form.addRow("Restarts", self.restarts)
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.seed.setToolTip("Random seed: the same seed and settings give the same run again.")
        self.seed.setKeyboardTracking(False)
        form.addRow("Seed", self.seed)
        outer.addWidget(attack_box)
        self.params_box = QGroupBox("Method settings")
        self.params_form = QFormLayout(self.params_box)
        self.param_widgets: dict[str, QDoubleSpinBox | QSpinBox] = {}
        outer.addWidget(self.params_box)
        outer.addStretch(1)

        self.attack.currentIndexChanged.connect(self._on_attack_changed)
        self.norm.currentIndexChanged.connect(self._on_norm_changed)
        self.eps_slider.valueChanged.connect(self._on_slider)
        self.eps.valueChanged.connect(self._on_eps_spin)
        self.targeted.toggled.connect(self.target.setEnabled)
        self.model.activated.connect(lambda _i: self.modelChosen.emit(self.model.currentData()))
        self.open_model.clicked.connect(self.openModelRequested)
        for signal in (self.step_size.valueChanged, self.steps.valueChanged, self.random_start.toggled,
                       self.early_stop.toggled, self.targeted.toggled, self.target.currentIndexChanged,
                       self.seed.valueChanged, self.restarts.valueChanged, self.resolution.currentIndexChanged,
                       self.filter.currentIndexChanged, self.fit.currentIndexChanged, self.device.currentIndexChanged, self.fast.toggled,
                       self.precision.currentIndexChanged, self.channels_last.toggled):
            signal.connect(self._emit_changed)
        self._set_eps_range("linf")

    # --- data in
    def set_attacks(self, attacks: list[dict]) -> None:
        """Catalogue entries: name, title, description, norms, uses_steps, uses_step_size, uses_random_start."""
        self._attacks = {a["name"]: a for a in attacks}
        self._updating = True
        self.attack.clear()
        for i, a in enumerate(attacks):
            self.attack.addItem(a["title"], a["name"])
            self.attack.setItemData(i, a["description"], Qt.ItemDataRole.ToolTipRole)
        self._updating = False
        self._on_attack_changed()

    def set_models(self, models: list[tuple[str, str]], current: str, caveat: str = "") -> None:
        """The model box's entries (key, title) with `current` chosen; `caveat` ('random weights', ...) is
        shown under the box while it applies to the chosen model."""
        self.model_caveat.setText(f"⚠ {caveat}: its predictions mean nothing" if caveat else "")
        self.model_caveat.setVisible(bool(caveat))
        self.model.blockSignals(True)
        self.model.clear()
        for key, title in models:
            self.model.addItem(title, key)
        index = self.model.findData(current)
        self.model.setCurrentIndex(max(index, 0))
        self.model.blockSignals(False)

    def set_devices(self, devices: list[str], current: str) -> None:
        self.device.blockSignals(True)
        self.device.clear()
        self.device.addItems(devices)
        self.device.setCurrentText(current)
        self.device.blockSignals(False)

    def set_classes(self, labels: list[str]) -> None:
        current = self.target.currentIndex()
        self.target.blockSignals(True)
        self.target.clear()
        for i, name in enumerate(labels):
            self.target.addItem(f"{i}: {name}", i)
        self.target.setCurrentIndex(current if 0 <= current < len(labels) else 0)
        self.target.blockSignals(False)

    def forget_steps(self) -> None:
        """Every attack starts at its own default steps again (Settings ▸ Reset settings)."""
        self._steps_by_attack.clear()

    # --- values out
    def current_spec(self) -> dict:
        """The catalogue entry of the chosen attack ({} before the catalogue is set)."""
        return self._attacks.get(self.attack.currentData(), {})

    def config(self) -> dict:
        norm = self.norm.currentData() or "linf"
        unit = EPS_UNITS[norm]
        step = self.step_size.value()
        res = self.resolution.currentText()
        return {
            "attack": self.attack.currentData() or "pgd",
            "norm": norm,
            "eps": self.eps.value() * unit,
            "step_size": None if step == 0 else step * unit,
            "steps": self.steps.value(),
            "random_start": self.random_start.isChecked(),
            "early_stop": self.early_stop.isChecked(),
            "target": self.target.currentData() if self.targeted.isChecked() else None,
            "seed": self.seed.value(),
            "restarts": self.restarts.value(),
            "params": {name: widget.value() for name, widget in self.param_widgets.items()},
            "resolution": None if res == "native" else int(res),
            "resample_filter": self.filter.currentText(),
            "fit": self.fit.currentText(),
            "device": self.device.currentText() or "auto",
            "fast": self.fast.isChecked(),
            "precision": self.precision.currentText() or "fp32",
            "channels_last": self.channels_last.isChecked(),
        }

    def set_config(self, values: dict) -> None:
        self._updating = True
        try:
            if "attack" in values:
                self.attack.setCurrentIndex(max(self.attack.findData(values["attack"]), 0))
                self._on_attack_changed()
            if "norm" in values:
                self.norm.setCurrentIndex(max(self.norm.findData(values["norm"]), 0))
                self._set_eps_range(values["norm"])
            unit = EPS_UNITS[self.norm.currentData() or "linf"]
            if "eps" in values:
                self.eps.setValue(values["eps"] / unit)
                self._sync_slider()
            if "step_size" in values:
                self.step_size.setValue(0 if values["step_size"] is None else values["step_size"] / unit)
            for key, widget in (("steps", self.steps), ("seed", self.seed), ("restarts", self.restarts)):
                if key in values:
                    widget.setValue(int(values[key]))
            for name, value in values.get("params", {}).items():
                if name in self.param_widgets:
                    self.param_widgets[name].setValue(value)
            if "random_start" in values:
                self.random_start.setChecked(bool(values["random_start"]))
            if "early_stop" in values:
                self.early_stop.setChecked(bool(values["early_stop"]))
            if "target" in values:
                self.targeted.setChecked(values["target"] is not None)
                if values["target"] is not None:
                    self.target.setCurrentIndex(max(self.target.findData(values["target"]), 0))
            if "resolution" in values:
                text = "native" if values["resolution"] is None else str(values["resolution"])
                if self.resolution.findText(text) < 0:
                    self.resolution.addItem(text)
                self.resolution.setCurrentText(text)
            if "resample_filter" in values:
                self.filter.setCurrentText(values["resample_filter"])
            if "fit" in values:
                self.fit.setCurrentText(values["fit"])
            if "device" in values and self.device.findText(str(values["device"])) >= 0:
                self.device.setCurrentText(str(values["device"]))
            if "fast" in values:
                self.fast.setChecked(bool(values["fast"]))
            if "precision" in values and self.precision.findText(str(values["precision"])) >= 0:
                self.precision.setCurrentText(str(values["precision"]))
            if "channels_last" in values:
                self.channels_last.setChecked(bool(values["channels_last"]))
        finally:
            self._updating = False
        self.changed.emit()

    # --- internals
    def _emit_changed(self, *_args) -> None:
        if not self._updating:
            self.changed.emit()

    def _on_attack_changed(self, *_args) -> None:
        spec = self._attacks.get(self.attack.currentData())
        if spec is None:
            return
        current = self.norm.currentData()
        was = self._updating
        self._updating = True
        self.norm.clear()
        for norm in spec["norms"]:
            self.norm.addItem({"linf": "Linf", "l2": "L2", "l1": "L1"}[norm], norm)
        self.norm.setCurrentIndex(max(self.norm.findData(current), 0))
        if self._attack_shown is not None and self._attack_shown != spec["name"]:
            self._steps_by_attack[self._attack_shown] = self.steps.value()
        if self._attack_shown != spec["name"]:
            self.steps.setValue(self._steps_by_attack.get(spec["name"], int(spec.get("default_steps", 20))))
        self._attack_shown = spec["name"]
        self.steps.setEnabled(spec.get("uses_steps", True))
        self.step_size.setEnabled(spec.get("uses_step_size", True))
        self.random_start.setEnabled(spec.get("uses_random_start", True))
        minimal = bool(spec.get("minimal"))
        for widget in (self.eps, self.eps_slider):
            widget.setEnabled(not minimal)
            widget.setToolTip("Not used: this attack searches for the smallest perturbation itself." if minimal
                              else "Perturbation budget epsilon: how far each image may be changed.")
        can_target = spec.get("targeted", True)
        self.targeted.setEnabled(can_target)
        if not can_target:
            self.targeted.setChecked(False)
        self.attack.setToolTip(spec["description"])
        self._build_params(spec.get("params", {}))
        self._updating = was
        self._on_norm_changed()

    def _build_params(self, params: dict) -> None:
        """One spin box per attack-specific setting, rebuilt when the method changes."""
        while self.params_form.rowCount():
            self.params_form.removeRow(0)
        self.param_widgets = {}
        for name, p in params.items():
            if p.get("integer"):
                widget = QSpinBox()
                widget.setRange(int(p["minimum"]), int(p["maximum"]))
            else:
                widget = QDoubleSpinBox()
                widget.setDecimals(4)
                widget.setRange(p["minimum"], p["maximum"])
                widget.setSingleStep(max(p["default"] / 10, 10 ** -4))
            widget.setValue(p["default"])
            widget.setKeyboardTracking(False)
            widget.setToolTip(p["help"])
            widget.valueChanged.connect(self._emit_changed)
            self.params_form.addRow(name.replace("_", " "), widget)
            self.param_widgets[name] = widget
        self._param_norms = {name: tuple(p.get("norms", ())) for name, p in params.items()}
        self._show_params_for_norm()

    def _show_params_for_norm(self) -> None:
        """Show only the settings that apply to the chosen norm (L1's sparsity only for L1)."""
        norm = self.norm.currentData()
        visible = 0
        for row, name in enumerate(self.param_widgets):
            norms = getattr(self, "_param_norms", {}).get(name, ())
            show = not norms or norm in norms
            self.params_form.setRowVisible(row, show)
            visible += show
        self.params_box.setVisible(visible > 0)

    def _set_eps_range(self, norm: str) -> None:
        lo, hi, step, decimals = EPS_RANGE[norm]
        for spin in (self.eps, self.step_size):
            spin.blockSignals(True)
            spin.setDecimals(decimals)
            spin.setRange(lo, hi)
            spin.setSingleStep(step)
            spin.blockSignals(False)
        label = {"linf": "ε (/255)", "l2": "ε (L2)", "l1": "ε (L1)"}[norm]
        if self._eps_row_label is not None:
            self._eps_row_label.setText(label)
        self._sync_slider()

    def _on_norm_changed(self, *_args) -> None:
        norm = self.norm.currentData()
        if norm is None:
            return
        self._show_params_for_norm()
        previous = getattr(self, "_norm", None)
        self._norm = norm
        if previous != norm:
            was = self._updating
            self._updating = True
            self._set_eps_range(norm)
            defaults = {"linf": 8.0, "l2": 1.0, "l1": 20.0}
            self.eps.setValue(defaults[norm])
            self.step_size.setValue(0)
            self._sync_slider()
            self._updating = was
        self._emit_changed()

    def slider_to_eps(self, position: int) -> float:
        """The ε (in the spin box's units) a slider position stands for, on the spin box's step grid."""
        lo, hi = self.eps.minimum(), self.eps.maximum()
        raw = lo + (hi - lo) * (position / SLIDER_POSITIONS) ** 2
        step = self.eps.singleStep()
        return min(max(round(raw / step) * step, lo), hi)

    def eps_to_slider(self, value: float) -> int:
        lo, hi = self.eps.minimum(), self.eps.maximum()
        share = min(max((value - lo) / max(hi - lo, 1e-12), 0.0), 1.0)
        return round(SLIDER_POSITIONS * share**0.5)

    def _sync_slider(self) -> None:
        self.eps_slider.blockSignals(True)
        self.eps_slider.setValue(self.eps_to_slider(self.eps.value()))
        self.eps_slider.blockSignals(False)

    def _on_slider(self, value: int) -> None:
        self.eps.blockSignals(True)
        self.eps.setValue(self.slider_to_eps(value))
        self.eps.blockSignals(False)
        self._emit_changed()

    def _on_eps_spin(self, _value: float) -> None:
        self._sync_slider()
        self._emit_changed()
