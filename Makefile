# tfaug: `make run` sets up and runs the main job; `make test` sets up and runs the tests.
# Both are idempotent: the virtual environment is rebuilt only when setup.py or
# constraints.txt (the exact tested versions it installs) changes.

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
FASHION_MNIST_DIR := /usr/share/datasets/fashion-mnist
export TF_ENABLE_ONEDNN_OPTS ?= 1
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: run test setup data bench clean

# The study as STUDY_PROCESSES processes sharing runs/study, the cores split between
# them (on 2 cores, two processes of one core each took 18.5 min, one over both 24.0:
# its small steps do not spread over two cores): each takes the next run no other
# holds, and the first ends with the whole report (the others log to
# runs/study_process<i>.log).
# Rerunning `make run` resumes whatever was left.
STUDY_PROCESSES ?= 2
STUDY := $(PY) bin/study.py --hparams=study_fashion_mnist --out_dir=runs/study

run: setup data
	@mkdir -p runs; \
	threads=$$(( $$(nproc) / $(STUDY_PROCESSES) )); [ $$threads -ge 1 ] || threads=1; \
	export TF_NUM_INTRAOP_THREADS=$$threads TF_NUM_INTEROP_THREADS=$$threads; pids=; \
	for i in $$(seq 2 $(STUDY_PROCESSES)); do \
	  $(STUDY) > runs/study_process$$i.log 2>&1 & pids="$$pids $$!"; done; \
	$(STUDY); status=$$?; \
	for pid in $$pids; do wait $$pid || { status=1; \
	  echo "A study process failed: see runs/study_process*.log"; }; done; \
	exit $$status

test: setup data
	$(PY) -m pytest -q tests

setup: $(STAMP)

$(STAMP): setup.py constraints.txt
	@command -v $(PYTHON) >/dev/null || { echo "tfaug needs Python 3.11 ($(PYTHON) not found); set PYTHON=/path/to/python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e '.[test]'
	touch $@

# The real Fashion-MNIST, from Debian's dataset-fashion-mnist package (no download at
# run time). Elsewhere, point the entry points at IDX files with --data_dir.
data:
	@if [ ! -e $(FASHION_MNIST_DIR)/train-images-idx3-ubyte.gz ]; then \
	  if command -v apt-get >/dev/null; then \
	    SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	    echo "Installing Fashion-MNIST (Debian package dataset-fashion-mnist)"; \
	    $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq dataset-fashion-mnist >/dev/null \
	      || echo "Could not install dataset-fashion-mnist; tests that need it are skipped."; \
	  else \
	    echo "No apt-get: put Fashion-MNIST IDX files somewhere and pass --data_dir."; \
	  fi; \
	fi

# With PEER_DIR (an extracted flow-lp checkout) and PEER_PYTHON (a Python with CPU
# PyTorch; see ../shared/bench/peer/README.md), the reference runs before tfaug in each
# of BENCH_ROUNDS interleaved rounds of the same sitting, and benchmarks/compare.py
# prints the median img/s and tfaug / flow-lp ratios with their range. With BEFORE_DIR
# (a checkout of an earlier commit, e.g. `git worktree add ../before <commit>`), its own
# benchmark scripts run in each round too, with this environment, and compare.py adds
# every tfaug row with the ratio now / before.
PEER_PYTHON ?= python3
PEER_BENCH ?= ../shared/bench/peer/peer_bench.py
BENCH_DIR ?= runs/bench
BENCH_ROUNDS ?= 1

bench: setup
	mkdir -p $(BENCH_DIR)
	@set -e; for i in $$(seq 1 $(BENCH_ROUNDS)); do \
	  echo "== round $$i of $(BENCH_ROUNDS)"; \
	  if [ -n "$(PEER_DIR)" ]; then \
	    PEER_DIR=$(PEER_DIR) $(PEER_PYTHON) $(PEER_BENCH) --sections A,B,C \
	      --out $(BENCH_DIR)/peer$$i.json; fi; \
	  $(PY) benchmarks/flow_throughput.py --out=$(BENCH_DIR)/flow$$i.json; \
	  $(PY) benchmarks/augment_throughput.py --setups=lenet,small_cnn \
	    --out=$(BENCH_DIR)/augment$$i.json; \
	  if [ -n "$(BEFORE_DIR)" ]; then \
	    (cd $(BEFORE_DIR) && export PYTHONPATH=$(BEFORE_DIR) && \
	     $(abspath $(PY)) benchmarks/flow_throughput.py --out=$(abspath $(BENCH_DIR))/before_flow$$i.json && \
	     $(abspath $(PY)) benchmarks/augment_throughput.py --setups=lenet,small_cnn \
	       --out=$(abspath $(BENCH_DIR))/before_augment$$i.json); fi; \
	done
	@if [ -n "$(PEER_DIR)" ]; then \
	  r=$$(seq 1 $(BENCH_ROUNDS)); \
	  $(PY) benchmarks/compare.py --flow $$(for i in $$r; do echo $(BENCH_DIR)/flow$$i.json; done) \
	    --augment $$(for i in $$r; do echo $(BENCH_DIR)/augment$$i.json; done) \
	    --peer $$(for i in $$r; do echo $(BENCH_DIR)/peer$$i.json; done) \
	    $$(if [ -n "$(BEFORE_DIR)" ]; then \
	      echo --before_flow; for i in $$r; do echo $(BENCH_DIR)/before_flow$$i.json; done; \
	      echo --before_augment; for i in $$r; do echo $(BENCH_DIR)/before_augment$$i.json; done; fi); fi

clean:
	rm -rf $(VENV) *.egg-info
