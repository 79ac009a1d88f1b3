"""Benchmarks live in files named bench_*.py: collect them here (`./dev bench`), never in the
ordinary suite (pyproject's norecursedirs keeps tests/benchmarks out of `./dev test`)."""
from __future__ import annotations

import pytest


def pytest_collect_file(file_path, parent):
    if file_path.suffix == ".py" and file_path.name.startswith("bench_") \
            and not parent.session.isinitpath(file_path):  # a file named on the command line is collected anyway
        return pytest.Module.from_parent(parent, path=file_path)
    return None
