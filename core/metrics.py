"""The commands' own metrics: counted by outcome and timed wherever they run (web, worker,
admin, scripts). The /metrics endpoint and the HTTP metrics are config.metrics."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

# Buckets reach down to a millisecond (a query served from a summary table) and include the
# alert thresholds, so histogram_quantile is exact at them.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

COMMANDS = Counter(
    "shop_commands_total",
    "Commands run, by command and outcome: ok, or the error code of the refusal.",
    ["command", "outcome"],
)
COMMAND_SECONDS = Histogram(
    "shop_command_duration_seconds",
    "How long commands took, refusals included.",
    ["command"],
    buckets=LATENCY_BUCKETS,
)


def command_ran(command: str, outcome: str, seconds: float) -> None:
    COMMANDS.labels(command, outcome).inc()
    COMMAND_SECONDS.labels(command).observe(seconds)
