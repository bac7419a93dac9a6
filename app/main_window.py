"""The Explorer window: controls on the left, four image panes, top-k bars and live plots.

Thin: it forwards what a person does to `ExplorerState` and draws the `Frame`s the state sends.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
from PySide6.QtCore import QByteArray, Qt
from PySide6.QtGui import QAction, QActionGroup, QFont, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from advlens import __version__
from advlens.analysis_state import AnalysisState
from advlens.analysis_tab import AnalysisTab
from advlens.diagnostics_state import DiagnosticsState
from advlens.engine.loaders import MODEL_SUFFIXES
from advlens.resolution_tab import ResolutionLabState, ResolutionTab
from advlens.run_records import RunRecordActions, outcome_text
from advlens.stability_state import StabilityState
from advlens.stability_tab import StabilityTab
from advlens.state import ExplorerState, Frame, app_settings
from advlens.theme import THEMES, apply_theme, configure_plots, plot_background, plot_foreground
from advlens.theme import set_choice as set_theme_choice
from advlens.thumbnails import ThumbnailLoader
from advlens.widgets.analysis_panel import AnalysisPanel
from advlens.widgets.controls import AttackControls
from advlens.widgets.diagnostics_strip import DiagnosticsStrip
from advlens.widgets.folder_gallery import FolderGallery
from advlens.widgets.gallery import SampleGallery
from advlens.widgets.image_pane import DIVERGING_MAP, HEAT_MAP, ImagePane
from advlens.widgets.metric_plots import MetricPlots
from advlens.widgets.model_card_dialog import ModelCardDialog
from advlens.widgets.plot_style import restyle_plots
from advlens.widgets.prob_bars import ProbabilityBars
from advlens.widgets.resolution_panel import ResolutionPanel
from advlens.widgets.stability_panel import StabilityPanel
from advlens.widgets.trust_dialog import TrustFileDialog

IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.tif *.tiff *.webp *.gif);;All files (*)"
MODEL_FILTER = f"Models ({' '.join('*' + s for s in MODEL_SUFFIXES)});;All files (*)"


class MainWindow(QMainWindow):
    """The Explorer: run an attack and watch it live."""

    def __init__(self, state: ExplorerState | None = None, remember_layout: bool = True):
        super().__init__()
        self.state = state or ExplorerState()
        self.remember_layout = remember_layout
        self.setAcceptDrops(True)
        self.setMinimumSize(1100, 700)
        self._error_box: QMessageBox | None = None
        self._build_views()
        self._build_actions()
        self._connect()
        self._build_loading()
        self._apply_run_state("idle")
        if remember_layout:
            self._restore_layout()

    # ------------------------------------------------------------------ building
    def _build_views(self) -> None:
        self.controls = AttackControls()
        self.controls.set_attacks(self.state.attack_catalogue())
        self.controls.set_devices(self.state.devices(), self.state.config.device)
        scroll = QScrollArea()
        scroll.setWidget(self.controls)
        scroll.setWidgetResizable(True)
        scroll.setMinimumWidth(300)
        scroll.setMaximumWidth(380)

        self.banner = QLabel("Pick an image and press Run")
        self.banner.setObjectName("banner")
        self.banner.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.banner.setWordWrap(True)

        self.original_pane = ImagePane("Original", "The image as the model sees it, at the chosen resolution.")
        self.adversarial_pane = ImagePane("Adversarial", "The attacked image: original plus perturbation, clipped to [0,1].")
        self.perturbation_pane = ImagePane(
            "Perturbation", "Adversarial minus original, channel mean; blue lowers, red raises a pixel.",
            colormap=DIVERGING_MAP, colorbar=True)
        self.difference_pane = ImagePane("|Difference|", "Absolute change per pixel, summed over colour channels.",
                                         colormap=HEAT_MAP, colorbar=True)
        panes = QHBoxLayout()
        panes.setSpacing(6)
        for pane in (self.original_pane, self.adversarial_pane, self.perturbation_pane, self.difference_pane):
            panes.addWidget(pane, 1)
        pane_widget = QWidget()
        pane_widget.setLayout(panes)

        self.bars = ProbabilityBars()
        self.bars.setToolTip("The five most probable classes for the current adversarial image.")
        self.plots = MetricPlots()
        self.plots.setToolTip("Per step: loss the attack maximises; margin = logit gap still to close (below 0: "
                              "fooled); true/target-class probability; L2 and Linf (x255) of the perturbation.")
        self.diagnostics = DiagnosticsStrip()
        self.diagnostics.setToolTip("Indicators of attack failure: can this run's result be trusted? "
                                    "Apply fix runs the attack again with the suggested change.")
        lower = QSplitter(Qt.Orientation.Horizontal)
        lower.addWidget(self.bars)
        lower.addWidget(self.plots)
        lower.addWidget(self.diagnostics)
        lower.setStretchFactor(0, 1)
        lower.setStretchFactor(1, 3)
        lower.setStretchFactor(2, 1)
        lower.setSizes([240, 660, 400])
        self.bars.setMinimumWidth(220)

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
        self.main_split.addWidget(scroll)
        self.main_split.addWidget(right)
        self.main_split.setStretchFactor(1, 1)

        self.analysis_panel = AnalysisPanel()
        self.analysis_state = AnalysisState(self.state, self)
        self.analysis = AnalysisTab(self.analysis_panel, self.analysis_state, self)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.main_split, "Explorer")
        self.tabs.addTab(self.analysis_panel, "Analysis")
        self.resolution_panel = ResolutionPanel()
        self.resolution_state = ResolutionLabState(self.state, self)
        self.resolution_tab = ResolutionTab(self.resolution_panel, self.resolution_state, self)
        self.tabs.addTab(self.resolution_panel, "Resolution lab")
        self.stability_panel = StabilityPanel()
        self.stability_state = StabilityState(self)
        self.stability_tab = StabilityTab(self.stability_panel, self.stability_state)
        self.tabs.addTab(self.stability_panel, "Stability lab")
        self.setCentralWidget(self.tabs)
        self.tabs.currentChanged.connect(self._on_tab_changed)

        self.progress = QProgressBar()
        self.progress.setMaximumWidth(220)
        self.progress.setFormat("step %v / %m")
        self.rate_label = QLabel("")
        self.device_label = QLabel("")
        self.statusBar().addPermanentWidget(self.rate_label)
        self.statusBar().addPermanentWidget(self.progress)
        self.statusBar().addPermanentWidget(self.device_label)

    def _action(self, text: str, shortcut, slot, tip: str, menu=None) -> QAction:
        action = QAction(text, self)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        action.setToolTip(f"{tip} ({QKeySequence(shortcut).toString()})" if shortcut else tip)
        action.setStatusTip(tip)
        action.triggered.connect(slot)
        if menu is not None:
            menu.addAction(action)
        return action

    def _build_actions(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self.open_image_action = self._action("Open &image…", QKeySequence.StandardKey.Open, self.open_image_dialog,
                                              "Open an image file", file_menu)
        self._action("Open &model…", "Ctrl+M", self.open_model_dialog, "Open a model file", file_menu)
        self._action("Open model by &name…", None, self.open_model_by_name_dialog,
                     "Open a torchvision or timm architecture by name (when installed)", file_menu)
        self._action("Open &folder…", "Ctrl+Shift+O", self.open_folder_dialog,
                     "Browse a folder of images as thumbnails", file_menu)
        self.recent_menu = file_menu.addMenu("Open &recent")
        self.recent_menu.setToolTipsVisible(True)
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        self.paste_action = self._action("&Paste image", QKeySequence.StandardKey.Paste, self.paste_image,
                                         "Use the image on the clipboard", file_menu)
        file_menu.addSeparator()
        self.export_images_action = self._action("Export &images…", "Ctrl+E", self.export_images_dialog,
                                                 "Save the four panes as PNG files", file_menu)
        self.export_csv_action = self._action("Export &metrics (CSV)…", "Ctrl+Shift+E", self.export_metrics_dialog,
                                              "Save the per-step metrics as CSV", file_menu)
        self._action("Save &screenshot…", "Ctrl+Shift+S", self.screenshot_dialog, "Save a picture of the window",
                     file_menu)
        file_menu.addSeparator()
        self.runs = RunRecordActions(self)
        self.open_run_action = self._action("Open r&un…", "Ctrl+Shift+R", self.runs.open_run_dialog,
                                            "Open a saved run: its settings, model, image, final images and curves",
                                            file_menu)
        self.compare_runs_action = self._action("&Compare runs…", None, self.runs.compare_dialog,
                                                "Two saved runs side by side: images, curves, settings that differ",
                                                file_menu)
        self.export_report_action = self._action("Export rep&ort…", None, self.runs.export_report_dialog,
                                                 "Save a one-page HTML report of the current run", file_menu)
        file_menu.addSeparator()
        self._action("&Quit", QKeySequence.StandardKey.Quit, self.close, "Quit AdvLens", file_menu)

        run_menu = bar.addMenu("&Run")
        self.run_action = self._action("Run", "F5", self.on_run, "Start the attack, or resume it", run_menu)
        self.pause_action = self._action("Pause", "F6", self.state.pause, "Pause after the current step", run_menu)
        self.step_action = self._action("Step", "F7", self.state.step, "Run exactly one iteration", run_menu)
        self.stop_action = self._action("Stop", "Esc", self.state.stop, "Stop the attack within one step", run_menu)
        self.replay_action = self._action("&Replay", "F8", self.runs.replay,
                                          "Run the current run again with its settings and seed, and say whether "
                                          "it matched its record", run_menu)

        view_menu = bar.addMenu("&View")
        self.fullscreen_action = self._action("&Full-screen demo mode", "F11", self.toggle_demo_mode,
                                              "Full screen with large fonts, for projectors", view_menu)
        self.fullscreen_action.setCheckable(True)
        theme_menu = view_menu.addMenu("&Theme")
        self.theme_group = QActionGroup(self)
        chosen = app_settings().value("view/theme", "system")
        for key, title in THEMES.items():
            action = self._action(title, None, lambda _=False, k=key: self.set_theme(k),
                                  f"Draw the app {title.lower()}" if key != "system" else "Light or dark as the system is",
                                  theme_menu)
            action.setCheckable(True)
            action.setChecked(key == chosen)
            action.setData(key)
            self.theme_group.addAction(action)
        help_menu = bar.addMenu("&Help")
        self._action("&About AdvLens", None, self.show_about, "What is loaded, and on which device", help_menu)

        toolbar = self.addToolBar("Run")
        toolbar.setObjectName("runToolbar")
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        toolbar.addAction(self.open_image_action)
        toolbar.addSeparator()
        for action in (self.run_action, self.pause_action, self.step_action, self.stop_action):
            toolbar.addAction(action)
        toolbar.addSeparator()
        toolbar.addAction(self.fullscreen_action)

    def _connect(self) -> None:
        s = self.state
        s.frameReady.connect(self.show_frame)
        s.runStateChanged.connect(self._apply_run_state)
        s.runEnded.connect(self._on_run_ended)
        s.error.connect(self.show_error)
        s.status.connect(lambda text: self.statusBar().showMessage(text, 8000))
        s.modelChanged.connect(self._on_model_changed)
        s.imageChanged.connect(self._update_title)
        self.controls.changed.connect(lambda: s.set_settings(self.controls.config()))
        self.controls.modelChosen.connect(s.load_model)
        self.controls.openModelRequested.connect(self.open_model_dialog)
        self.gallery.chosen.connect(s.load_image)
        self.diagnostics_state = DiagnosticsState(s, self)
        self.diagnostics_state.diagnosisChanged.connect(self.diagnostics.set_diagnosis)
        self.diagnostics_state.comparisonChanged.connect(self.diagnostics.set_comparison)
        self.diagnostics_state.status.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.diagnostics_state.probing.connect(self.diagnostics.set_status)
        self.diagnostics.fixRequested.connect(self.apply_fix)

    def apply_fix(self, fix: dict) -> bool:
        """A fix from the Diagnostics strip: the next run with it, shown beside the run it fixes."""
        started = self.diagnostics_state.apply_fix(fix)
        self.controls.set_config(self.state.settings())
        if started:
            self.statusBar().showMessage(f"Running with the fix: {fix.get('title', '')}", 8000)
        return started

    def _on_tab_changed(self, index: int) -> None:
        """The status bar's step counter and rate belong to the Explorer's run: shown only there."""
        explorer = self.tabs.widget(index) is self.main_split
        self.progress.setVisible(explorer)
        self.rate_label.setVisible(explorer)

    # ------------------------------------------------------------------ state -> views
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
        model = self.state.model.card.display_name if self.state.model else "no model"
        image = self.state.image_name or "no image"
        self.setWindowTitle(f"AdvLens — {model} — {image}")
        self.device_label.setText(f"  {self.state.device_label}  ")
        self.gallery.select_key(self.state.image_key)

    def show_frame(self, frame: Frame) -> None:
        size = frame.original.shape
        self.original_pane.set_rgb(frame.original)
        truth = f" (true: {frame.true_label})" if frame.true_label and frame.true_label != frame.clean_label else ""
        self.original_pane.set_caption(f"{frame.clean_label} {frame.clean_conf:.0%}{truth}\n{size[1]}×{size[0]} px")
        if frame.adversarial is None:
            for pane in (self.adversarial_pane, self.perturbation_pane, self.difference_pane):
                pane.clear()
            self.plots.clear()
            caveat = self.state.model_caveat
            warning = f" The model has {caveat}: its predictions mean nothing." if caveat else ""
            self.banner.setText(f"Ready: {frame.clean_label} ({frame.clean_conf:.0%}). Press Run (F5) to attack.{warning}")
            self._set_banner_tone("")
        else:
            self.adversarial_pane.set_rgb(frame.adversarial)
            tone = "bad" if frame.success else "good"
            self.adversarial_pane.set_caption(f"{frame.adv_label} {frame.adv_conf:.0%}\nstep {frame.step}", tone)
            peak = max(frame.perturbation_peak, 1e-6)
            self.perturbation_pane.set_scalar(frame.perturbation, (-peak, peak))
            self.perturbation_pane.set_caption(
                f"±{peak * 255:.1f}/255 = full colour (×{1 / peak:.0f})\nL2 {frame.norms.get('l2', 0):.3f}")
            self.difference_pane.set_scalar(frame.difference, (0.0, max(float(frame.difference.max()), 1e-6)))
            self.difference_pane.set_caption(
                f"Linf {frame.norms.get('linf', 0) * 255:.2f}/255\nL0 {int(frame.norms.get('l0', 0))} values")
            self.plots.set_series(frame.steps, frame.series)
            if self.state.run_state in ("running", "paused"):
                verdict = "FOOLED" if frame.success else "holding"
                self.banner.setText(f"Step {frame.step}/{frame.total_steps}: {frame.clean_label} → "
                                    f"{frame.adv_label} ({frame.adv_conf:.0%}) — model {verdict}")
        self.bars.set_probabilities(frame.topk_labels, frame.topk_probs, frame.true_label, frame.target_label)
        total = max(frame.total_steps, 1)
        if total != self.progress.maximum():
            self.progress.setMaximum(total)
            self.plots.set_step_range(total)
        if frame.step != self.progress.value():
            self.progress.setValue(frame.step)
        if frame.steps_per_second:
            self.rate_label.setText(f"{frame.steps_per_second:.1f} steps/s · {self.state.frames_per_second():.0f} fps")

    def _set_banner_tone(self, tone: str) -> None:
        self.banner.setProperty("tone", tone)
        self.banner.style().unpolish(self.banner)
        self.banner.style().polish(self.banner)

    def _apply_run_state(self, state: str) -> None:
        running = state in ("running", "paused")
        self.run_action.setText("Resume" if state == "paused" else "Run")
        self.run_action.setEnabled(state != "running")
        self.pause_action.setEnabled(state == "running")
        self.stop_action.setEnabled(running)
        self.step_action.setEnabled(True)
        self.controls.setEnabled(not running)
        self.gallery.setEnabled(not running)
        if state == "paused":
            self.statusBar().showMessage("Paused: Step (F7) runs one iteration, Resume (F5) goes on", 5000)

    def _on_run_ended(self, event) -> None:
        frame = self.state.last_frame
        if event.kind == "failed":
            self.banner.setText(f"Attack stopped: {event.message}")
            self._set_banner_tone("bad")
            return
        record = event.record
        text, tone = outcome_text(record)
        self.banner.setText(text)
        self._set_banner_tone(tone)
        if self.state.last_record_path is not None:
            self.statusBar().showMessage(f"Run saved to {self.state.last_record_path}", 10000)
        if frame is not None:
            self.progress.setValue(frame.step)

    def show_error(self, title: str, message: str) -> None:
        """One plain-words dialog (non-blocking) plus the status line; the window stays usable."""
        self.statusBar().showMessage(f"{title}: {message}", 15000)
        if self._error_box is not None:
            self._error_box.close()
        box = QMessageBox(QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok, self)
        box.setWindowModality(Qt.WindowModality.NonModal)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        self._error_box = box
        box.finished.connect(lambda _r: setattr(self, "_error_box", None))

    # ------------------------------------------------------------------ user actions
    def on_run(self) -> None:
        if self.state.run_state == "paused" and self.state.is_running:
            self.state.resume()
        else:
            self.state.start()

    def open_image_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open image", "", IMAGE_FILTER)
        if path:
            self.state.load_image(path)

    def open_model_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open model", "", MODEL_FILTER)
        if path:
            self.state.load_model(path)

    def paste_image(self) -> None:
        clipboard = QGuiApplication.clipboard()
        mime = clipboard.mimeData()
        if mime is not None and mime.hasUrls():
            local = [u.toLocalFile() for u in mime.urls() if u.isLocalFile()]
            if local:
                self.state.load_image(local[0])
                return
        image = clipboard.image()
        if image.isNull():
            self.show_error("Nothing to paste", "the clipboard holds no image")
            return
        data = QByteArray()
        from PySide6.QtCore import QBuffer, QIODevice

        buffer = QBuffer(data)
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        image.save(buffer, "PNG")
        self.state.load_image(bytes(data.data()))

    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt override
        if event.mimeData().hasUrls() or event.mimeData().hasImage():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802 - Qt override
        urls = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if urls:
            path = urls[0]
            if Path(path).is_dir():
                self.open_folder(path)
            elif Path(path).suffix.lower() in MODEL_SUFFIXES:
                self.state.load_model(path)
            else:
                self.state.load_image(path)
            event.acceptProposedAction()

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

    def export_images_dialog(self) -> None:
        if self.state.last_frame is None:
            self.show_error("Nothing to export", "run an attack first")
            return
        folder = QFileDialog.getExistingDirectory(self, "Export images to folder")
        if folder:
            written = self.export_images(Path(folder))
            self.statusBar().showMessage(f"Saved {len(written)} images to {folder}", 8000)

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

    def export_metrics_dialog(self) -> None:
        if self.state.last_frame is None or len(self.state.last_frame.steps) == 0:
            self.show_error("Nothing to export", "run an attack first")
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export metrics", "metrics.csv", "CSV (*.csv)")
        if path:
            from advlens.engine.images import atomic_write_bytes

            atomic_write_bytes(Path(path), self.metrics_csv().encode())
            self.statusBar().showMessage(f"Saved metrics to {path}", 8000)

    def save_screenshot(self, path: Path) -> bool:
        return self.grab().save(str(path), "PNG")

    def screenshot_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save screenshot", "advlens.png", "PNG (*.png)")
        if path:
            self.save_screenshot(Path(path))

    def toggle_demo_mode(self) -> None:
        """Full screen with large fonts, for the back of a lecture room."""
        app = QApplication.instance()
        if self.isFullScreen():
            self.showNormal()
            app.setFont(self._normal_font)
            self.fullscreen_action.setChecked(False)
        else:
            self._normal_font = QFont(app.font())
            big = QFont(app.font())
            big.setPointSizeF(app.font().pointSizeF() * 1.5)
            app.setFont(big)
            self.showFullScreen()
            self.fullscreen_action.setChecked(True)
        apply_theme(app)

    def set_theme(self, choice: str) -> None:
        """Switch light/dark now (plots recoloured in place) and remember the choice."""
        set_theme_choice(choice)
        apply_theme(QApplication.instance())
        configure_plots()
        restyle_plots(self, plot_background(), plot_foreground())
        for action in self.theme_group.actions():
            action.setChecked(action.data() == choice)
        settings = app_settings()
        settings.setValue("view/theme", choice)
        settings.sync()

    def _fill_recent_menu(self) -> None:
        """Built when opened, so it always shows what the settings hold now."""
        menu = self.recent_menu
        menu.clear()
        recent = self.state.recent
        for kind, opener in (("images", self.open_recent_image), ("models", self.open_recent_model)):
            paths = recent.items(kind)
            menu.addSection(kind.capitalize())
            if not paths:
                menu.addAction("(none yet)").setEnabled(False)
            for path in paths:
                action = menu.addAction(Path(path).name, lambda p=path, o=opener: o(p))
                action.setToolTip(path)
        menu.addSeparator()
        menu.addAction("Clear the list", recent.clear)

    def open_recent_image(self, path: str) -> None:
        if not Path(path).exists():
            self.state.recent.remove("images", path)
        self.state.load_image(path)

    def open_recent_model(self, path: str) -> None:
        if not Path(path).exists():
            self.state.recent.remove("models", path)
        self.state.load_model(path)

    def show_about(self) -> None:
        s = self.state
        model = s.model.card.display_name if s.model else "none"
        QMessageBox.about(self, "About AdvLens",
                          f"<b>AdvLens {__version__}</b><br>Watch adversarial attacks happen.<br><br>"
                          f"Model: {model}<br>Image: {s.image_name}<br>Device: {s.device_label}")

    # ------------------------------------------------------------------ models and folders people have
    def _build_loading(self) -> None:
        """The folder gallery (a dock, shown by Open folder) and the dialogs that loading may need."""
        self.folder_gallery = FolderGallery()
        self.folder_dock = QDockWidget("Folder", self)
        self.folder_dock.setObjectName("folderDock")
        self.folder_dock.setWidget(self.folder_gallery)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.folder_dock)
        self.folder_dock.hide()
        self.thumbnails = ThumbnailLoader(size=self.folder_gallery.list_model.thumb, parent=self)
        self.folder_gallery.list_model.thumbnailsWanted.connect(self._request_thumbnails)
        self.thumbnails.thumbnailsReady.connect(self.folder_gallery.list_model.set_thumbnails)
        self.folder_gallery.chosen.connect(self.state.load_image)
        self.state.trustNeeded.connect(self.ask_to_trust)
        self.state.cardNeeded.connect(self.ask_for_card)
        self.state.notice.connect(self.show_notice)
        self.trust_dialog: TrustFileDialog | None = None
        self.card_dialog: ModelCardDialog | None = None

    def _request_thumbnails(self, rows: list[int]) -> None:
        model = self.folder_gallery.list_model
        self.thumbnails.request([(row, model.path(row)) for row in rows])

    def open_folder(self, folder: str | Path) -> bool:
        """Show a folder's images in the gallery; thumbnails load in the background as they come into view."""
        files = self.state.open_folder(folder)
        if files is None:
            return False
        self.thumbnails.reset()
        self.folder_gallery.set_files([(path, Path(path).name) for path in files])
        self.folder_dock.setWindowTitle(f"{Path(folder).name} — {len(files)} images")
        self.folder_dock.show()
        return True

    def open_folder_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a folder of images")
        if folder:
            self.open_folder(folder)

    def open_model_by_name_dialog(self) -> None:
        name, ok = QInputDialog.getText(self, "Open model by name",
                                        "torchvision:NAME or timm:NAME (e.g. torchvision:resnet18)")
        if ok and name.strip():
            self.state.load_model(name.strip())

    def ask_to_trust(self, path: str, reason: str) -> None:
        """The warning dialog; only its ticked box loads the file."""
        dialog = TrustFileDialog(Path(path).name, reason, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self.state.load_model(path, trust_pickle=True))
        dialog.finished.connect(lambda _r: setattr(self, "trust_dialog", None))
        self.trust_dialog = dialog
        dialog.open()

    def ask_for_card(self, path: str, request: dict) -> None:
        """The card dialog, prefilled with what could be read off the model; the answer is remembered."""
        dialog = ModelCardDialog(Path(path).name, request, self.state.label_presets(),
                                 request.get("architectures", []), self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self.state.load_model(path, card=dialog.card()))
        dialog.finished.connect(lambda _r: setattr(self, "card_dialog", None))
        self.card_dialog = dialog
        dialog.open()

    def show_notice(self, title: str, message: str) -> None:
        """Something to know about what was just loaded (random weights, no gradients): a non-blocking note."""
        self.statusBar().showMessage(f"{title}: {message.replace(chr(10), ' ')}", 15000)
        box = QMessageBox(QMessageBox.Icon.Information, title, message, QMessageBox.StandardButton.Ok, self)
        box.setWindowModality(Qt.WindowModality.NonModal)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        self.notice_box = box

    # ------------------------------------------------------------------ lifecycle
    def _restore_layout(self) -> None:
        settings = app_settings()
        geometry = settings.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        split = settings.value("window/split")
        if split is not None:
            self.main_split.restoreState(split)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt override
        if self.remember_layout:
            settings = app_settings()
            settings.setValue("window/geometry", self.saveGeometry())
            settings.setValue("window/split", self.main_split.saveState())
        self.analysis_state.shutdown()
        self.resolution_state.shutdown()
        self.stability_state.shutdown()
        self.thumbnails.shutdown()
        self.diagnostics_state.shutdown()
        self.state.shutdown()
        super().closeEvent(event)
