"""OpenTelemetry traces and metrics for hostkit (``pip install "hostkit-ml[otel]"``).

>>> import hostkit.telemetry
>>> hostkit.telemetry.enable()  # the global tracer and meter providers
>>> hostkit.invoke("chat", "Hi")  # one "chat <model>" span, GenAI metrics

Off until :func:`enable` is called: until then nothing of OpenTelemetry is imported
and an operation pays nothing for it. See docs/observability.md.
"""

from hostkit._telemetry import disable, enable, is_enabled

__all__ = ["disable", "enable", "is_enabled"]
