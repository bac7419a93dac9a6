"""Colours and sizes of pyqtgraph views that already exist: theme switches and demo mode apply in place.

`set_plot_style` says what every view should look like (background, the theme's ink, a size scale);
`restyle_plots` applies it to the views under a widget. Each item's own size (a title's 12pt, a curve's
width 3) is remembered the first time it is styled, so styling is idempotent at any scale, and a size
that code sets later (a new title) becomes that item's own size. Text and lines drawn in the theme's ink
follow the theme; data colours stay as they are. Views that add items after they were styled (a lab's
reference lines, a legend entry) call `restyle_plots` on themselves, which costs nothing at scale 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyqtgraph as pg
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import QWidget

DEFAULT_TEXT_PT = 9.0  # pyqtgraph's text that names no size draws at the scene's font: ~9 pt


@dataclass
class PlotStyle:
    background: tuple[int, int, int] | None = None  # None: pyqtgraph's configured colours
    foreground: tuple[int, int, int] | None = None
    scale: float = 1.0
    inks: set[str] = field(default_factory=set)  # every foreground used so far (#rrggbb): text in these follows


_style = PlotStyle()


def _rgb(colour) -> str:
    return pg.mkColor(colour).name()


def current_style() -> PlotStyle:
    if _style.foreground is None:
        _style.background = tuple(pg.mkColor(pg.getConfigOption("background")).getRgb()[:3])
        _style.foreground = tuple(pg.mkColor(pg.getConfigOption("foreground")).getRgb()[:3])
        _style.inks.add(_rgb(_style.foreground))
    return _style


def set_plot_style(background: tuple[int, int, int], foreground: tuple[int, int, int], scale: float = 1.0) -> None:
    """What views look like from now on; apply it to existing views with `restyle_plots`."""
    style = current_style()
    style.inks.update({_rgb(style.foreground), _rgb(foreground)})
    style.background, style.foreground, style.scale = background, foreground, scale


def scaled(value: float) -> float:
    """A size in the current scale (for views that size things themselves)."""
    return value * current_style().scale


def _is_ink(colour) -> bool:
    return colour is None or _rgb(colour) in current_style().inks


def _own(item, key: str, now, default=None):
    """The item's own value of `key`: what it had before we styled it, or what code set since."""
    bases = item.__dict__.setdefault("_advlens_style", {})
    applied = bases.get(key + ".applied", object())
    if key not in bases or now != applied:
        bases[key] = default if now is None else now
    return bases[key]


def _applied(item, key: str, value) -> None:
    item.__dict__["_advlens_style"][key + ".applied"] = value


def _pt(size: str | None) -> float:
    if not size:
        return DEFAULT_TEXT_PT
    text = str(size).strip().lower()
    try:
        if text.endswith("pt"):
            return float(text[:-2])
        if text.endswith("px"):
            return float(text[:-2]) * 0.75
        return float(text)
    except ValueError:
        return DEFAULT_TEXT_PT


def _size_text(pt: float) -> str:
    return f"{pt:.1f}pt"


def _style_label(label: pg.LabelItem) -> None:
    style = current_style()
    size = _own(label, "size", label.opts.get("size"))
    args = {}
    if size is not None or style.scale != 1:
        args["size"] = _size_text(_pt(size) * style.scale)
    else:
        label.opts.pop("size", None)
    if _is_ink(label.opts.get("color")):
        args["color"] = _rgb(style.foreground)
    label.setText(label.text, **args)
    _applied(label, "size", label.opts.get("size"))


def _style_pen(item, key: str, pen) -> pg.QtGui.QPen | None:
    """The pen scaled from the item's own width, in the theme's ink if it was drawn in ink."""
    if pen is None:
        return None
    pen = pg.mkPen(pen)
    if pen.style() == pg.QtCore.Qt.PenStyle.NoPen:
        return None
    style = current_style()
    width = _own(item, key, pen.widthF())
    new = pg.QtGui.QPen(pen)
    new.setWidthF(width * style.scale if width > 0 else style.scale if style.scale != 1 else 0)
    if _is_ink(pen.color()) and pen.color().alpha() == 255:
        new.setColor(QColor(*style.foreground))
    _applied(item, key, new.widthF())
    return new


def _style_axis(axis: pg.AxisItem) -> None:
    style = current_style()
    fg = style.foreground
    if _is_ink(axis.pen().color()):
        axis.setPen(fg)
    tick_font = axis.style.get("tickFont")
    own_pt = _own(axis, "tick", tick_font.pointSizeF() if tick_font is not None else None, DEFAULT_TEXT_PT)
    font = QFont(tick_font) if tick_font is not None else QFont()
    font.setPointSizeF(own_pt * style.scale)
    tick_length = int(round(_own(axis, "ticklen", axis.style["tickLength"]) * style.scale))
    axis.setStyle(tickFont=font, tickLength=tick_length)
    _applied(axis, "tick", font.pointSizeF())
    _applied(axis, "ticklen", tick_length)
    label_style = dict(axis.labelStyle)
    own_label = _own(axis, "label", label_style.get("font-size"))
    if own_label is not None or style.scale != 1:
        label_style["font-size"] = _size_text(_pt(own_label) * style.scale)
    else:
        label_style.pop("font-size", None)
    _applied(axis, "label", label_style.get("font-size"))
    axis.labelStyle = label_style
    if _is_ink(axis.textPen().color()):
        axis.setTextPen(fg)  # also recolours and redraws the label
    elif axis.labelText or axis.labelUnits:
        axis.setLabel(axis.labelText, axis.labelUnits, axis.labelUnitPrefix, **label_style)


def _style_legend(legend: pg.LegendItem) -> None:
    style = current_style()
    size = _own(legend, "size", legend.opts.get("labelTextSize"))
    new_size = _size_text(_pt(size) * style.scale)
    legend.opts["labelTextSize"] = new_size
    _applied(legend, "size", new_size)
    if _is_ink(legend.opts.get("labelTextColor")):
        legend.opts["labelTextColor"] = pg.mkColor(style.foreground)
    brush = legend.opts.get("brush")
    if brush is not None and pg.mkBrush(brush).style() != pg.QtCore.Qt.BrushStyle.NoBrush:
        background = QColor(*style.background)
        background.setAlpha(pg.mkBrush(brush).color().alpha())
        legend.opts["brush"] = pg.mkBrush(background)
    for _sample, label in legend.items:
        label.setText(label.text, color=legend.opts["labelTextColor"], size=new_size)  # setAttr alone draws nothing
    legend.updateSize()
    legend.update()


def _style_text(item: pg.TextItem) -> None:
    style = current_style()
    if _is_ink(item.color):
        item.setColor(style.foreground)
    font = item.textItem.font()
    explicit = bool(font.resolveMask() & 0x2)  # QFont::SizeResolved: the size was set, not inherited
    own_pt = _own(item, "pt", font.pointSizeF() if explicit else None, DEFAULT_TEXT_PT)
    if not explicit or own_pt * style.scale != font.pointSizeF():
        font.setPointSizeF(own_pt * style.scale)
        item.setFont(font)
    _applied(item, "pt", font.pointSizeF())


def _style_data(item: pg.PlotDataItem) -> None:
    style = current_style()
    opts = item.opts
    pen = _style_pen(item, "pen", opts.get("pen"))
    if pen is not None:
        item.setPen(pen)
    if opts.get("symbol") is None:
        return
    size = _own(item, "symbol", opts.get("symbolSize"))
    item.setSymbolSize(size * style.scale)
    _applied(item, "symbol", size * style.scale)
    symbol_pen = opts.get("symbolPen")
    if symbol_pen is not None and not isinstance(symbol_pen, list | tuple) or isinstance(symbol_pen, tuple):
        pen = _style_pen(item, "symbolPen", symbol_pen)
        if pen is not None:
            item.setSymbolPen(pen)


def _style_scatter(item: pg.ScatterPlotItem) -> None:
    size = _own(item, "size", item.opts.get("size"))
    new = size * current_style().scale
    if new != item.opts.get("size"):
        item.setSize(new)
    _applied(item, "size", new)


def _style_line(item: pg.InfiniteLine) -> None:
    pen = _style_pen(item, "pen", item.pen)
    if pen is not None:
        item.setPen(pen)


def restyle_view(view: pg.GraphicsView) -> None:
    """Apply the current style to one view and everything in its scene."""
    style = current_style()
    view.setBackground(style.background)
    legends = [item for item in view.scene().items() if isinstance(item, pg.LegendItem)]
    legend_labels = {id(label) for legend in legends for _s, label in legend.items}
    for item in view.scene().items():
        if isinstance(item, pg.AxisItem):
            _style_axis(item)
        elif isinstance(item, pg.LegendItem):
            _style_legend(item)
        elif isinstance(item, pg.LabelItem) and id(item) not in legend_labels:
            _style_label(item)
        elif isinstance(item, pg.TextItem):
            _style_text(item)
        elif isinstance(item, pg.PlotDataItem):
            _style_data(item)
        elif isinstance(item, pg.ScatterPlotItem) and not isinstance(item.parentItem(), pg.PlotDataItem):
            _style_scatter(item)
        elif isinstance(item, pg.InfiniteLine):
            _style_line(item)


def restyle_plots(root: QWidget) -> int:
    """Every pyqtgraph view under `root` (itself included) in the current style; returns how many."""
    views = root.findChildren(pg.GraphicsView)
    if isinstance(root, pg.GraphicsView):
        views.insert(0, root)
    for view in views:
        restyle_view(view)
    return len(views)


def follow_style(root: QWidget) -> None:
    """For a view that just added items: style them too when the style is not the one they were made in."""
    if current_style().scale != 1.0:
        restyle_plots(root)


def cache_axes(view: pg.GraphicsView) -> None:
    """Draw each axis of `view` from a pixmap until it changes.

    Views drawn at the frame rate (the image panes' colour bars, the step plots, the probability bars)
    repaint their axes, ticks and grid on every frame although those change a few times a run: about a
    third of the Explorer's paint time. With Qt's device-coordinate cache an unchanged axis is one pixmap
    copy; pyqtgraph calls `update()` whenever an axis' range, ticks, pen or font changes, which redraws
    the cache, so theme switches and demo-mode scaling still show at once.
    """
    from PySide6.QtWidgets import QGraphicsItem

    for item in view.scene().items():
        if isinstance(item, pg.AxisItem):
            item.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
