# Two commands do everything: `make run` (the app on the offline demo) and `make test` (the suite).
# Both build .venv first if it is missing or older than pyproject.toml.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# CPU machines take the CPU build of torch that satisfies the range in pyproject.toml;
# a machine with an NVIDIA GPU gets torch from the index as usual.
TORCH_CPU := torch==2.13.0
TORCHATTACKS := torchattacks==3.5.1
ONNX2TORCH := onnx2torch==1.5.15

.PHONY: run test lint bench screenshot clean venv test-engine-alone hostile test-models test-cluster

venv: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then \
		$(BIN)/python -m pip install --quiet 'torch>=2.4'; \
	else \
		$(BIN)/python -m pip install --quiet $(TORCH_CPU); \
	fi
	$(BIN)/python -m pip install --quiet -e '.[test,cluster]'
	# torchattacks is a test-only reference; its declared deps would pull another torch.
	$(BIN)/python -m pip install --quiet --no-deps $(TORCHATTACKS)
	# onnx2torch (ONNX -> torch, so ONNX models get gradients) declares torchvision, which only its NMS and
	# RoiAlign converters import: PyPI has no CPU torchvision for our CPU torch, and pip would pull another torch.
	$(BIN)/python -m pip install --quiet --no-deps $(ONNX2TORCH)
	$(BIN)/python -m pip install --quiet scipy tqdm foolbox==3.3.4
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/advlens gui --demo

test: $(STAMP)
	$(BIN)/ruff check app engine widgets resources tests packaging
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q

# Sweeps on Dask: a 2-worker LocalCluster on loopback (identical results, Cancel, a killed worker). Apart from
# `make test` because starting workers and torch in them takes most of a minute on two cores; .ci/run runs it.
test-cluster: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider -m cluster tests/engine/test_cluster.py

# The engine alone: a second venv without PySide6 or pyqtgraph runs tests/engine (DESIGN.md: the engine
# is usable with no Qt installed). Its requirements are pyproject's, read by packaging/engine_requirements.py.
ENGINE_VENV := .venv-engine
ENGINE_STAMP := $(ENGINE_VENV)/.installed

$(ENGINE_STAMP): pyproject.toml Makefile packaging/engine_requirements.py
	test -x $(ENGINE_VENV)/bin/python || $(PYTHON) -m venv $(ENGINE_VENV)
	$(ENGINE_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(ENGINE_VENV)/bin/python -m pip install --quiet $(TORCH_CPU)
	$(PYTHON) packaging/engine_requirements.py > $(ENGINE_VENV)/requirements.txt
	$(ENGINE_VENV)/bin/python -m pip install --quiet -r $(ENGINE_VENV)/requirements.txt scipy tqdm foolbox==3.3.4
	$(ENGINE_VENV)/bin/python -m pip install --quiet --no-deps -e . $(TORCHATTACKS) $(ONNX2TORCH)
	touch $(ENGINE_STAMP)

test-engine-alone: $(ENGINE_STAMP)
	$(ENGINE_VENV)/bin/python -c "import importlib.util as u, sys; q = [m for m in ('PySide6', 'pyqtgraph') if u.find_spec(m)]; sys.exit(f'Qt found in the engine-only venv: {q}' if q else 0)"
	$(ENGINE_VENV)/bin/python -m pytest -q -p no:cacheprovider tests/engine

# Real torchvision, timm and Hugging Face models: a second venv on torch 2.14.1 + torchvision 0.29.1 (the pair
# torchvision publishes; .venv stays on the CPU torch 2.13, which has no torchvision build), with timm,
# transformers, onnx, onnxruntime and onnxscript (the dynamo ONNX exporter), pinned so it installs the same
# later. The tests in tests/models run there with random weights and no network (README "Models people have").
MODELS_VENV := .venv-models
MODELS_STAMP := $(MODELS_VENV)/.installed
MODELS_TORCH := torch==2.14.1 torchvision==0.29.1
MODELS_LIBS := timm==1.0.29 transformers==5.18.0 huggingface_hub==2.4.0 onnx==1.23.2 onnxruntime==1.32.0 \
	onnxscript==0.7.2

$(MODELS_STAMP): pyproject.toml Makefile packaging/engine_requirements.py
	test -x $(MODELS_VENV)/bin/python || $(PYTHON) -m venv $(MODELS_VENV)
	$(MODELS_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(MODELS_VENV)/bin/python -m pip install --quiet $(MODELS_TORCH)
	$(MODELS_VENV)/bin/python -m pip install --quiet $(MODELS_TORCH) $(MODELS_LIBS)
	$(PYTHON) packaging/engine_requirements.py --with-gui > $(MODELS_VENV)/requirements.txt
	$(MODELS_VENV)/bin/python -m pip install --quiet $(MODELS_TORCH) -r $(MODELS_VENV)/requirements.txt scipy tqdm
	$(MODELS_VENV)/bin/python -m pip install --quiet --no-deps -e . $(TORCHATTACKS) $(ONNX2TORCH)
	touch $(MODELS_STAMP)

test-models: $(MODELS_STAMP)
	HF_HUB_OFFLINE=1 ADVLENS_OFFLINE=1 QT_QPA_PLATFORM=offscreen $(MODELS_VENV)/bin/python -m pytest -q \
		-p no:cacheprovider tests/models

bench: $(STAMP)
	$(BIN)/advlens bench

# The hostile-case corpus (crafted models, images, cards, records, arguments) replayed through the CLI, with a
# table of what each produced (tests/hostile/run.py). Not part of `make test`: it takes several minutes.
hostile: $(STAMP)
	$(BIN)/python tests/hostile/run.py --jobs 2 --table hostile-results.md

screenshot: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/advlens gui --demo --run --screenshot docs/explorer.png
	QT_QPA_PLATFORM=offscreen $(BIN)/advlens gui --demo --run --screenshot docs/explorer-1024.png --screenshot-size 1024x768
	QT_QPA_PLATFORM=offscreen $(BIN)/python docs/tools/diagnostics_screenshot.py docs/diagnostics.png

clean:
	rm -rf $(VENV) $(ENGINE_VENV) $(MODELS_VENV) build *.egg-info .pytest_cache .ruff_cache .hypothesis

# The frozen one-folder app (dist/advlens/) and its smoke test; see README "Standalone bundle".
# Not part of `make test`. PyInstaller goes into .venv here only (it is not in the test extra).
PYINSTALLER := pyinstaller==6.22.3 pyinstaller-hooks-contrib==2026.9
BUNDLE_EXE := dist/advlens/advlens
BUNDLE_INPUTS := pyproject.toml packaging/advlens.spec packaging/bundle_main.py \
	$(filter-out %.pyc,$(wildcard app/*.py engine/*.py engine/*/*.py widgets/*.py resources/*/*))
.PHONY: bundle bundle-test

bundle: $(STAMP)
	$(BIN)/python -m pip install --quiet $(PYINSTALLER)
	$(BIN)/python packaging/build_bundle.py

$(BUNDLE_EXE): $(STAMP) $(BUNDLE_INPUTS)
	$(MAKE) bundle

bundle-test: $(BUNDLE_EXE)
	packaging/smoke_test.sh dist/advlens
