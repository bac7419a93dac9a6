"""The main window: the shell around the tabs — menus, the tab bar, the status bar, themes, demo mode.

Design note. The Explorer is a tab like the others: its view (explorer_view.py), its state
(state.py: runs in the engine process, frames) and its model library (model_library.py) are their
own modules; the analysis and lab tabs are built when first opened. This module imports no
pyqtgraph, so `advlens gui` can paint the shell — with the sample drawn by Pillow — before the
Explorer's plots are built (`staged=True`), while the engine process loads torch beside it.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup, QFont, QGuiApplication, QImage, QKeySequence, QPixmap
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QTabWidget,
    QWidget,
)

from advlens import __version__
from advlens.help_actions import HelpActions
from advlens.run_records import RunRecordActions
from advlens.session_actions import SessionActions
from advlens.state import ExplorerState, app_settings
from advlens.theme import (
    DEMO_PLOT_EXTRA,
    THEMES,
    apply_theme,
    configure_plots,
    demo_scale,
    plot_background,
    plot_foreground,
)
from advlens.theme import set_choice as set_theme_choice
from advlens.thumbnails import ThumbnailLoader
from advlens.widgets.folder_gallery import FolderGallery
from advlens.widgets.side_column import SideColumn

IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.tif *.tiff *.webp *.gif);;All files (*)"
LAZY_TABS = {"analysis": "Analysis", "resolution": "Resolution lab", "stability": "Stability lab"}
TAB_RUN_TIPS = {"analysis": "the analysis last run here", "resolution": "Run the lab",
                "stability": "Run the experiment"}
# the Explorer's widgets and helpers, reachable from the window by these names (menus, tests, scripts)
EXPLORER_NAMES = ("controls", "controls_column", "banner", "original_pane", "adversarial_pane", "perturbation_pane",
                  "difference_pane", "panes", "pane_grid", "pixel_readout", "bars", "plots", "gallery", "main_split",
                  "perturbation_actions", "perturbation_view", "perturbation_scale", "set_perturbation_display",
                  "show_frame", "export_images", "metrics_csv", "_set_banner_tone", "trust_dialog", "card_dialog",
                  "progress", "rate_label", "device_label", "diagnostics", "diagnostics_state", "apply_fix")


def model_filter(suffixes: list[str]) -> str:
    """The Open model dialog's filter (the engine says which suffixes it reads)."""
    return f"Models ({' '.join('*' + s for s in suffixes)});;All files (*)" if suffixes else "All files (*)"


def sample_pixmap(state: ExplorerState, size: int = 256) -> QPixmap:
    """The current sample as a pixmap, drawn by Pillow (no pyqtgraph, no torch): the first thing on screen."""
    from advlens.engine.images import to_uint8

    image = state.input if state.input is not None else None
    if image is None:
        return QPixmap()
    array = to_uint8(image).copy()
    height, width = array.shape[:2]
    qimage = QImage(array.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()
    return QPixmap.fromImage(qimage).scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio,
                                            Qt.TransformationMode.FastTransformation)


class _AfterFirstPaint(QObject):
    """Calls `then` once, on the next turn of the event loop after the watched widget's first paint."""

    def __init__(self, widget: QWidget, then):
        super().__init__(widget)
        self.then = then
        widget.installEventFilter(self)

    def eventFilter(self, obj, event):  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.Paint:
            obj.removeEventFilter(self)
            QTimer.singleShot(0, self.then)
        return False


class MainWindow(QMainWindow):
    """The shell: menus, tabs (the Explorer first), status bar, themes and full-screen demo mode."""

    def __init__(self, state: ExplorerState, remember_layout: bool = True, staged: bool = False):
        super().__init__()
        self.state = state
        self.remember_layout = remember_layout
        self.setAcceptDrops(True)
        self._error_box: QMessageBox | None = None
        self._demo_mode = False
        self._demo_scale = 1.0
        self._side_panels_before_demo = True
        self._restored_geometry = False
        self._normal_font = QFont()
        self._state_before_demo = Qt.WindowState.WindowNoState
        self.explorer = None
        self._build_tabs()
        self._build_actions()
        self._connect()
        self._build_loading()
        self._apply_run_state("idle")
        if remember_layout:
            self._restore_layout()
        if staged:  # paint the shell first (the sample, drawn by Pillow), build the Explorer's plots after
            _AfterFirstPaint(self._explorer_page, self.build_explorer)
        else:
            self.build_explorer()

    # ------------------------------------------------------------------ building
    def _build_tabs(self) -> None:
        self.tabs = QTabWidget()
        self._explorer_page = QLabel()  # until the Explorer is built: the sample and a word
        self._explorer_page.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._explorer_page.setPixmap(sample_pixmap(self.state))
        self.tabs.addTab(self._explorer_page, "Explorer")
        self._tab_pages: dict[str, QWidget] = {}  # the analysis and lab tabs: a placeholder until first opened
        self._built_tabs: dict[str, tuple] = {}
        for key, title in LAZY_TABS.items():
            placeholder = QWidget()
            self._tab_pages[key] = placeholder
            self.tabs.addTab(placeholder, title)
        self.setCentralWidget(self.tabs)
        self.tabs.currentChanged.connect(self._on_tab_changed)
        self.statusBar().showMessage("Starting the engine process (loading torch)…")

    def build_explorer(self) -> None:
        """The Explorer's view in its tab (pyqtgraph is imported here), its status widgets in the status bar."""
        if self.explorer is not None:
            return
        from advlens.explorer_view import ExplorerView

        self.explorer = view = ExplorerView(self.state, self)
        placeholder, current = self._explorer_page, self.tabs.currentIndex()
        self.tabs.blockSignals(True)
        self.tabs.removeTab(0)
        self.tabs.insertTab(0, view, "Explorer")
        self.tabs.setCurrentIndex(current)
        self.tabs.blockSignals(False)
        self._explorer_page = view
        placeholder.deleteLater()
        for widget in (view.rate_label, view.progress, view.device_label):
            self.statusBar().addPermanentWidget(widget)
        self.view_menu.insertMenu(self.theme_menu.menuAction(), view.perturbation_menu)
        split = app_settings().value("window/split") if self.remember_layout else None
        if split is not None:
            view.main_split.restoreState(split)
        if not self.side_panel_action.isChecked():
            self.set_side_panels_shown(False)
        view.controls.set_config(self.state.settings())
        if self.state.last_frame is not None:
            view.show_frame(self.state.last_frame)
        if self.state.model is not None:
            view._on_model_changed()
        self._apply_run_state(self.state.run_state)
        self._on_tab_changed(self.tabs.currentIndex())
        self.restyle()


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
        self.sessions = SessionActions(self)  # sessions, presets, reset (session_actions.py)
        self.sessions.add_file_actions(file_menu)
        file_menu.addSeparator()
        self._action("&Quit", QKeySequence.StandardKey.Quit, self.close, "Quit AdvLens", file_menu)

        run_menu = bar.addMenu("&Run")
        self.run_action = self._action("Run", "F5", self.on_run, "Start the attack, or resume it", run_menu)
        self.pause_action = self._action("Pause", "F6", self.state.pause, "Pause after the current step", run_menu)
        self.step_action = self._action("Step", "F7", self.state.step, "Run exactly one iteration", run_menu)
        self.stop_action = self._action("Stop", "Esc", self.on_stop, "Stop the attack within one step", run_menu)
        self.replay_action = self._action("&Replay", "F8", self.runs.replay,
                                          "Run the current run again with its settings and seed, and say whether "
                                          "it matched its record", run_menu)
        self.live_action = self._action("&Live", "Ctrl+L", lambda: None,
                                        "Rerun the attack at once whenever ε, the norm, the steps or the resolution "
                                        "change (the run under way is superseded)", run_menu)
        self.live_action.setCheckable(True)
        self.live_action.toggled.connect(self._set_live)
        self.sessions.add_presets_menu(bar)

        view_menu = bar.addMenu("&View")
        self.fullscreen_action = self._action("&Full-screen demo mode", "F11", self.toggle_demo_mode,
                                              "Full screen with large fonts, for projectors", view_menu)
        self.fullscreen_action.setCheckable(True)
        self.side_panel_action = self._action("Show the side &panels", "F9", self.set_side_panels_shown,
                                              "The settings column of each tab and the sample strip (hide them for "
                                              "larger pictures)", view_menu)
        self.side_panel_action.setCheckable(True)
        self.side_panel_action.setChecked(True)  # triggered(checked) calls set_side_panels_shown(checked)
        self.view_menu = view_menu
        theme_menu = view_menu.addMenu("&Theme")
        self.theme_menu = theme_menu  # the Explorer's perturbation menu goes before it once built
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
        settings_menu = bar.addMenu("&Settings")
        self.scheduler_action = self._action("Sweep &scheduler…", None, self.scheduler_dialog,
                                             "Where the Analysis tab's and the Resolution lab's jobs run: this "
                                             "machine's engine, a Dask LocalCluster (local:N) or a Dask scheduler "
                                             "(tcp://HOST:8786)", settings_menu)
        self.sessions.add_reset_action(settings_menu)
        help_menu = bar.addMenu("&Help")
        self.help = HelpActions(self)  # the guide and the shortcut list (help_actions.py)
        self.help.add_to(help_menu)
        self._action("&About AdvLens", None, self.show_about, "What is loaded, and on which device", help_menu)

        toolbar = self.addToolBar("Run")
        toolbar.setObjectName("runToolbar")
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        toolbar.addAction(self.open_image_action)
        toolbar.addSeparator()
        for action in (self.run_action, self.pause_action, self.step_action, self.stop_action, self.live_action):
            toolbar.addAction(action)
        toolbar.addSeparator()
        toolbar.addAction(self.fullscreen_action)

    def set_side_panels_shown(self, shown: bool) -> None:
        """Show or hide the settings column of every tab and the sample strip (F9), for larger pictures on a
        small projector; full-screen demo mode starts with them hidden."""
        for column in self.findChildren(SideColumn):
            column.setVisible(shown)
        if self.explorer is not None:
            self.explorer.gallery.setVisible(shown)
        if self.side_panel_action.isChecked() != shown:
            self.side_panel_action.setChecked(shown)

    def _connect(self) -> None:
        s = self.state
        s.runStateChanged.connect(self._apply_run_state)
        s.error.connect(self.show_error)
        s.status.connect(lambda text: self.statusBar().showMessage(text, 8000))
        s.engineChanged.connect(lambda text: self.statusBar().showMessage(text, 0 if "Loading torch" in text
                                                                          else 15000))
        s.notice.connect(self.show_notice)

    def _tab(self, key: str) -> tuple:
        """(panel, state, presenter) of a tab, built on first use (opening it, or a test asking for it)."""
        built = self._built_tabs.get(key)
        if built is not None:
            return built
        if key == "analysis":
            from advlens.analysis_state import AnalysisState
            from advlens.analysis_tab import AnalysisTab
            from advlens.widgets.analysis_panel import AnalysisPanel

            panel = AnalysisPanel()
            state = AnalysisState(self.state, self)
            built = (panel, state, AnalysisTab(panel, state, self))
        elif key == "resolution":
            from advlens.resolution_tab import ResolutionLabState, ResolutionTab
            from advlens.widgets.resolution_panel import ResolutionPanel

            panel = ResolutionPanel()
            state = ResolutionLabState(self.state, self)
            built = (panel, state, ResolutionTab(panel, state, self))
        else:
            from advlens.stability_state import StabilityState
            from advlens.stability_tab import StabilityTab
            from advlens.widgets.stability_panel import StabilityPanel

            panel = StabilityPanel()
            state = StabilityState(self.state.link, self)
            built = (panel, state, StabilityTab(panel, state))
        self._built_tabs[key] = built
        if key == "analysis":
            built[0].runRequested.connect(lambda kind, _options: setattr(self, "_last_analysis", kind))
        placeholder = self._tab_pages[key]
        index = self.tabs.indexOf(placeholder)
        was_current = self.tabs.currentIndex() == index
        self.tabs.blockSignals(True)
        self.tabs.removeTab(index)
        self.tabs.insertTab(index, built[0], LAZY_TABS[key])
        if was_current:
            self.tabs.setCurrentIndex(index)
        self.tabs.blockSignals(False)
        self._tab_pages[key] = built[0]
        placeholder.deleteLater()
        from advlens.widgets.plot_style import restyle_plots

        restyle_plots(built[0])  # the theme and demo-mode sizes of now
        if not self.side_panel_action.isChecked():
            for column in built[0].findChildren(SideColumn):
                column.setVisible(False)
        sessions = getattr(self, "sessions", None)  # None only while the window is being built
        if sessions is not None:
            sessions.tab_built(key)  # settings a session restored before the tab existed
        return built

    analysis_panel = property(lambda self: self._tab("analysis")[0])
    analysis_state = property(lambda self: self._tab("analysis")[1])
    analysis = property(lambda self: self._tab("analysis")[2])
    resolution_panel = property(lambda self: self._tab("resolution")[0])
    resolution_state = property(lambda self: self._tab("resolution")[1])
    resolution_tab = property(lambda self: self._tab("resolution")[2])
    stability_panel = property(lambda self: self._tab("stability")[0])
    stability_state = property(lambda self: self._tab("stability")[1])
    stability_tab = property(lambda self: self._tab("stability")[2])

    def _on_tab_changed(self, index: int) -> None:
        """A tab is built when first opened; the status bar's step counter and rate belong to the
        Explorer's run: shown only there."""
        page = self.tabs.widget(index)
        for key, widget in list(self._tab_pages.items()):
            if widget is page and key not in self._built_tabs:
                self._tab(key)
        if self.explorer is not None:
            explorer = self.tabs.widget(index) is self.explorer
            self.explorer.progress.setVisible(explorer)
            self.explorer.rate_label.setVisible(explorer)
        self._apply_run_state(self.state.run_state)

    def _current_tab_key(self) -> str | None:
        """'analysis', 'resolution' or 'stability' when one of those tabs is shown; None on the Explorer."""
        page = self.tabs.currentWidget()
        return next((key for key, widget in self._tab_pages.items() if widget is page), None)

    def _tab_run_button(self, key: str):
        """The button F5 presses on a lab or analysis tab: the lab's Run, or the analysis last run there."""
        panel = self._tab(key)[0]
        if key == "resolution":
            return panel.run
        if key == "stability":
            return panel.run_button
        return panel.buttons.get(getattr(self, "_last_analysis", None))

    def _set_live(self, on: bool) -> None:
        self.state.set_live(on)
        self._apply_run_state(self.state.run_state)

    def _apply_run_state(self, state: str) -> None:
        """The Explorer's run state on its actions. Run and Stop belong to the tab shown: on another tab
        they press that tab's own Run and Cancel (F5, Esc), and Pause, Step, Live and Replay, which drive
        only the Explorer's attack, are hidden, so no key on the Analysis tab starts an Explorer run."""
        running = state in ("running", "paused")
        tab = self._current_tab_key()
        for action in (self.pause_action, self.step_action, self.live_action, self.replay_action):
            action.setVisible(tab is None)
        if tab is None:
            self.run_action.setText("Resume" if state == "paused" else "Run")
            self.run_action.setToolTip("Start the attack, or resume it (F5)")
            self.run_action.setEnabled(state != "running")
            self.stop_action.setText("Stop")
            self.stop_action.setToolTip("Stop the attack within one step (Esc)")
            self.stop_action.setEnabled(running)
        else:
            self.run_action.setText("Run")
            self.run_action.setToolTip(f"Run this tab's task (F5): {TAB_RUN_TIPS[tab]}")
            self.run_action.setEnabled(True)
            self.stop_action.setText("Cancel")
            self.stop_action.setToolTip("Cancel this tab's task after the piece of work under way (Esc)")
            self.stop_action.setEnabled(True)
        self.pause_action.setEnabled(state == "running")
        self.step_action.setEnabled(True)
        if self.explorer is not None:
            self.explorer.apply_run_state(state)
        if state == "paused":
            self.statusBar().showMessage("Paused: Step (F7) runs one iteration, Resume (F5) goes on", 5000)

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

    def on_run(self) -> None:
        tab = self._current_tab_key()
        if tab is not None:
            button = self._tab_run_button(tab)
            if button is None:
                self.statusBar().showMessage("Choose an analysis on the left; F5 then runs it again", 8000)
            elif not button.isEnabled():
                self.statusBar().showMessage(f"{LAZY_TABS[tab]}: already running (Esc cancels it)", 8000)
            else:
                button.click()
            return
        if self.state.run_state == "paused" and self.state.is_running:
            self.state.resume()
        else:
            self.state.start()

    def on_stop(self) -> None:
        """Esc: stop the Explorer's attack, or cancel the task of the tab shown."""
        tab = self._current_tab_key()
        if tab is None:
            self.state.stop()
            return
        cancel = self._tab(tab)[0].task.cancel
        if cancel.isEnabled():
            cancel.click()

    def open_image_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open image", "", IMAGE_FILTER)
        if path:
            self.state.load_image(path)

    def open_model_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open model", "", model_filter(self.state.model_suffixes()))
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
            elif Path(path).suffix.lower() in self.state.model_suffixes():
                self.state.load_model(path)
            else:
                self.state.load_image(path)
            event.acceptProposedAction()

    def export_images_dialog(self) -> None:
        if self.state.last_frame is None:
            self.show_error("Nothing to export", "run an attack first")
            return
        folder = QFileDialog.getExistingDirectory(self, "Export images to folder")
        if folder:
            written = self.explorer.export_images(Path(folder))
            self.statusBar().showMessage(f"Saved {len(written)} images to {folder}", 8000)

    def export_metrics_dialog(self) -> None:
        if self.state.last_frame is None or len(self.state.last_frame.steps) == 0:
            self.show_error("Nothing to export", "run an attack first")
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export metrics", "metrics.csv", "CSV (*.csv)")
        if path:
            from advlens.engine.images import atomic_write_bytes

            atomic_write_bytes(Path(path), self.explorer.metrics_csv().encode())
            self.statusBar().showMessage(f"Saved metrics to {path}", 8000)

    def save_screenshot(self, path: Path) -> bool:
        return self.grab().save(str(path), "PNG")

    def screenshot_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save screenshot", "advlens.png", "PNG (*.png)")
        if path:
            self.save_screenshot(Path(path))

    @property
    def demo_mode(self) -> bool:
        return self._demo_mode

    def toggle_demo_mode(self) -> None:
        """F11, View ▸ Full-screen demo mode and the toolbar button."""
        self.set_demo_mode(not self._demo_mode)

    def set_demo_mode(self, on: bool) -> None:
        """Full screen with fonts, plots and lines large enough for the back of a lecture room; off restores
        the window as it was (maximised or not) and the normal sizes. Safe to call in any state, any number of
        times, idle or while a run draws."""
        if on == self._demo_mode:
            self.fullscreen_action.setChecked(on)
            return
        app = QApplication.instance()
        self._demo_mode = on
        if on:
            self._normal_font = QFont(app.font())
            self._state_before_demo = self.windowState() & ~Qt.WindowState.WindowFullScreen
            self._side_panels_before_demo = self.side_panel_action.isChecked()
            self._demo_scale = demo_scale(self.screen().geometry().height())
            big = QFont(self._normal_font)
            big.setPointSizeF(self._normal_font.pointSizeF() * self._demo_scale)
            app.setFont(big)
            self.set_side_panels_shown(False)  # the pictures get the room; F9 brings the settings back
        else:
            app.setFont(self._normal_font)
            self.set_side_panels_shown(self._side_panels_before_demo)
        self.restyle()
        if on:
            self.showFullScreen()
        else:
            self.setWindowState(self._state_before_demo)
            self.show()
        self.fullscreen_action.setChecked(on)

    def restyle(self) -> None:
        """Theme and demo-mode sizes onto everything that exists: widgets (palette, style sheet) and every plot
        of the window and its dialogs."""
        from advlens.widgets.plot_style import restyle_plots, set_plot_style

        app = QApplication.instance()
        apply_theme(app)
        configure_plots()
        set_plot_style(plot_background(), plot_foreground(),
                       self._demo_scale * DEMO_PLOT_EXTRA if self._demo_mode else 1.0)
        restyle_plots(self)  # its dialogs (the run comparison) are its children: restyled with it

    def scheduler_dialog(self) -> None:
        """Settings ▸ Sweep scheduler: the field, checked when accepted; the status bar says what is in force."""
        from advlens.engine.schedulers import parse_scheduler
        from advlens.sweep_settings import SchedulerDialog

        dialog = SchedulerDialog(self)
        self.scheduler_window = dialog  # tests reach the open dialog
        if dialog.exec():
            self.statusBar().showMessage(f"Sweeps run on {parse_scheduler(dialog.chosen).describe()}", 8000)

    def set_theme(self, choice: str) -> None:
        """Switch light/dark now (plots recoloured in place) and remember the choice."""
        set_theme_choice(choice)
        self.restyle()
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
        model = s.model.display_name if s.model else "none"
        QMessageBox.about(self, "About AdvLens",
                          f"<b>AdvLens {__version__}</b><br>Watch adversarial attacks happen.<br><br>"
                          f"Model: {model}<br>Image: {s.image_name}<br>Device: {s.device_label}")

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

    def show_notice(self, title: str, message: str) -> None:
        """Something to know about what was just loaded (random weights, no gradients): a non-blocking note."""
        self.statusBar().showMessage(f"{title}: {message.replace(chr(10), ' ')}", 15000)
        box = QMessageBox(QMessageBox.Icon.Information, title, message, QMessageBox.StandardButton.Ok, self)
        box.setWindowModality(Qt.WindowModality.NonModal)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        self.notice_box = box

    def show_initial(self) -> None:
        """Where the person left the window; on a first start, maximised (all of a projector's screen)."""
        if self._restored_geometry:
            self.show()
        else:
            self.showMaximized()

    def _restore_layout(self) -> None:
        settings = app_settings()
        geometry = settings.value("window/geometry")
        if geometry is not None:
            self._restored_geometry = bool(self.restoreGeometry(geometry))


    def closeEvent(self, event) -> None:  # noqa: N802 - Qt override
        self.set_demo_mode(False)  # the geometry to remember is the normal window's, and fonts go back
        if self.remember_layout:
            self.sessions.save_last()  # restored at the next start (gui.create_window)
            settings = app_settings()
            settings.setValue("window/geometry", self.saveGeometry())
            if self.explorer is not None:
                settings.setValue("window/split", self.explorer.main_split.saveState())
        for _panel, state, _presenter in self._built_tabs.values():
            state.shutdown()
        self.thumbnails.shutdown()
        if self.explorer is not None:
            self.explorer.diagnostics_state.shutdown()
        self.state.shutdown()
        if not self.state.link.shared:
            self.state.link.close()  # the engine process ends with its window, and is waited for
        super().closeEvent(event)


def _explorer_attribute(name: str) -> property:
    def get(self):
        if self.explorer is None:
            raise AttributeError(f"the Explorer is not built yet ({name})")
        return getattr(self.explorer, name)
    return property(get, doc=f"The Explorer view's {name}.")


for _name in EXPLORER_NAMES:
    setattr(MainWindow, _name, _explorer_attribute(_name))
