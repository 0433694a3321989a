from fastapi.testclient import TestClient

from api.config import Settings


def test_health_needs_no_token(app_client: TestClient) -> None:
    assert app_client.get("/api/v1/health").json()["status"] == "ok"


def test_a_default_secret_is_refused_outside_development() -> None:
    import pytest

    with pytest.raises(ValueError, match="MEMBERDESK_SECRET_KEY"):
        Settings(env="production", service_token="s" * 40)
    Settings(env="development")  # fine on a laptop
