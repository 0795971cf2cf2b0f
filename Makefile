# Recurrent Neural Networks, Interactively — one entry point for readers, learners, teachers, CI.
#   make book         build the HTML book into _build/html (executes the notebooks, cached)
#   make test         the whole test suite (rnnlab, notebooks via nbval, book, assignments, browser)
#   make pdf          the book as one PDF into _build/pdf/book.pdf (headless chromium)
#   make lab          JupyterLab on the chapters (the learner's view: no grading UI)
#   make bench        speed benchmarks (rnnlab vs torch.nn, explorer latency)
#   make assignments  student versions of the nbgrader assignments into assignments/release/
#   make course DIR=path                               a ready nbgrader course directory
#   make grade DIR=path [ASSIGNMENT=name] [WORKERS=n]  sandboxed grading -> DIR/grades.csv
#   make gradescope   one Gradescope autograder zip per assignment into gradescope/
#   make lock         re-pin requirements-lock.txt after editing requirements*.txt (lock-upgrade: newest)

# One BLAS thread per process: the layers' matmuls are small, and with pytest-xdist's two
# workers on two cores, multithreaded OpenBLAS oversubscribes the CPU and spins (measured 10-100x
# slower per matmul on a loaded machine). Parallelism comes from the workers instead.
export OPENBLAS_NUM_THREADS ?= 1
export OMP_NUM_THREADS ?= 1
export MKL_NUM_THREADS ?= 1

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.installed
JOBS   ?= 2

.PHONY: book pdf test lab bench assignments lint clean venv lock lock-upgrade course grade gradescope

$(STAMP): requirements.txt requirements-dev.txt requirements-lock.txt pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	# Both lists begin with `-c requirements-lock.txt`: pip installs exactly the locked versions.
	$(PIP) install -q -r requirements.txt -r requirements-dev.txt
	# Build matplotlib's font cache now, so that its one-time notice never lands in a notebook
	# output that nbval compares.
	$(PY) -c "import matplotlib.pyplot"
	touch $(STAMP)

venv: $(STAMP)

book: $(STAMP)
	$(PY) -m tools.build_book

# Single-page HTML printed by headless chromium; see tools/build_pdf.py (and why not LaTeX: README).
pdf: $(STAMP)
	$(PY) -m tools.build_pdf

# Tests that read the built book; they run after the build. The HTML check needs nothing else and
# always runs; the browser and PDF tests skip with one line where no chromium is found (unless
# RNNLAB_REQUIRE_BROWSER=1 / RNNLAB_REQUIRE_PDF=1, as in CI): see tests/optional_parts.py.
BUILT_TESTS := tests/test_html.py tests/test_browser.py tests/test_pdf.py

test: $(STAMP)
	$(PY) -m ruff check src tests benchmarks experiments tools
	$(PY) -m tools.sync_notebooks --check
	$(PY) -m pytest -n $(JOBS) --dist loadscope $(addprefix --ignore=,$(BUILT_TESTS)) tests
	PYTHONPATH=tests $(PY) -m pytest -n $(JOBS) --dist loadscope -p nbval_timing --nbval --nbval-sanitize-with tests/nbval_sanitize.cfg chapters
	$(PY) -m tools.build_book
	$(PY) -m tools.build_pdf --if-possible
	$(PY) -m pytest $(BUILT_TESTS)

# The learner's lab: the file browser at chapters/, nbgrader's grading UI off, --allow-root
# added (and said) when run as root. See tools/lab.py.
lab: $(STAMP)
	$(PY) -m tools.lab

bench: $(STAMP)
	$(PY) benchmarks/bench_layers.py
	$(PY) benchmarks/bench_explorer.py

assignments: $(STAMP)
	$(PY) -m tools.release_assignments

# Teachers: grading runs student code in a bubblewrap sandbox (apt-get install bubblewrap) and
# refuses without one; see chapters/08_teaching/teachers.md.
course: $(STAMP)
	@test -n "$(DIR)" || { echo "usage: make course DIR=path" >&2; exit 2; }
	$(PY) -m tools.grade course "$(DIR)"

grade: $(STAMP)
	@test -n "$(DIR)" || { echo "usage: make grade DIR=path [ASSIGNMENT=name] [WORKERS=n]" >&2; exit 2; }
	$(PY) -m tools.grade grade "$(DIR)" $(if $(ASSIGNMENT),--assignment $(ASSIGNMENT)) $(if $(WORKERS),--workers $(WORKERS))

gradescope: $(STAMP)
	$(PY) -m tools.grade gradescope --out gradescope

# requirements-lock.txt from the loose lists (uv pip compile; see tools/lock.py). `make lock` keeps
# the existing pins and adds what is new; `make lock-upgrade` moves everything to the newest
# versions the bounds allow. Then `make venv` and `make test`. Needs only Python, not the venv.
lock:
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m tools.lock

lock-upgrade:
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m tools.lock --upgrade

lint: $(STAMP)
	$(PY) -m ruff check src tests benchmarks experiments tools
	$(PY) -m mypy

clean:
	rm -rf _build .jupyter_cache assignments/release gradescope
