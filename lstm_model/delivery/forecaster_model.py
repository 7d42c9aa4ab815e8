"""The registered pyfunc as code (MLflow's "models from code").

:func:`lstm_model.delivery.pyfunc.log_forecaster` logs this file instead of a pickled object:
nothing is serialised with CloudPickle, and loading the model runs only this module.
"""

from mlflow.models import set_model

from lstm_model.delivery.pyfunc import LSTMForecaster

set_model(LSTMForecaster())
