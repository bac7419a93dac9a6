"""The Explorer tab: its controls, four image panes, top-k bars, live plots, banner and sample strip.

Design note. The Explorer is a tab/state pair like the others: `ExplorerState` (state.py) runs the
engine jobs and makes `Frame`s (frames.py, Qt-free); this view draws them and forwards what a
person does, and the `ModelLibrary` (model_library.py) loads models. The main window is only the
shell around it (menus, tabs, status bar, themes) and may build this view after its own first paint
(the window shows at once; pyqtgraph loads meanwhile). The layout code is the window's as it was.
"""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import (
    QLabel,
    QMenu,
    QSplitter,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from advlens.diagnostics_state import DiagnosticsState
from advlens.engine.outcome import RunFacts, describe_run
from advlens.engine.units import format_budget
from advlens.frames import Frame
from advlens.run_records import outcome_text
from advlens.state import ExplorerState
from advlens.widgets.controls import AttackControls
from advlens.widgets.diagnostics_strip import DiagnosticsStrip
from advlens.widgets.gallery import SampleGallery
from advlens.widgets.image_pane import DIVERGING_MAP, HEAT_MAP, ImagePane, link_panes
from advlens.widgets.live_text import LiveLabel, LiveProgressBar
from advlens.widgets.metric_plots import MetricPlots
from advlens.widgets.model_card_dialog import ModelCardDialog
from advlens.widgets.pane_grid import PaneGrid
from advlens.widgets.perturbation_view import SCALES, VIEWS, fixed_rule, fixed_scale, perturbation_image
from advlens.widgets.prob_bars import ProbabilityBars
from advlens.widgets.side_column import SideColumn
from advlens.widgets.trust_dialog import TrustFileDialog

PANE_MOUSE_TIP = "Wheel: zoom · drag: pan (all four panes together) · double click: whole image"
PIXEL_HINT = "Point at a pixel to read its values; the wheel zooms all four panes"
STATUS_INTERVAL_S = 0.25  # the step counter and rate in the status bar refresh this often during a run


class ExplorerView(QWidget):
    """The Explorer's widgets and what they show; `shell` is the main window (status bar, dialogs, title)."""

    def __init__(self, state: ExplorerState, shell):
        super().__init__()
        self.state = state
        self.shell = shell
        self._status_at = 0.0
        self._shown_original: object = None
        self._curve_ranges: dict[int, tuple[float, float]] = {}
        self.trust_dialog: TrustFileDialog | None = None
        self.card_dialog: ModelCardDialog | None = None
        self._build_views()
        self.perturbation_menu = self._build_perturbation_menu()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.main_split)
        self._connect()
        self.apply_run_state("idle")

    # ------------------------------------------------------------------ building
    def _build_views(self) -> None:
        self.controls = AttackControls()
        self.controls.set_attacks(self.state.attack_catalogue())
        self.controls.set_devices(self.state.devices(), self.state.config.device)
        self.controls_column = SideColumn(self.controls, min_chars=34, max_chars=52)

        self.banner = LiveLabel("Pick an image and press Run", lines=2, wrap=True)  # a rewrap moves nothing
        self.banner.setObjectName("banner")
        self.banner.setAlignment(Qt.AlignmentFlag.AlignCenter)

        self.original_pane = ImagePane("Original", "The image as the model sees it, at the chosen resolution.\n"
                                       + PANE_MOUSE_TIP)
        self.adversarial_pane = ImagePane("Adversarial", "The attacked image: original plus perturbation, clipped "
                                          "to [0,1].\n" + PANE_MOUSE_TIP)
        self.perturbation_pane = ImagePane(
            "Perturbation", "Adversarial minus original. Channel mean: blue lowers, red raises a pixel; amplified "
            "RGB: grey is unchanged. ▾ chooses the view and the scale.\n" + PANE_MOUSE_TIP,
            colormap=DIVERGING_MAP, colorbar=True, unit="Δ (/255)")
        self.difference_pane = ImagePane("|Difference|", "Absolute change per pixel, summed over the colour "
                                         "channels.\n" + PANE_MOUSE_TIP, colormap=HEAT_MAP, colorbar=True,
                                         unit="|Δ| R+G+B (/255)")
        self.difference_pane.set_unit(("|Δ| R+G+B (/255)", "|Δ| (/255)"))  # the shorter where the pane is narrow
        self.panes = [self.original_pane, self.adversarial_pane, self.perturbation_pane, self.difference_pane]
        link_panes(self.panes)
        for pane in self.panes:
            pane.hovered.connect(self._show_pixel)
        self.pane_grid = PaneGrid(self.panes)
        self.pixel_readout = QLabel(PIXEL_HINT)
        self.pixel_readout.setObjectName("pixelReadout")
        self.pixel_readout.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.pixel_readout.setMinimumWidth(10)
        self.pixel_readout.setToolTip("Values of the pixel under the pointer, in every pane")
        pane_widget = QWidget()
        pane_layout = QVBoxLayout(pane_widget)
        pane_layout.setContentsMargins(0, 0, 0, 0)
        pane_layout.setSpacing(2)
        pane_layout.addWidget(self.pane_grid, 1)
        pane_layout.addWidget(self.pixel_readout)

        self.bars = ProbabilityBars()
        self.bars.setToolTip("The five most probable classes for the current adversarial image.")
        self.plots = MetricPlots()
        self.plots.setToolTip("Per step: loss the attack maximises; margin = logit gap still to close (below 0: "
                              "fooled); true/target-class probability; L2 and Linf (x255) of the perturbation.")
        self.diagnostics = DiagnosticsStrip()
        self.diagnostics.setToolTip("Indicators of attack failure: can this run's result be trusted? "
                                    "Apply fix runs the attack again with the suggested change.")
        # the top classes and the diagnostics share one slot, so a 1024-px projector keeps room for the plots;
        # the Diagnostics tab says how many indicators fired and comes forward when one fails
        self.lower_tabs = QTabWidget()
        self.lower_tabs.setObjectName("lowerTabs")
        self.lower_tabs.setDocumentMode(True)
        self.lower_tabs.setUsesScrollButtons(False)  # both titles stay in view, elided when the slot is narrow
        self.lower_tabs.tabBar().setElideMode(Qt.TextElideMode.ElideRight)
        self.lower_tabs.addTab(self.bars, "Top classes")
        self.lower_tabs.addTab(self.diagnostics, "Diagnostics")
        lower = QSplitter(Qt.Orientation.Horizontal)
        lower.addWidget(self.lower_tabs)
        lower.addWidget(self.plots)
        lower.setStretchFactor(0, 1)
        lower.setStretchFactor(1, 3)
        lower.setSizes([300, 900])
        self.lower_tabs.setMinimumWidth(150)  # names elide: the plots beside them get the room

        centre = QSplitter(Qt.Orientation.Vertical)
        centre.addWidget(pane_widget)
        centre.addWidget(lower)
        centre.setStretchFactor(0, 3)
        centre.setStretchFactor(1, 2)

        self.gallery = SampleGallery()
        self.gallery.set_items(self.state.sample_thumbnails())

        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.banner)
        right_layout.addWidget(centre, 1)
        right_layout.addWidget(self.gallery)

        self.main_split = QSplitter(Qt.Orientation.Horizontal)
        self.main_split.addWidget(self.controls_column)
        self.main_split.addWidget(right)
        self.main_split.setStretchFactor(1, 1)

        self.progress = LiveProgressBar()  # the shell puts these three in its status bar
        self.progress.setMaximumWidth(220)
        self.progress.setFormat("step %v / %m")
        self.rate_label = LiveLabel("", width_text="00000 steps/s · 00 fps")
        self.device_label = QLabel("")

    def _connect(self) -> None:
        s = self.state
        s.frameReady.connect(self.show_frame)
        s.runEnded.connect(self._on_run_ended)
        s.modelChanged.connect(self._on_model_changed)
        s.engineChanged.connect(self._on_engine_changed)
        s.imageChanged.connect(self._update_title)
        s.trustNeeded.connect(self.ask_to_trust)
        s.cardNeeded.connect(self.ask_for_card)
        self.controls.changed.connect(lambda: s.set_settings(self.controls.config()))
        self.controls.modelChosen.connect(s.load_model)
        self.controls.openModelRequested.connect(self.shell.open_model_dialog)
        self.gallery.chosen.connect(s.load_image)
        self.diagnostics_state = DiagnosticsState(s, self)
        self.diagnostics_state.diagnosisChanged.connect(self.diagnostics.set_diagnosis)
        self.diagnostics_state.diagnosisChanged.connect(self._show_diagnosis_tab)
        self.diagnostics_state.comparisonChanged.connect(self.diagnostics.set_comparison)
        self.diagnostics_state.status.connect(lambda text: self.shell.statusBar().showMessage(text, 8000))
        self.diagnostics_state.probing.connect(self.diagnostics.set_status)
        self.diagnostics.fixRequested.connect(self.apply_fix)

    def _show_diagnosis_tab(self, data: dict | None, live: bool) -> None:
        """The Diagnostics tab's title counts the indicators that fired; a failed one after a run brings it forward."""
        levels = [str(item.get("level")) for item in (data or {}).get("summary", [])]
        fired = sum(level in ("fail", "warn") for level in levels)
        index = self.lower_tabs.indexOf(self.diagnostics)
        self.lower_tabs.setTabText(index, f"Diagnostics ⚠ {fired}" if fired else "Diagnostics")
        self.lower_tabs.setTabToolTip(index, f"{fired} indicator(s) of attack failure fired" if fired else
                                      "Indicators of attack failure: none fired" if data else
                                      "Indicators of attack failure (after a run)")
        if not live and "fail" in levels:
            self.lower_tabs.setCurrentWidget(self.diagnostics)

    def apply_fix(self, fix: dict) -> bool:
        """A fix from the Diagnostics strip: the next run with it, shown beside the run it fixes."""
        started = self.diagnostics_state.apply_fix(fix)
        self.controls.set_config(self.state.settings())
        if started:
            self.shell.statusBar().showMessage(f"Running with the fix: {fix.get('title', '')}", 8000)
        return started

    def _on_engine_changed(self, _text: str) -> None:
        self.device_label.setText(f"  {self.state.device_label}  ")
        if self.controls.device.count() <= 1 and self.state.link.is_ready:
            self.controls.set_devices(self.state.devices(), self.state.config.device)

    def apply_run_state(self, state: str) -> None:
        """During a run the settings are locked, except with Live on (a change reruns the attack). Pausing
        and going on reword the banner at once (no frame comes while paused)."""
        running = state in ("running", "paused")
        live = self.state.live
        self.controls.setEnabled(not running or live)
        self.gallery.setEnabled(not running or live)
        frame = self.state.last_frame
        if running and frame is not None and frame.adversarial is not None:
            self._show_live_banner(frame, state)

    def live_facts(self, frame: Frame, state: str) -> RunFacts:
        """The facts of the run under way, at `frame`, for `describe_run` (the words an ended run gets too)."""
        attack = self.state.config.attack
        spec = self.controls.current_spec()
        return RunFacts(state=state, clean=frame.clean_label, adversarial=frame.adv_label, confidence=frame.adv_conf,
                        success=frame.success, target=frame.target_label, minimal=bool(spec.get("minimal")),
                        attack=str(spec.get("title") or attack.attack), norm=attack.norm,
                        budget=format_budget(float(attack.eps), attack.norm), norms=dict(frame.norms),
                        step=frame.step, total_steps=frame.total_steps, caveat=self.state.model_caveat)

    def _show_live_banner(self, frame: Frame, state: str) -> None:
        text, tone = describe_run(self.live_facts(frame, state))
        if text != self.banner.text():
            self.banner.setText(text)
        if tone != self.banner.property("tone"):
            self._set_banner_tone(tone)


    def _build_perturbation_menu(self) -> QMenu:
        """How the perturbation pane draws: the View menu and the pane's own ▾ button share these actions."""
        menu = QMenu("&Perturbation pane", self)
        self.perturbation_view, self.perturbation_scale = "mean", "fixed"
        self.perturbation_actions: dict[str, QAction] = {}
        for options, attribute in ((VIEWS, "perturbation_view"), (SCALES, "perturbation_scale")):
            group = QActionGroup(self)
            for key, title in options.items():
                action = menu.addAction(title)
                action.setCheckable(True)
                action.setChecked(getattr(self, attribute) == key)
                action.triggered.connect(lambda _c=False, a=attribute, k=key: self.set_perturbation_display(**{
                    a.removeprefix("perturbation_"): k}))
                group.addAction(action)
                self.perturbation_actions[key] = action
            menu.addSeparator()
        button = QToolButton()
        button.setText("▾")
        button.setToolTip("Perturbation view: channel mean or amplified RGB; fixed scale per norm or to the peak")
        button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        button.setMenu(menu)
        button.setAutoRaise(True)
        self.perturbation_pane.add_title_button(button)
        self.perturbation_button = button
        return menu

    def set_perturbation_display(self, view: str | None = None, scale: str | None = None) -> None:
        """'mean' or 'rgb'; 'fixed' or 'peak'. Redraws the last frame at once."""
        self.perturbation_view = view or self.perturbation_view
        self.perturbation_scale = scale or self.perturbation_scale
        self.perturbation_actions[self.perturbation_view].setChecked(True)
        self.perturbation_actions[self.perturbation_scale].setChecked(True)
        if self.state.last_frame is not None and self.state.last_frame.adversarial is not None:
            self._show_perturbation(self.state.last_frame)

    def _on_model_changed(self) -> None:
        """Offer only the attacks this model can run: black-box ones when it gives no gradients."""
        catalogue = self.state.attack_catalogue()
        if self.state.model is not None and not self.state.model.gradients_available:
            catalogue = [a for a in catalogue if not a["needs_gradients"]]
        if [a["name"] for a in catalogue] != [self.controls.attack.itemData(i)
                                             for i in range(self.controls.attack.count())]:
            self.controls.set_attacks(catalogue)
            self.state.set_settings(self.controls.config())
        self.controls.set_models(self.state.model_choices(), self.state.model_key, self.state.model_caveat)
        self.controls.set_classes(self.state.labels)
        self.controls.set_config(self.state.settings())
        self._update_title()

    def _update_title(self) -> None:
        model = self.state.model.display_name if self.state.model else "no model"
        image = self.state.image_name or "no image"
        self.shell.setWindowTitle(f"AdvLens — {model} — {image}")
        self.device_label.setText(f"  {self.state.device_label}  ")
        self.gallery.select_key(self.state.image_key)

    def show_frame(self, frame: Frame) -> None:
        """Draw a frame. During a run the images and bars change at the frame rate; the texts (captions,
        banner, counters), which nobody reads 60 times a second and which re-lay out their widgets, change
        a few times a second; the original is drawn again only when it is another image."""
        now = time.perf_counter()
        running = self.state.run_state == "running"
        texts = not running or frame.final or frame.adversarial is None or now - self._status_at >= STATUS_INTERVAL_S
        if texts:
            self._status_at = now
        size = frame.original.shape
        if frame.original is not self._shown_original:
            self.original_pane.set_rgb(frame.original)
            self._shown_original = frame.original
        truth = f" (true: {frame.true_label})" if frame.true_label and frame.true_label != frame.clean_label else ""
        if not texts:
            pass
        elif frame.clean_label:
            self.original_pane.set_caption(f"{frame.clean_label} {frame.clean_conf:.0%}{truth}\n{size[1]}×{size[0]} px")
        else:  # the engine has not seen it yet (torch still loading, or the model)
            self.original_pane.set_caption(f"waiting for the model…\n{size[1]}×{size[0]} px")
        if frame.adversarial is None:
            for pane in (self.adversarial_pane, self.perturbation_pane, self.difference_pane):
                pane.clear()
            self.plots.clear()
            if frame.clean_label:
                caveat = self.state.model_caveat
                warning = f" The model has {caveat}: its predictions mean nothing." if caveat else ""
                self.banner.setText(f"Ready: {frame.clean_label} ({frame.clean_conf:.0%}). Press Run (F5) to attack."
                                    f"{warning}")
            else:
                self.banner.setText("Loading torch and the model in the engine process…")
            self._set_banner_tone("")
        else:
            self.adversarial_pane.set_rgb(frame.adversarial)
            if texts:
                tone = "bad" if frame.success else "good"
                self.adversarial_pane.set_caption(f"{frame.adv_label} {frame.adv_conf:.0%}\nstep {frame.step}", tone)
            self._show_perturbation(frame, captions=texts)
            if frame.series_changed:  # curves are rebuilt at a lower rate than images (see ExplorerState)
                self.plots.set_series(frame.steps, frame.series)
                self._apply_curve_ranges(frame.curve_ranges)
                self.state.curve_width = max(self.plots.width() // 3, 100)
            if texts and self.state.run_state in ("running", "paused"):
                self._show_live_banner(frame, self.state.run_state)
        self.bars.set_probabilities(frame.topk_labels, frame.topk_probs, frame.true_label, frame.target_label)
        total = max(frame.total_steps, 1)
        if total != self.progress.maximum():
            self.progress.setMaximum(total)
            self.plots.set_step_range(total)
        if texts:  # the status bar is re-laid out on every change: a few times a second is enough
            if frame.step != self.progress.value():
                self.progress.setValue(frame.step)
            if frame.steps_per_second:
                text = f"{frame.steps_per_second:.0f} steps/s · {self.state.frames_per_second():.0f} fps"
                if text != self.rate_label.text():
                    self.rate_label.setText(text)

    def _apply_curve_ranges(self, ranges: dict[int, tuple[float, float]]) -> None:
        """Fixed y ranges during a run (they grow in steps); autorange when the frame has none (a record)."""
        for index in (0,):  # the loss and margin plot (probabilities are 0..1, norm axes fix their tops)
            plot = self.plots.plots[index]
            wanted = ranges.get(index)
            if wanted is None:
                plot.enableAutoRange(axis="y")
            elif self._curve_ranges.get(index) != wanted:
                plot.setYRange(*wanted, padding=0)
        self._curve_ranges = dict(ranges)

    def _perturbation_scale(self, frame: Frame, delta: np.ndarray) -> tuple[float, str]:
        """Full colour of the perturbation pane (pixel units) and how it was chosen."""
        peak = max(float(np.abs(delta).max()), 1e-6)
        if self.perturbation_scale == "peak":
            return peak, "peak"
        attack = self.state.config.attack
        norm = attack.norm if attack.norm in ("linf", "l2", "l1") else "linf"
        minimal = bool(self.controls.current_spec().get("minimal"))
        eps = attack.eps if attack.eps and not minimal else {
            "linf": frame.norms.get("linf", peak), "l2": frame.norms.get("l2", peak),
            "l1": float(np.abs(delta).sum())}[norm]
        scale = fixed_scale(norm, float(eps), delta.size)
        return (scale, fixed_rule(norm)) if scale > 0 else (peak, "peak")

    def _show_perturbation(self, frame: Frame, captions: bool = True) -> None:
        delta = frame.adversarial - frame.original
        scale, rule = self._perturbation_scale(frame, delta)
        image = perturbation_image(delta, self.perturbation_view, scale)
        pane = self.perturbation_pane
        if self.perturbation_view == "rgb":
            pane.set_rgb(image)
            pane.show_colorbar(False)
            what = f"grey 0 · full ±{scale * 255:.1f}/255"
        else:
            pane.set_scalar(image, (-scale * 255, scale * 255))
            pane.show_colorbar(True)
            what = f"full colour ±{scale * 255:.1f}/255"
        if captions:
            pane.set_unit((f"Δ (/255) · full at ±{rule}", f"Δ /255 · full ±{rule}", f"Δ /255 · ±{rule}", "Δ (/255)"))
            pane.set_caption(f"{what}\nL2 {frame.norms.get('l2', 0):.3f}")
            pane.caption.setToolTip(f"Full colour at {rule}" + (" (the largest change)" if rule == "peak" else
                                                                 " (View ▸ Perturbation pane to change)"))
        difference = frame.difference * 255.0
        # its scale moves in 1-2-5 steps: a colour bar re-laid out every frame costs more than the image
        top = (frame.difference_scale or max(float(frame.difference.max()), 1e-6)) * 255.0
        self.difference_pane.set_scalar(difference, (0.0, max(top, 1e-4)))
        if captions:
            self.difference_pane.set_caption(
                f"Linf {frame.norms.get('linf', 0) * 255:.2f}/255\nL0 {int(frame.norms.get('l0', 0))} values")

    def _show_pixel(self, column: int, row: int) -> None:
        """The pixel under the pointer, read out in every pane (the panes outline it themselves)."""
        original = self.original_pane.value_at(column, row)
        if column < 0 or original is None:
            self.pixel_readout.setText(PIXEL_HINT)
            return
        parts = [f"pixel ({column}, {row})", "original " + " ".join(f"{v * 255:.0f}" for v in original)]
        adversarial = self.adversarial_pane.value_at(column, row)
        if adversarial is not None:
            delta = (np.asarray(adversarial) - np.asarray(original)) * 255
            parts.append("adversarial " + " ".join(f"{v * 255:.0f}" for v in adversarial))
            parts.append("Δ " + " ".join(f"{v:+.1f}" for v in delta) + " /255")
            parts.append(f"|Δ| {np.abs(delta).sum():.1f}/255")
        self.pixel_readout.setText("  ·  ".join(parts))

    def _set_banner_tone(self, tone: str) -> None:
        self.banner.setProperty("tone", tone)
        self.banner.style().unpolish(self.banner)
        self.banner.style().polish(self.banner)

    def _on_run_ended(self, event) -> None:
        frame = self.state.last_frame
        if event.kind == "failed" or event.record is None:
            text, tone = describe_run(RunFacts(state="failed", message=event.message))
            self.banner.setText(text)
            self._set_banner_tone(tone)
            return
        record = event.record
        text, tone = outcome_text(record)
        self.banner.setText(text)
        self._set_banner_tone(tone)
        if self.state.last_record_path is not None:
            self.shell.statusBar().showMessage(f"Run saved to {self.state.last_record_path}", 10000)
        if frame is not None:
            self.progress.setValue(frame.step)

    def export_images(self, folder: Path) -> list[Path]:
        """Save the four panes' arrays as PNG (exact pixels, not a screen grab)."""
        from advlens.engine.images import save_png
        from advlens.engine.record import perturbation_visual

        frame = self.state.last_frame
        if frame is None:
            return []
        folder.mkdir(parents=True, exist_ok=True)
        written = [save_png(frame.original.transpose(2, 0, 1), folder / "original.png")]
        if frame.adversarial is not None:
            delta = frame.adversarial - frame.original
            written.append(save_png(frame.adversarial.transpose(2, 0, 1), folder / "adversarial.png"))
            written.append(save_png(perturbation_visual(delta.transpose(2, 0, 1)), folder / "perturbation.png"))
            if self.perturbation_pane.current.ndim == 3:  # the amplified-RGB view
                written.append(save_png(np.ascontiguousarray(self.perturbation_pane.current.transpose(2, 0, 1)),
                                        folder / "perturbation-map.png"))
            else:
                written.append(self._export_colour_mapped(self.perturbation_pane, folder / "perturbation-map.png"))
            written.append(self._export_colour_mapped(self.difference_pane, folder / "difference.png"))
        return written

    @staticmethod
    def _export_colour_mapped(pane: ImagePane, path: Path) -> Path:
        from advlens.engine.images import save_png

        lut = pane.image.getColorMap().getLookupTable(nPts=256, alpha=False)
        lo, hi = pane.image.getLevels()
        index = np.clip((pane.current - lo) / max(hi - lo, 1e-12) * 255, 0, 255).astype(np.uint8)
        return save_png(np.ascontiguousarray(lut[index][..., :3].astype(np.uint8)), path)

    def metrics_csv(self) -> str:
        frame = self.state.last_frame
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        names = list(frame.series) if frame else []
        writer.writerow(["step", *names])
        if frame is not None:
            for i, step in enumerate(frame.steps):
                writer.writerow([int(step), *(repr(float(frame.series[n][i])) for n in names)])
        return buffer.getvalue()

    def ask_to_trust(self, path: str, reason: str) -> None:
        """The warning dialog; only its ticked box loads the file."""
        dialog = TrustFileDialog(Path(path).name, reason, self.shell)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self.state.load_model(path, trust_pickle=True))
        dialog.finished.connect(lambda _r: setattr(self, "trust_dialog", None))
        self.trust_dialog = dialog
        dialog.open()

    def ask_for_card(self, path: str, request: dict) -> None:
        """The card dialog, prefilled with what could be read off the model; the answer is remembered."""
        dialog = ModelCardDialog(Path(path).name, request, self.state.label_presets(),
                                 request.get("architectures", []), self.shell)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self.state.load_model(path, card=dialog.card()))
        dialog.finished.connect(lambda _r: setattr(self, "card_dialog", None))
        self.card_dialog = dialog
        dialog.open()
