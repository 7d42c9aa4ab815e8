# Two commands on a fresh machine: `make run` and `make test`. Each creates .venv when missing.
VENV   ?= .venv
PY     := $(VENV)/bin/python
DATA   ?= data/elnino_sst_monthly.csv
STAMP  := $(VENV)/.installed-stamp

.PHONY: run test lint forecast predict panel panel-forecast ui clean

UV_VERSION := 0.13.9

# uv.lock pins every transitive dependency; `uv sync --frozen` installs exactly that set.
$(STAMP): pyproject.toml uv.lock
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	UV_PROJECT_ENVIRONMENT=$(VENV) $(VENV)/bin/uv sync --frozen --quiet --extra dev --extra bench
	touch $(STAMP)

run: $(STAMP)  ## retrain on the bundled El Niño series with the embedded defaults
	$(VENV)/bin/lstm-pipeline retrain $(DATA)

test: $(STAMP)  ## lint, type-check and run the whole test suite
	$(PY) -m ruff check .
	$(PY) -m mypy
	$(PY) -m pytest

forecast: $(STAMP)  ## the next year after the data with intervals, from the champion
	$(VENV)/bin/lstm-pipeline forecast $(DATA) --model-uri models:/lstm-forecaster@champion \
		--output forecast.csv

predict: $(STAMP)  ## one-step backtest of the last 24 months with the champion
	$(VENV)/bin/lstm-pipeline predict $(DATA) --model-uri models:/lstm-forecaster@champion \
		--start 2009-01-01 --output predictions.csv

PANEL ?= data/us_macro_quarterly_panel.csv

panel: $(STAMP)  ## one global model for the 12 series of the bundled macro panel
	$(VENV)/bin/lstm-pipeline retrain $(PANEL) --series-column series_id --model-name macro-panel

panel-forecast: $(STAMP)  ## every series' next 8 quarters with intervals, from the panel's champion
	$(VENV)/bin/lstm-pipeline forecast $(PANEL) --model-uri models:/macro-panel@champion \
		--output panel_forecast.csv

ui: $(STAMP)  ## MLflow UI on the local store
	$(VENV)/bin/mlflow ui --backend-store-uri sqlite:///mlflow.db --port 5000

clean:
	rm -rf mlflow.db mlartifacts model_store .prefect predictions.csv forecast.csv \
		panel_forecast.csv
