"""The registered pyfunc of a panel as code (MLflow's "models from code").

:func:`lstm_model.delivery.global_pyfunc.log_global_forecaster` logs this file: loading the
model runs only this module, nothing is unpickled.
"""

from mlflow.models import set_model

from lstm_model.delivery.global_pyfunc import GlobalForecaster

set_model(GlobalForecaster())
