"""The registered pyfunc of a locally trained panel as code (MLflow's "models from code").

:func:`lstm_model.delivery.local_pyfunc.log_local_forecaster` logs this file: loading the
model runs only this module, nothing is unpickled.
"""

from mlflow.models import set_model

from lstm_model.delivery.local_pyfunc import LocalPanelForecaster

set_model(LocalPanelForecaster())
