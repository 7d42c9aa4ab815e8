"""Keep secrets out of messages and logs: credentials in URLs, signed-URL parameters, AWS key
ids, bearer tokens, and the values of the credential environment variables.

:func:`redact` cleans one text; :func:`install_log_redaction` makes every log record of the
process pass through it, tracebacks included, before any handler (the console, Prefect's API
log handler, which stores logs in Prefect's database) sees it. That also covers exceptions
chained with ``raise ... from exc``, whose botocore cause names the endpoint URL in full.
"""

from __future__ import annotations

import logging
import os
import re
import traceback
from typing import Any
from urllib.parse import urlsplit, urlunsplit

MASK = "***"
# scheme://user:password@host -> scheme://***@host (a bare user@ is masked too).
_USERINFO = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s'\"]+@")
# Query parameters that carry credentials: presigned S3 URLs, tokens, API keys.
_SECRET_PARAM = re.compile(
    r"(?i)(?P<name>[?&;][^=&\s'\"]*(?:signature|credential|token|secret|password|passwd|"
    r"api[_-]?key|access[_-]?key)[^=&\s'\"]*=)[^&\s'\"]+"
)
_AWS_KEY_ID = re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b")
_BEARER = re.compile(r"(?i)\b(?P<kind>bearer|basic|token)\s+[A-Za-z0-9._~+/=-]{8,}")
# Environment variables whose values are secrets wherever they appear.
SECRET_ENV = (
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_ACCESS_KEY_ID",
    "LSTM_PIPELINE_API_KEY",
    "MLFLOW_TRACKING_PASSWORD",
    "MLFLOW_TRACKING_TOKEN",
)
# Shorter values are not replaced: they would mask ordinary words ("testing", "admin").
_MIN_SECRET_LENGTH = 8


def redact(text: str) -> str:
    """``text`` with every credential it may carry replaced by ``***``.

    Args:
        text: A message, log line, URI or traceback.

    Returns:
        The text with user:password in URLs, secret query parameters, AWS access key ids,
        bearer tokens and the values of :data:`SECRET_ENV` masked.
    """
    text = _USERINFO.sub(lambda m: f"{m['scheme']}{MASK}@", text)
    text = _SECRET_PARAM.sub(lambda m: f"{m['name']}{MASK}", text)
    text = _AWS_KEY_ID.sub(MASK, text)
    text = _BEARER.sub(lambda m: f"{m['kind']} {MASK}", text)
    for name in SECRET_ENV:
        value = os.environ.get(name, "")
        if len(value) >= _MIN_SECRET_LENGTH:
            text = text.replace(value, MASK)
    return text


def public_url(url: str) -> str:
    """``url`` as a link for people: without ``user:password@`` and without its query string.

    Args:
        url: An ``http(s)://`` URL, e.g. a tracking server's.

    Returns:
        scheme://host[:port]/path, with no trailing slash.
    """
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path.rstrip("/"), "", ""))


def install_log_redaction() -> None:
    """Redact every log record this process creates, its traceback included. Idempotent."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "redacting", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record is the logging module's to report
            return record
        record.msg, record.args = redact(message), None
        if record.exc_info and record.exc_info[0] is not None:
            # Formatters use exc_text when it is set, so the traceback is never formatted raw.
            lines = traceback.format_exception(*record.exc_info)
            record.exc_text = redact("".join(lines).rstrip("\n"))
        return record

    factory.redacting = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
