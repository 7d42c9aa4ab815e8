"""HTTP inference service that serves the registry's champion and follows it when it moves.

``lstm-pipeline serve --model-uri models:/NAME@champion`` runs :func:`serve`. The modules, by
lifecycle stage:

- ``forecaster``: the SavedModel's raw-history signature as ``forecast(windows) -> values``.
- ``registry``: model URIs, loading a registered version, the holder and the alias watcher.
- ``payloads``: request bodies -> validated windows, or a precise 4xx.
- ``app``: the FastAPI endpoints, auth and structured request logs.
- ``metrics``: Prometheus metrics.
- ``server``: assembly, JSON logging and uvicorn.
"""

from lstm_model.service.forecaster import ServedForecaster, load_forecaster
from lstm_model.service.server import BackgroundServer, build_service, serve

__all__ = ["BackgroundServer", "ServedForecaster", "build_service", "load_forecaster", "serve"]
