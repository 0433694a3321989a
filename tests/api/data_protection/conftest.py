"""The console's browser-like client, for the member page and its export."""

from tests.api.console.conftest import console  # noqa: F401 - a fixture, shared
