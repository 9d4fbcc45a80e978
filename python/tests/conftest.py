"""Fixtures: the spec's vectors (copied into core/tests/vectors/)."""

from __future__ import annotations

from typing import Any, Dict

import pytest

try:
    import nacoscrypt._native  # noqa: F401  (the extension module, not only the sources)
except ImportError as e:  # pragma: no cover
    raise ImportError(
        "nacoscrypt is not installed, or the source folder python/nacoscrypt (which has no "
        "extension module) shadows it: run `pip install ./python`, then `pytest python/tests` "
        "(not `python -m pytest` inside python/)"
    ) from e

from support import load_vectors


@pytest.fixture(scope="session")
def token_vectors() -> Dict[str, Any]:
    return load_vectors("tokens.json")


@pytest.fixture(scope="session")
def ecb_vectors() -> Dict[str, Any]:
    return load_vectors("config-nacos-ecb.json")


@pytest.fixture(scope="session")
def local_kms_vectors() -> Dict[str, Any]:
    return load_vectors("config-local-kms.json")
