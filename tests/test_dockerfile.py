"""The image docker-compose.yml builds holds every package the project installs."""

import re
import tomllib
from pathlib import Path

BASE = Path(__file__).resolve().parent.parent


def test_the_dockerfile_copies_every_package():
    project = tomllib.loads((BASE / "pyproject.toml").read_text())
    packages = {
        pattern.rstrip("*")
        for pattern in project["tool"]["setuptools"]["packages"]["find"]["include"]
    }
    copied = set(re.findall(r"^COPY (\S+) \./\1$", (BASE / "Dockerfile").read_text(), re.M))
    assert {"core", "orders"} <= packages
    assert packages - copied == set()
