"""The engine must work with no Qt at all: imported, and run, with PySide6 made unimportable."""

import subprocess
import sys
import textwrap


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=300)


def test_importing_the_engine_does_not_import_qt():
    result = _run("""
        import sys
        import advlens.engine
        import advlens.engine.jobs, advlens.engine.engine_server, advlens.engine.client, advlens.engine.session, advlens.engine.demo.train, advlens.engine.loaders
        leaked = sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph', 'shiboken6', 'superqt'))
        print(leaked)
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_the_engine_runs_an_attack_with_qt_unimportable():
    result = _run("""
        import sys
        class Block:
            def find_spec(self, name, path=None, target=None):
                if name.split('.')[0] in ('PySide6', 'pyqtgraph', 'shiboken6'):
                    raise ImportError('Qt blocked for this test')
        sys.meta_path.insert(0, Block())
        from advlens.engine import AttackConfig, RunConfig, run_attack
        record = run_attack(RunConfig(image='sample:star', resolution=16, device='cpu', attack=AttackConfig(steps=2)))
        print(record.status)
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "finished"
