# lstm-pipeline inference service: serves the registry's champion and follows it when it moves.
#
#   docker build -t lstm-serve .
#   docker run -p 8080:8080 -e MLFLOW_TRACKING_URI=http://mlflow:5000 lstm-serve
#   docker run -p 8080:8080 -e MLFLOW_TRACKING_URI=http://mlflow:5000 lstm-serve \
#       --model-uri models:/sst@champion --poll-seconds 10
#
# With the local sqlite store instead of a tracking server, mount the project folder at the
# same path (the store records absolute artifact paths):
#   docker run -p 8080:8080 -v "$PWD:$PWD" -w "$PWD" lstm-serve
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MLFLOW_DISABLE_TELEMETRY=true \
    DO_NOT_TRACK=true \
    TF_CPP_MIN_LOG_LEVEL=2

WORKDIR /srv

# Dependencies first (pinned in pyproject.toml), so code changes do not reinstall them.
COPY pyproject.toml README.md ./
COPY lstm_model/ lstm_model/
COPY tasks/ tasks/
COPY flows/ flows/
COPY expectations/ expectations/
RUN pip install . \
    && useradd --create-home --uid 10001 --shell /usr/sbin/nologin serve \
    && chown serve /srv

USER serve
EXPOSE 8080

# /ping answers 200 once the model is loaded (loading takes ~10-20 s: TensorFlow import).
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/ping', timeout=4)"]

ENTRYPOINT ["lstm-pipeline", "serve", "--host", "0.0.0.0", "--port", "8080"]
CMD ["--model-uri", "models:/lstm-forecaster@champion"]
