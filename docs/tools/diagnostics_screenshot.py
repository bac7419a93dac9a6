"""Retake docs/diagnostics.png: the saturated model, PGD holds, Apply fix (APGD-DLR) fools it, side by side."""
import os
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
def main():
    from PySide6.QtWidgets import QApplication
    app = QApplication(sys.argv)
    from advlens.gui import create_window
    from advlens.theme import configure_plots
    configure_plots()
    w = create_window(remember_layout=False)
    w.resize(1600, 900)
    w.show()

    def wait(cond, timeout=600):
        end = time.monotonic() + timeout
        while not cond():
            app.processEvents()
            time.sleep(0.02)
            if time.monotonic() > end:
                raise SystemExit("timed out")

    s = w.state
    wait(lambda: s.model is not None and s.input_ready and s.prediction is not None and not s.library.loading)
    s.load_model("shapes-cnn-saturated")
    wait(lambda: s.model is not None and s.model.name == "shapes-cnn-saturated" and s.prediction is not None and not s.library.loading)
    w.controls.set_config({"attack": "pgd", "norm": "linf", "eps": 8 / 255, "steps": 10, "resolution": 32})
    ended = []
    s.runEnded.connect(ended.append)
    w.run_action.trigger()
    wait(lambda: ended)
    ds = w.diagnostics_state
    wait(lambda: not ds.busy and ds.diagnosis is not None and w.diagnostics.status.text().startswith(("None of", "1 of", "2 of", "3 of", "4 of")))
    w.diagnostics.rows["gradients"].apply.click()
    wait(lambda: len(ended) >= 2)
    wait(lambda: not ds.busy and not w.diagnostics.comparison.isHidden() and "running…" not in w.diagnostics.comparison_texts())
    for _ in range(20):
        app.processEvents()
        time.sleep(0.05)  # a script, not a test: let the last paint land
    w.grab().save(sys.argv[1])
    print("saved", sys.argv[1])
    w.close()

if __name__ == '__main__':
    main()
