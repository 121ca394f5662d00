# Two set-up commands (see README): `make run` and `make test`. Both are idempotent.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PORT   ?= 8501
ADDRESS ?= 127.0.0.1
PORT_API ?= 8000
HOST_API ?= 127.0.0.1

.PHONY: run api test lint browser bench docs deep tracking test-deep clean-venv

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# uv installs the same pinned requirements as pip in about 36 s (pip: about 90 s from its
# cache); where uv cannot be had or fails, pip does the install. Bytecode is compiled at
# install, as pip does: where PYTHONDONTWRITEBYTECODE is set, a venv without it compiles
# every module it imports again in every process (the suite starts many).
UV_VERSION := 0.13.9
INSTALL = { $(PY) -m pip install --quiet uv==$(UV_VERSION) \
	    && $(VENV)/bin/uv pip install --quiet --compile-bytecode --python $(PY) -r $(1); } \
	  || $(PY) -m pip install --quiet -r $(1)

# Stamp files make re-runs skip the install unless a requirements file changed.
$(VENV)/.runtime-installed: requirements.txt | $(PY)
	$(call INSTALL,requirements.txt)
	touch $@

$(VENV)/.dev-installed: requirements-dev.txt requirements-tracking.txt requirements.txt | $(PY)
	$(call INSTALL,requirements-dev.txt)
	touch $@ $(VENV)/.runtime-installed

# The sequence learners' training (torch, from requirements-deep.txt). pip, not uv: pip
# takes torch's CPU build from where this machine keeps it.
$(VENV)/.deep-installed: requirements-deep.txt requirements-dev.txt requirements.txt | $(VENV)/.dev-installed
	$(PY) -m pip install --quiet -r requirements-deep.txt
	touch $@

deep: $(VENV)/.deep-installed

# MLflow's client for experiment tracking (requirements-tracking.txt; the dev install has it).
$(VENV)/.tracking-installed: requirements-tracking.txt requirements.txt | $(PY)
	$(call INSTALL,requirements-tracking.txt)
	touch $@

tracking: $(VENV)/.tracking-installed

# The seed step builds a new store from the offline sample (seconds) and starts the default
# model's training as a background job (the Training page's): the server answers at once,
# and the daily review shows the job's progress until the model is active.
run: $(VENV)/.runtime-installed
	$(PY) -m api.lock streamlit --address $(ADDRESS)   # beyond loopback only with [auth] and an allow-list
	$(PY) -m engine.workflows seed
	$(PY) -m streamlit run app.py --server.address $(ADDRESS) --server.port $(PORT)

# The REST API under uvicorn; beyond loopback (HOST_API=0.0.0.0) only with an API key.
# Until the first model is active, forecasts answer 503 with Retry-After (see the seed step).
api: $(VENV)/.runtime-installed
	$(PY) -m engine.workflows seed
	$(PY) -m api --host $(HOST_API) --port $(PORT_API)

lint: $(VENV)/.dev-installed
	$(PY) -m ruff check .

# The browser tests drive Debian's chromium (Playwright's own browser download is not used).
browser:
	@command -v chromium >/dev/null || { \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq --no-install-recommends chromium; }

# The project's own modules compiled first, for the same reason as the install's bytecode
test: lint browser
	$(PY) -m compileall -q -j 0 app.py api engine models store views tests > /dev/null
	$(PY) -m pytest

# The tests that train with torch (marked deep; `make test` leaves them out).
test-deep: lint $(VENV)/.deep-installed
	$(PY) -m pytest -m deep

bench: $(VENV)/.dev-installed
	$(PY) -m engine.bench all   # writes docs/benchmarks.json and docs/benchmarks.md

# The docs site (mkdocs.yml, docs/) into site/; strict: a broken link or a page left out
# of the nav fails the build.
docs: $(VENV)/.dev-installed
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict --site-dir site   # the env var: no EOL banner

clean-venv:
	rm -rf $(VENV)
