# The two commands a newcomer needs: `make run` and `make test`.
# Everything else here is what they depend on.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
FLASK  := $(BIN)/flask --app portal
HTMX   := portal/web/static/vendor/htmx.min.js
MO     := portal/translations/de/LC_MESSAGES/messages.mo portal/translations/en/LC_MESSAGES/messages.mo

# Tests run in parallel, one pytest-xdist worker per core; TEST_WORKERS=0 runs
# them in one process. PYTEST_ARGS narrows the run: a file, a package's tests,
# a marker expression (`make test-quick` leaves out the browser tests).
TEST_WORKERS ?= auto
PYTEST_ARGS  ?=

.PHONY: setup run test test-quick bench check-python translations extract clean

setup: check-python $(VENV)/.installed $(HTMX) $(MO)

check-python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is required (set PYTHON=...)")'

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,test]'
	@touch $@

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# htmx is installed from npm (pinned in package-lock.json) and copied into our
# static files; the copy is ignored by git.
$(HTMX): node_modules/.package-lock.json
	mkdir -p $(dir $@)
	cp node_modules/htmx.org/dist/htmx.min.js $@

portal/translations/%/LC_MESSAGES/messages.mo: portal/translations/%/LC_MESSAGES/messages.po $(VENV)/.installed
	$(BIN)/pybabel compile --use-fuzzy -d portal/translations -l $* -i $< -o $@

translations: $(MO)

# For developers after changing user-facing strings.
extract: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output -o portal/translations/messages.pot .
	$(BIN)/pybabel update --no-wrap -i portal/translations/messages.pot -d portal/translations --no-fuzzy-matching

run: setup
	$(FLASK) db upgrade
	$(FLASK) demo seed
	$(BIN)/python -m portal.devserver

test: setup
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

test-quick: setup
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup -m "not browser" $(PYTEST_ARGS)

# Every benchmark in bench/ (PORTAL_BENCH_DATABASE_URL=postgresql://... runs them on
# PostgreSQL), then bench/RESULTS.md from their figures (BENCH_NOTE: a line on it).
BENCH_TOOLS := bench/common.py bench/profile_requests.py bench/results_table.py
BENCH_NOTE  ?=

bench: setup
	@for b in $(filter-out $(BENCH_TOOLS),$(wildcard bench/*.py)); do echo "== $$b"; $(BIN)/python $$b || exit 1; done
	@$(BIN)/python bench/results_table.py --note "$(BENCH_NOTE)" >/dev/null && echo "== bench/RESULTS.md written"

clean:
	rm -rf $(VENV) node_modules $(HTMX) $(MO) .pytest_cache
