"""Light or dark (following the system unless the person chose one), with sizes that read from afar."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

STYLE = """
QLabel#banner {{ font-size: {banner}pt; font-weight: 600; padding: 8px; border-radius: 6px;
                 background: {banner_bg}; color: {fg}; }}
QLabel#banner[long="true"] {{ font-size: {long_banner}pt; }}
QLabel#banner[tone="success"] {{ background: #b71c1c; color: white; }}
QLabel#banner[tone="fail"] {{ background: #1b5e20; color: white; }}
QLabel#banner[tone="bad"] {{ background: #e65100; color: white; }}
QLabel#banner[tone="partial"] {{ background: #5e35b1; color: white; }}
QLabel#paneTitle {{ font-size: {title}pt; font-weight: 600; }}
QLabel#plotTitle {{ font-size: {plot_title}pt; }}
QLabel#paneCaption {{ font-size: {caption}pt; }}
QLabel#paneCaption[tone="bad"] {{ color: {bad}; font-weight: 600; }}
QLabel#paneCaption[tone="good"] {{ color: {good}; font-weight: 600; }}
QToolBar QToolButton {{ font-size: {title}pt; padding: 4px 10px; }}
"""
# Fusion outlines a check box in a shade of the window colour: on the dark palette an empty box is a 35-grey
# square on 45-grey, gone on a projector. An empty box gets a light border there; a ticked one keeps
# Fusion's own drawing (its tick shows).
DARK_STYLE = """
QCheckBox::indicator:unchecked, QGroupBox::indicator:unchecked {
    border: 1px solid #a0a0a0; border-radius: 2px; background: #1e1e1e; }
QCheckBox::indicator:unchecked:hover, QGroupBox::indicator:unchecked:hover { border-color: #d0d0d0; }
QCheckBox::indicator:unchecked:disabled, QGroupBox::indicator:unchecked:disabled {
    border-color: #5a5a5a; background: #2a2a2a; }
"""


# Full-screen demo mode: widget text, and plot text, ticks and lines (a little more), larger by a factor that
# grows with the screen, so text keeps its share of the picture: x1.25 on 1024x768, x1.5 on 1920x1080.
DEMO_SCALE_RANGE = (1.25, 2.0)
DEMO_PLOT_EXTRA = 1.07


def demo_scale(screen_height: int) -> float:
    """The demo mode's text scale for a screen this many pixels tall."""
    low, high = DEMO_SCALE_RANGE
    return round(min(max(screen_height / 720, low), high), 2)

THEMES = {"system": "Follow the system", "light": "Light", "dark": "Dark"}
_choice = "system"


def system_is_dark() -> bool:
    hints = QGuiApplication.styleHints()
    scheme = getattr(hints, "colorScheme", None)
    return scheme is not None and scheme() == Qt.ColorScheme.Dark


def is_dark() -> bool:
    """Whether the app is drawn dark now: the person's choice, else the system's scheme."""
    return system_is_dark() if _choice == "system" else _choice == "dark"


def set_choice(choice: str) -> None:
    """'system', 'light' or 'dark' (anything else means 'system', e.g. an old settings file)."""
    global _choice
    _choice = choice if choice in THEMES else "system"


def plot_background() -> tuple[int, int, int]:
    return (25, 25, 25) if is_dark() else (255, 255, 255)


def _dark_palette() -> QPalette:
    p = QPalette()
    base, window, text = QColor(30, 30, 30), QColor(45, 45, 45), QColor(230, 230, 230)
    for role, colour in ((QPalette.ColorRole.Window, window), (QPalette.ColorRole.WindowText, text),
                         (QPalette.ColorRole.Base, base), (QPalette.ColorRole.AlternateBase, window),
                         (QPalette.ColorRole.Text, text), (QPalette.ColorRole.Button, window),
                         (QPalette.ColorRole.ButtonText, text), (QPalette.ColorRole.ToolTipBase, window),
                         (QPalette.ColorRole.ToolTipText, text), (QPalette.ColorRole.Highlight, QColor(42, 130, 218)),
                         (QPalette.ColorRole.HighlightedText, QColor(255, 255, 255))):
        p.setColor(role, colour)
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, QColor(120, 120, 120))
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, QColor(120, 120, 120))
    return p


def plot_foreground() -> tuple[int, int, int]:
    return (220, 220, 220) if is_dark() else (30, 30, 30)


def configure_plots() -> None:
    import pyqtgraph as pg  # here, not at import: the window's shell paints before pyqtgraph loads

    """pyqtgraph colours; must run before plot widgets are created."""
    pg.setConfigOptions(antialias=False, background=plot_background(), foreground=plot_foreground(),
                        imageAxisOrder="row-major")


def apply_theme(app: QApplication) -> None:
    """Fusion, the palette and the style sheet (sizes from the app font, so demo mode scales them).

    Fusion is set once: replacing a style re-polishes every widget for nothing.
    """
    if not app.property("advlensFusion"):  # with a style sheet set, app.style() is Qt's style-sheet wrapper
        app.setStyle("Fusion")
        app.setProperty("advlensFusion", True)
    dark = is_dark()
    app.setPalette(_dark_palette() if dark else app.style().standardPalette())
    size = app.font().pointSizeF()
    if size <= 0:
        size = 10.0
    sheet = STYLE.format(
        banner=round(size * 1.6), long_banner=round(size * 1.35), title=round(size * 1.25),
        plot_title=round(size * 1.2), caption=round(size * 1.2),
        banner_bg="#333" if dark else "#e8eaf0", fg="#eee" if dark else "#111",
        bad="#ff6b6b" if dark else "#c62828", good="#66bb6a" if dark else "#2e7d32") + (DARK_STYLE if dark else "")
    if app.styleSheet() != sheet:  # re-polishing every widget is the slow part of a theme switch
        app.setStyleSheet(sheet)
