# The two Quickstart commands: `make train` and `make test`. Each sets everything up first.
VENV ?= .venv
PY := $(VENV)/bin/python
FASHION_MNIST_DIR := /usr/share/datasets/fashion-mnist

.PHONY: setup setup-test browser data train test bench notebooks clean

$(PY):
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

# The library and what the training job draws with (matplotlib, tqdm).
setup: $(PY)
	$(PY) -m pip install -q -e '.[viz]'

# Plus the test tools and PyTorch (pinned CPU build), the tests' reference, and the headless
# browser the report's tests run in (Debian chromium + chromium-driver, driven by Selenium).
setup-test: $(PY) browser
	$(PY) -m pip install -q -e '.[viz,test]'

browser:
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium chromium-driver; \
	fi

# Fashion-MNIST from the Debian package dataset-fashion-mnist (IDX files).
data:
	@if [ ! -f $(FASHION_MNIST_DIR)/train-images-idx3-ubyte.gz ]; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq dataset-fashion-mnist; \
	fi

# The training job runs without an OpenBLAS kernel pin from the environment: OpenBLAS then
# picks the kernel made for the CPU it runs on (the machines of this project set
# OPENBLAS_CORETYPE=Haswell, whose float32 matrix products run at about a third of the
# speed of the SkylakeX kernel the CPU supports). The benchmarks run their workers the same
# way; the tests keep the environment as it is.
train: setup data
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(VENV)/bin/convscope train $(ARGS)

# The data set too: tests/test_notebooks.py runs the lecture's Fashion-MNIST notebook.
# One pytest-xdist worker per core, at most 4 (each loads PyTorch and compiles the kernels
# it meets; on 2 cores a fresh clone's suite took 9 min 26 s serially, 5 min 20 s so).
test: setup-test data
	$(PY) -m pytest -n auto --maxprocesses 4 tests

# The lecture notebooks (docs/lecture/*.ipynb, stored without outputs): run each in a fresh
# kernel and write it with its outputs to docs/lecture/rendered/ (.ipynb and a self-contained
# .html page per notebook). `make notebooks ARGS=03` renders only the matching ones.
notebooks: setup data
	$(PY) -m pip install -q -e '.[viz,photos,notebooks]'
	$(PY) docs/lecture/_render.py $(ARGS)

bench: setup-test data
	$(PY) benchmarks/conv_layers.py
	$(PY) benchmarks/train_vs_torch.py --epochs 1

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache .hypothesis
