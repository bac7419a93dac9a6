"""Run records as a history: list a runs folder, compare two records, replay one, write a one-page report.

The GUI and the CLI both call these, so `advlens runs ...` and the app's File menu agree. One module per
job: how a record reads (`text`), the folder's history (`history`), two records side by side
(`compare`), replaying one (`replay`, the only one that loads torch, and only when it runs) and the
HTML report (`report`).
"""

from .compare import RunComparison, compare_records, config_differences, outcome_rows
from .history import RunSummary, list_runs, summarize_record
from .replay import REPLAY_ATOL, ReplayResult, judge_replay, replay_differences, replay_record
from .report import png_data_uri, report_html, svg_plot, write_report
from .text import (
    PLOT_SERIES,
    PLOT_TITLES,
    budget_text,
    class_name,
    html_text,
    load_record,
    local_time,
    plot_series,
    record_lines,
    setting_text,
)

__all__ = ["PLOT_SERIES", "PLOT_TITLES", "REPLAY_ATOL", "ReplayResult", "RunComparison", "RunSummary", "budget_text",
           "class_name", "compare_records", "config_differences", "html_text", "judge_replay", "list_runs",
           "load_record", "local_time", "outcome_rows", "plot_series", "png_data_uri", "record_lines",
           "replay_differences", "replay_record", "report_html", "setting_text", "summarize_record", "svg_plot",
           "write_report"]
