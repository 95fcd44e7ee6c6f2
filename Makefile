# cmda-mm: the commands of the README quick start.
#   make demo   set up (or reuse) the pinned environment and train CMDA on the generated demo data
#   make test   set up (or reuse) the pinned environment, run the linters, then the whole test suite
#   make shell  a shell inside that environment (`python tools/train.py ...` then works as written)
#   make -s venv  print the environment's folder: `source $(make -s venv)/bin/activate`
#   make lint   flake8 + isort --check (installed into the environment on first use, outside its hash)
#
# The virtual environment (~6 GB) is keyed by a hash of the pinned requirements, so a second run reuses it
# and costs seconds. Override its location with CMDA_VENV=/path/to/venv or CMDA_VENV_ROOT=/path/to/dir.

SHELL := /bin/bash
PYTHON ?= python3
REQS := requirements/runtime.txt requirements/optional.txt requirements/tests.txt
REQ_HASH := $(shell cat $(REQS) | sha256sum | cut -c1-12)
CMDA_VENV_ROOT ?= $(HOME)/.cache/cmda-mm
CMDA_VENV ?= $(CMDA_VENV_ROOT)/venv-$(REQ_HASH)
VPY := $(CMDA_VENV)/bin/python
READY := $(CMDA_VENV)/.cmda-ready-$(REQ_HASH)
PYTEST_ARGS ?=
# Lint tools: installed by `make lint` into the environment when missing; not part of REQS, so changing them
# does not rebuild the environment.
FLAKE8_VERSION := 7.3.0
ISORT_VERSION := 6.0.1
LINT_PATHS := cmda_mm tools tests benchmarks configs setup.py
# `make demo` is bit-reproducible run to run: one intra-op thread here, seed + deterministic kernels in the config.
DEMO_THREADS ?= 1

.PHONY: env venv shell lint demo test bench quality quality-quick fashion-data quality-fashion quality-fashion-quick \
	quality-variants quality-schedule speed \
	clean-env

# Build the environment once per requirements hash (idempotent: the stamp is written last). No file
# prerequisites: the stamp's name carries the hash of the requirements' content, so a changed pin gets a new
# environment, while a fresh clone (new file times, same content) reuses the built one without calling pip.
$(READY):
	@echo "[cmda-mm] building environment $(CMDA_VENV) (first run only, ~3-4 min)"
	@test -x $(VPY) || $(PYTHON) -m venv $(CMDA_VENV)
	$(VPY) -m pip install --quiet $(foreach r,$(REQS),-r $(r))
	@touch $(READY)

# The editable install points at this checkout; redo it (seconds) only when the checkout moved.
env: $(READY)
	@if [ "$$(cat $(CMDA_VENV)/.cmda-editable 2>/dev/null)" != "$(CURDIR)" ]; then \
		$(VPY) -m pip install --quiet --no-deps --no-build-isolation -e . && \
		echo "$(CURDIR)" > $(CMDA_VENV)/.cmda-editable; fi
	@echo "[cmda-mm] environment ready: $(CMDA_VENV)"

# The environment's folder (prints only, builds nothing): `source $(make -s venv)/bin/activate`.
venv:
	@echo $(CMDA_VENV)

# An interactive shell with the environment activated (exit to leave it).
shell: env
	@echo "[cmda-mm] entering $(CMDA_VENV) (type exit to leave)"
	@bash --rcfile <(printf '[ -f ~/.bashrc ] && . ~/.bashrc\n. %s/bin/activate\n' "$(CMDA_VENV)") -i

lint: env
	@$(VPY) -c "import flake8, isort" 2>/dev/null || \
		$(VPY) -m pip install --quiet flake8==$(FLAKE8_VERSION) isort==$(ISORT_VERSION)
	$(VPY) -m flake8 $(LINT_PATHS)
	$(VPY) -m isort --check-only --diff $(LINT_PATHS)

test: env lint
	$(VPY) -m pytest tests -q $(PYTEST_ARGS)

demo: env
	OMP_NUM_THREADS=$(DEMO_THREADS) $(VPY) tools/train.py configs/cmda_demo.py --work-dir work_dirs/cmda_demo

bench: env
	$(VPY) benchmarks/bench_core.py

# Evidence (issue "Evidence"): the Wikipedia quality grid and the speed table (results in benchmarks/results/).
WIKI ?= data/wikipedia
QUALITY_ARGS ?= --seeds 5 --jobs 2 --resume
quality: env
	$(VPY) benchmarks/quality.py --data-root $(WIKI) $(QUALITY_ARGS)

quality-quick: env
	$(VPY) benchmarks/quality.py --data-root $(WIKI) --quick --jobs 2 --resume

# Fashion products (real photos + captions): prepare once, then the grid (~2.2 h on 2 quiet cores) or its quick subset.
FASHION_SRC ?= data/fashion
FASHION ?= data/fashion_cmda
fashion-data: env
	$(VPY) tools/dataset_converters/prepare_fashion.py $(FASHION_SRC) --out $(FASHION)

quality-fashion: fashion-data
	OMP_NUM_THREADS=1 $(VPY) benchmarks/quality.py --dataset fashion --data-root $(FASHION) --jobs 2 --resume

quality-fashion-quick: fashion-data
	OMP_NUM_THREADS=1 $(VPY) benchmarks/quality.py --dataset fashion --data-root $(FASHION) --quick --jobs 2 --resume

# issue 16: CMDA variants selected on validation across fashion and Wikipedia, tested, regime map (~2 h on 2 cores)
quality-variants: fashion-data
	OMP_NUM_THREADS=1 $(VPY) benchmarks/quality.py --study variants --jobs 2 --resume

# issue 21: CMDA in the paper's regime, long schedules on little data (~15 h on 2 cores in full; time-boxed runs
# continue with --resume, and the report names the cells not run yet)
quality-schedule: fashion-data
	OMP_NUM_THREADS=1 $(VPY) benchmarks/quality.py --study schedule --jobs 2 --resume

speed: env
	$(VPY) benchmarks/speed.py

clean-env:
	rm -rf $(CMDA_VENV)
