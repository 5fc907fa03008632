"""Building blocks for provider adapters, ours and third-party ones (stable to import).

An adapter subclasses :class:`hostkit.Provider` (or :class:`ServerlessProvider`)
and reuses these instead of writing its own retry loop, error mapper, SSE parser
or price loader. See docs/writing-a-provider.md.

``HttpClient`` and ``stainless_http_client`` give each call a total deadline (the
``timeout``) and a pool of ``max_connections`` (the provider setting); code that runs
many calls at once wraps them in ``connection_pool(concurrency)``.
"""

from hostkit._artifacts import (
    UploadProgress,
    content_digest,
    file_sha256,
    is_local_model,
    local_model_files,
    local_model_path,
    tree_sha256,
)
from hostkit._gpus import parse_accelerator
from hostkit._http import (
    DEFAULT_MAX_CONNECTIONS,
    NO_DELAY,
    REQUEST_ID_HEADERS,
    HttpClient,
    connection_pool,
    error_from_response,
    message_from_body,
    parse_go_duration,
    parse_retry_after,
    request_id_from,
    translate_httpx_error,
    translate_transport_errors,
)
from hostkit._openai import (
    build_chat_body,
    chat_stream,
    iter_sse_data,
    post_chat_stream,
    result_from_completion,
    result_from_server,
    to_messages,
    usage_from,
)
from hostkit._pricing import Hardware, PriceRow, PriceTable, instance_offering, load_hardware
from hostkit._progress import report as report_progress
from hostkit._redact import Secret, get_logger
from hostkit._retry import RetryPolicy
from hostkit._sdkclients import SdkClients, stainless_http_client
from hostkit._serverkey import ServerKeys, derive_server_key
from hostkit._serverless import DEDICATED_FIELDS, ServerlessProvider, closest_matches

__all__ = [
    "DEDICATED_FIELDS",
    "DEFAULT_MAX_CONNECTIONS",
    "NO_DELAY",
    "REQUEST_ID_HEADERS",
    "Hardware",
    "HttpClient",
    "PriceRow",
    "PriceTable",
    "RetryPolicy",
    "SdkClients",
    "Secret",
    "ServerKeys",
    "ServerlessProvider",
    "UploadProgress",
    "build_chat_body",
    "chat_stream",
    "closest_matches",
    "connection_pool",
    "content_digest",
    "derive_server_key",
    "error_from_response",
    "file_sha256",
    "get_logger",
    "instance_offering",
    "is_local_model",
    "iter_sse_data",
    "load_hardware",
    "local_model_files",
    "local_model_path",
    "message_from_body",
    "parse_accelerator",
    "parse_go_duration",
    "parse_retry_after",
    "post_chat_stream",
    "report_progress",
    "request_id_from",
    "result_from_completion",
    "result_from_server",
    "stainless_http_client",
    "to_messages",
    "translate_httpx_error",
    "translate_transport_errors",
    "tree_sha256",
    "usage_from",
]
