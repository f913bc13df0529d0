# Kompas: the two commands of the README are `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
export KOMPAS_ENV ?= development

.PHONY: demo demo-school test setup translations messages lint run vendor

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python requirements.txt requirements-dev.txt
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

setup: $(VENV)/.installed translations

# Compiled catalogues are build output, not committed.
translations: $(VENV)/.installed
	$(BIN)/pybabel compile -d app/translations --statistics

# After changing texts: extract them, then translate the new ones in the .po file.
messages: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -k _nl:1,2 --ignore-dirs='.* __pycache__ tests bench migrations' \
		-o app/translations/messages.pot .
	$(BIN)/pybabel update --no-fuzzy-matching -i app/translations/messages.pot -d app/translations

## make demo: a fresh SQLite database with the demo organisation, served on :5000
demo: setup
	$(BIN)/flask --app wsgi db upgrade
	$(BIN)/flask --app wsgi kompas demo --reset
	$(BIN)/flask --app wsgi run --host 127.0.0.1 --port 5000

## make demo-school: the same with a gymnasium (classes, class teams, student council, board)
demo-school: setup
	$(BIN)/flask --app wsgi db upgrade
	$(BIN)/flask --app wsgi kompas demo --school --reset
	$(BIN)/flask --app wsgi run --host 127.0.0.1 --port 5000

run: setup
	$(BIN)/flask --app wsgi run --host 127.0.0.1 --port 5000

## make test: the whole suite, on SQLite and on PostgreSQL, with the browser tests
test:
	bash scripts/test.sh

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/mypy --follow-imports=silent app/domain app/services

vendor:
	bash scripts/vendor.sh
