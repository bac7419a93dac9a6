"""A one-page HTML report of a run: images as data URIs, plots as inline SVG, every field escaped
(a record may come from someone else, and a tampered field must show as text, never as markup).
"""

from __future__ import annotations

import base64
import io
import json
import math
import os
from pathlib import Path

import numpy as np

from ..images import atomic_write_bytes, to_uint8
from ..record import RunRecord, number_text, perturbation_visual
from .text import (
    PLOT_SERIES,
    PLOT_TITLES,
    class_name,
    flattened,
    html_text,
    local_time,
    plot_series,
    record_lines,
)


# ---------------------------------------------------------------------------------------------- report
def png_data_uri(image: np.ndarray) -> str:
    """A (3, H, W) [0, 1] image as a base64 PNG data URI (the report embeds every picture)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(to_uint8(image)).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _fmt(value: float) -> str:
    return html_text(f"{value:.3g}")


def svg_plot(title: str, steps: np.ndarray, curves: list[tuple[str, str, np.ndarray]], width: int = 330,
             height: int = 190) -> str:
    """A small line plot as plain SVG (axes box, min/max ticks, legend).

    A curve joins its finite points: the norms of a record hold values only on the steps that had a
    frame (NaN between), and a curve with none is left out.
    """
    left, right, top, bottom = 46, 8, 22, 34
    pw, ph = width - left - right, height - top - bottom
    esc = html_text
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="{esc(title)}">',
             f'<text x="{width / 2:.0f}" y="14" text-anchor="middle" font-size="12">{esc(title)}</text>',
             f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#999"/>']
    finite = [v[np.isfinite(v)] for _, _, v in curves if len(v)]
    finite = [v for v in finite if len(v)]
    if not finite or len(steps) == 0:
        parts.append(f'<text x="{left + pw / 2:.0f}" y="{top + ph / 2:.0f}" text-anchor="middle" '
                     f'font-size="11" fill="#777">no data</text></svg>')
        return "".join(parts)
    lo = float(min(v.min() for v in finite))
    hi = float(max(v.max() for v in finite))
    if hi - lo < 1e-12:
        lo, hi = lo - 0.5, hi + 0.5
    x0, x1 = float(steps.min()), float(max(steps.max(), steps.min() + 1))

    def sx(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * pw

    def sy(y: float) -> float:
        return top + (hi - y) / (hi - lo) * ph

    parts += [f'<text x="{left - 4}" y="{top + 4}" text-anchor="end" font-size="10">{_fmt(hi)}</text>',
              f'<text x="{left - 4}" y="{top + ph}" text-anchor="end" font-size="10">{_fmt(lo)}</text>',
              f'<text x="{left}" y="{top + ph + 13}" text-anchor="middle" font-size="10">{_fmt(x0)}</text>',
              f'<text x="{left + pw}" y="{top + ph + 13}" text-anchor="middle" font-size="10">{_fmt(x1)}</text>',
              f'<text x="{left + pw / 2:.0f}" y="{top + ph + 13}" text-anchor="middle" font-size="10">step</text>']
    if lo < 0 < hi:
        parts.append(f'<line x1="{left}" x2="{left + pw}" y1="{sy(0):.1f}" y2="{sy(0):.1f}" stroke="#bbb" '
                     f'stroke-dasharray="3,3"/>')
    legend_x = left + 4
    for label, colour, values in curves:
        n = min(len(values), len(steps))
        seg = [f"{sx(float(x)):.1f},{sy(float(y)):.1f}" for x, y in zip(steps[:n], values[:n], strict=True)
               if math.isfinite(y)]
        if not seg:
            continue
        points = " ".join(seg if len(seg) > 1 else seg * 2)
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{points}"/>')
        parts.append(f'<text x="{legend_x}" y="{height - 6}" font-size="10" fill="{colour}">{esc(label)}</text>')
        legend_x += 8 + 6 * len(label)
    parts.append("</svg>")
    return "".join(parts)


REPORT_CSS = """
body { font-family: system-ui, sans-serif; margin: 24px auto; max-width: 1080px; color: #222; }
h1 { font-size: 20px; margin-bottom: 2px; } h2 { font-size: 15px; margin: 18px 0 6px; }
.sub { color: #666; font-size: 13px; }
.verdict { padding: 8px 12px; border-radius: 4px; font-weight: 600; margin: 12px 0; }
.success { background: #fde2e1; color: #8a1c17; } .fail { background: #e3f4e4; color: #1d5e22; }
.stopped { background: #eee; } .partial { background: #ece4f7; color: #4527a0; }
.images { display: flex; gap: 14px; flex-wrap: wrap; } figure { margin: 0; text-align: center; font-size: 12px; }
figure img { width: 200px; height: 200px; object-fit: contain; image-rendering: pixelated; border: 1px solid #ccc; }
table { border-collapse: collapse; font-size: 12px; } td, th { border: 1px solid #ddd; padding: 3px 8px; text-align: left; }
.cols { display: flex; gap: 24px; flex-wrap: wrap; align-items: flex-start; }
.plots { display: flex; gap: 8px; flex-wrap: wrap; } footer { color: #888; font-size: 11px; margin-top: 18px; }
"""


def report_html(record: RunRecord, source: str | os.PathLike | None = None, max_images: int = 4) -> str:
    """The one-page report as self-contained HTML: pictures as data URIs, tables, inline SVG plots.

    Every value from the record goes through `html_text`, numbers included: a shared record is data
    from someone else, and a tampered field must show as text, never as markup.
    """
    esc = html_text
    cfg = record.config.attack
    names = record.class_names
    from ..outcome import describe_run, record_facts

    head, tone = describe_run(record_facts(record))  # the words of the Explorer's banner
    tone = tone if tone in ("success", "fail", "partial") else "stopped"
    title = f"AdvLens run: {str(cfg.attack).upper()} on {record.config.image}"
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">', f"<title>{esc(title)}</title>",
           f"<style>{REPORT_CSS}</style></head><body>",
           f"<h1>{esc(title)}</h1>",
           f'<div class="sub">{esc(local_time(record.created))} · {esc(record.model_name)} on {esc(record.device)}'
           + (f" · {esc(source)}" if source else "") + "</div>",
           f'<div class="verdict {tone}">{esc(head)}</div>',
           "<h2>Images</h2>"]
    count = min(record.original.shape[0], max_images)
    for i in range(count):
        delta = record.perturbation[i]
        peak = float(np.abs(delta).max(initial=0.0))
        captions = [
            (record.original[i], f"original: {class_name(names, record.clean_pred[i])} "
                                 f"({number_text(record.clean_conf[i], '.0%')})"),
            (record.adversarial[i], f"adversarial: {class_name(names, record.adv_pred[i])} "
                                    f"({number_text(record.adv_conf[i], '.0%')})"),
            (perturbation_visual(delta), f"perturbation ×{1 / peak:.0f} around grey" if peak else "no perturbation"),
        ]
        out.append('<div class="images">')
        for array, caption in captions:
            out.append(f'<figure><img alt="{esc(caption)}" src="{png_data_uri(array)}">'
                       f"<figcaption>{esc(caption)}</figcaption></figure>")
        out.append("</div>")
    if record.original.shape[0] > count:
        out.append(f'<p class="sub">{esc(record.original.shape[0] - count)} more images are in the record.</p>')
    out.append('<div class="cols"><div><h2>Outcome</h2><table>')
    for key, value in record_lines(record):
        if key not in ("versions", "created"):
            out.append(f"<tr><th>{esc(key)}</th><td>{esc(value)}</td></tr>")
    out.append("</table><h2>Norms</h2><table><tr><th>image</th><th>L0</th><th>L1</th><th>L2</th><th>Linf</th>"
               "<th>Linf ×255</th></tr>")
    norms = record.norms
    for i in range(record.original.shape[0]):
        cells = [i, number_text(norms["l0"][i], ".0f"), number_text(norms.get("l1", ["-"] * (i + 1))[i], ".5f"),
                 number_text(norms["l2"][i], ".5f"), number_text(norms["linf"][i], ".5f"),
                 number_text(norms["linf"][i], ".3f", 255)]
        out.append("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in cells) + "</tr>")
    out.append("</table></div><div><h2>Configuration</h2><table>")
    for key, value in flattened(record.config.to_dict()).items():
        out.append(f"<tr><th>{esc(key)}</th><td>{esc(json.dumps(value, default=str))}</td></tr>")
    out.append("</table></div></div><h2>Per step</h2><div class=\"plots\">")
    steps, series = plot_series(record)
    for index, plot_title in enumerate(PLOT_TITLES):
        curves = [(legend, colour, series[name]) for name, (legend, colour, where) in PLOT_SERIES.items()
                  if where == index and name in series]
        out.append(svg_plot(plot_title, steps, curves))
    out.append("</div>")
    versions = ", ".join(f"{k} {v}" for k, v in record.versions.items())
    out.append(f"<footer>AdvLens run record format {esc(record.format_version)} · {esc(versions)} · "
               f"seed {esc(cfg.seed)}</footer></body></html>")
    return "\n".join(out) + "\n"


def write_report(record: RunRecord, out: str | os.PathLike, source: str | os.PathLike | None = None) -> Path:
    """Write the report atomically (temp file, then rename), so an old report is never half-replaced."""
    out = Path(out)
    atomic_write_bytes(out, report_html(record, source).encode("utf-8"))
    return out
