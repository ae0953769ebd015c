# Two commands do everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEMO_OUT ?= demo-out
DEMO_CUSTOMERS ?= 20000
DEMO_SEED ?= 42

.PHONY: install demo demo-full test test-spark lint unit bench clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt requirements-peers.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	$(PY) -m pip install --quiet --no-deps -r requirements-peers.txt
	touch $(STAMP)

# a few minutes on two cores; demo-full: the 50,000-customer shop (narrower intervals, about twice as long)
demo: $(STAMP)
	$(VENV)/bin/cxlab demo --out $(DEMO_OUT) --customers $(DEMO_CUSTOMERS) --seed $(DEMO_SEED)

demo-full: $(STAMP)
	$(VENV)/bin/cxlab demo --out $(DEMO_OUT) --full --seed $(DEMO_SEED)

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/mypy

# tests/spark runs in a process of its own (one Spark session for all of it) beside the rest on two workers
unit: $(STAMP)
	@$(PY) -m pytest -p no:cacheprovider --durations=10 -m "not spark_full" tests/spark > $(VENV)/spark-tests.log 2>&1 & spark=$$!; \
	$(PY) -m pytest -n 2 --ignore=tests/spark --durations=25; rest=$$?; \
	wait $$spark; sparked=$$?; echo "--- tests/spark (one Spark session) ---"; cat $(VENV)/spark-tests.log; \
	exit $$(( rest || sparked ))

test: lint unit

# every Spark test, the whole report on both engines too (about 10 minutes more on two cores)
test-spark: $(STAMP)
	$(PY) -m pytest -p no:cacheprovider --durations=10 tests/spark

bench: $(STAMP)
	for b in bench/*.py; do $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) $(DEMO_OUT) .pytest_cache .mypy_cache .ruff_cache
