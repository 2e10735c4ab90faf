# Two commands on a fresh Debian/Ubuntu machine with Python 3.11:
#   make run    install what is needed, start redis (if none answers), web and worker on :8080
#   make test   install what is needed, run the whole test suite
SHELL := /bin/bash
VENV := .venv
PYTHON ?= python3
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: run test bench redis-server clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV) || { $(SUDO) apt-get update && $(SUDO) apt-get install -y python3-venv && $(PYTHON) -m venv $(VENV); }
	$(VENV)/bin/pip install -q --upgrade pip

$(VENV)/.runtime: requirements.txt | $(VENV)/bin/python
	$(VENV)/bin/pip install -q -r requirements.txt
	touch $@

$(VENV)/.test: requirements.txt requirements-test.txt | $(VENV)/bin/python
	$(VENV)/bin/pip install -q -r requirements-test.txt
	touch $@ $(VENV)/.runtime

redis-server:
	@command -v redis-server >/dev/null || { $(SUDO) apt-get update && $(SUDO) apt-get install -y redis-server; }

run: $(VENV)/.runtime redis-server
	@if python -m workers.broker check; then \
		echo "A Redis already answers at the configured URL: starting web and worker only"; \
		exec honcho start web worker; \
	else \
		exec honcho start; \
	fi

test: $(VENV)/.test redis-server
	python -m pytest -q tests

# Every benchmark that prints `ratio: X (target <= Y)`; bench/load.py is the load test (see README).
bench: $(VENV)/.test redis-server
	for b in $(filter-out bench/load.py,$(wildcard bench/[a-z]*.py)); do python $$b || exit 1; done

clean:
	rm -rf $(VENV) var .pytest_cache
