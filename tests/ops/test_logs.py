"""LOG_FORMAT=json: one JSON object per line, with the request id, user, command, outcome and
duration; text stays the default."""

import json
import os
import subprocess
import sys
from pathlib import Path

BASE = Path(__file__).resolve().parents[2]

# Another process with the given LOG_FORMAT: one request and one refused command (neither needs
# the database).
PROBE = """
import django
django.setup()
from django.test import Client
from catalog import commands
from core.errors import PermissionDenied
Client().get("/no/such/page/", HTTP_X_REQUEST_ID="json-req-1")
try:
    commands.create_category(actor=None, name="Nope")
except PermissionDenied:
    pass
"""


def run_probe(log_format: str | None) -> list[str]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"}
    env.pop("LOG_FORMAT", None)
    if log_format:
        env["LOG_FORMAT"] = log_format
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=BASE, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return [line for line in result.stderr.splitlines() if "shop." in line]


def test_json_logs_are_one_object_per_line_with_the_request_and_command_fields():
    lines = [json.loads(line) for line in run_probe("json")]
    [request] = [line for line in lines if line["logger"] == "shop.requests"]
    assert request["request_id"] == "json-req-1"
    assert (request["method"], request["path"], request["status"]) == ("GET", "/no/such/page/", 404)
    assert request["route"] == "unmatched" and request["user"] is None
    assert request["duration_ms"] >= 0 and request["level"] == "INFO" and request["time"]
    [command] = [line for line in lines if line["logger"] == "shop.commands"]
    assert (command["command"], command["outcome"]) == ("create_category", "not_authenticated")
    assert command["request_id"] == "-" and command["duration_ms"] >= 0


def test_text_logs_are_the_default():
    lines = run_probe(None)
    assert any(
        "INFO shop.requests [json-req-1] GET /no/such/page/ 404 in" in line for line in lines
    ), lines
    for line in lines:
        try:
            json.loads(line)
        except json.JSONDecodeError:
            continue
        raise AssertionError(f"a JSON line in text mode: {line}")
