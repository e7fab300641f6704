# Two commands matter: `make run` and `make test`. Everything else is here for them.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PO := $(wildcard locales/*/LC_MESSAGES/messages.po)
MO := $(PO:.po=.mo)

.PHONY: run test lint bench eval locales catalogs clean console

run: $(VENV)/.installed catalogs
	$(BIN)/bdg-bot run

console: $(VENV)/.installed catalogs
	$(BIN)/bdg-bot console

test: $(VENV)/.installed-dev catalogs
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

# ruff, mypy --strict, and the architecture's import contracts (pyproject.toml, [tool.importlinter]).
lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# The FAQ classifier on questions it never saw (the frozen file) and cross-validated.
eval: $(VENV)/.installed-dev catalogs
	$(BIN)/python bench/eval_matcher.py

bench: $(VENV)/.installed-dev catalogs
	@for script in bench/bench_*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

$(VENV)/.created:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	touch $@

$(VENV)/.installed: pyproject.toml setup.py $(VENV)/.created
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml setup.py $(VENV)/.created
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@ $(VENV)/.installed

# Compiled catalogs are build products (git-ignored), rebuilt when a .po changes.
catalogs: $(MO)

locales/%/LC_MESSAGES/messages.mo: locales/%/LC_MESSAGES/messages.po $(VENV)/.created
	$(BIN)/pybabel compile -D messages -d locales -l $* -i $< -o $@

# Re-extract UI strings after changing code, then translate the new entries in locales/vi.
locales: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k N_ -k _ --no-location --sort-output \
		--project=bdg-bot -o locales/messages.pot .
	$(BIN)/pybabel update -D messages -d locales -i locales/messages.pot --no-fuzzy-matching \
		--ignore-obsolete
	$(MAKE) catalogs

clean:
	rm -rf $(VENV) $(MO)
