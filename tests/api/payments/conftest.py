"""Fixtures for payments tests: the payment page mounted the way the lead mounts it (at root)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.payments.views import pages_router


@pytest.fixture
def pages_client(app_client: TestClient) -> TestClient:
    """The app with the secure payment page at /pay/{token}, and no token set."""
    if not any(getattr(r, "path", None) == "/pay/{token}" for r in app_client.app.routes):
        app_client.app.include_router(pages_router)
    return app_client
