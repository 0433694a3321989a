"""The bot side's layers: `bot` is shared by the action server and the channels, which never
import each other, and nothing here imports the records API's code (`api`). `harness` (starting
and stopping processes) is imported from both virtual environments, so it imports neither half.

Every import counts, including one inside a function: a lazy import is still a dependency,
it only fails later.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("bot", "actions", "channels", "harness")
# What each package must never import.
FORBIDDEN = {
    "bot": ("actions", "channels", "api"),
    "actions": ("channels", "api"),
    "channels": ("actions", "api"),
    "harness": ("api", "bot", "actions", "channels", "rasa", "rasa_sdk"),
}


def module_name(path: Path) -> str:
    """`channels/email/imap.py` -> `channels.email.imap` (a package's __init__ is the package)."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """Every module `path` imports, anywhere in it, with the line it is imported on."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                # `from . import x` / `from ..y import z`, resolved against this module.
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            found.append((node.lineno, target))
    return found


def layer_violations(paths: list[Path]) -> list[str]:
    """`file:line imports module` for every import that crosses a layer it must not."""
    found = []
    for path in paths:
        layer = path.relative_to(ROOT).parts[0]
        for line, target in imported_modules(path):
            if target.split(".")[0] in FORBIDDEN[layer]:
                found.append(f"{path.relative_to(ROOT)}:{line} imports {target}")
    return found


def bot_side_modules() -> list[Path]:
    return sorted(path for package in PACKAGES for path in (ROOT / package).rglob("*.py"))


def test_the_shared_package_the_actions_and_the_channels_keep_to_their_layers() -> None:
    modules = bot_side_modules()
    assert {module_name(path).split(".")[0] for path in modules} == set(PACKAGES)

    assert layer_violations(modules) == []


@pytest.mark.parametrize(
    ("where", "source", "crossing"),
    [
        ("actions/x.py", "def f():\n    from channels.safety import clean_text\n", "channels"),
        ("channels/email/x.py", "import actions.base\n", "actions"),
        ("channels/email/x.py", "from ...actions import base\n", "actions"),
        ("bot/x.py", "from channels import rest\n", "channels"),
        ("bot/nlu/x.py", "async def f():\n    import api.config\n", "api"),
        ("harness/x.py", "from bot.settings import read_settings\n", "bot"),
    ],
)
def test_a_crossing_is_found_wherever_it_is_written(
    where: str, source: str, crossing: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = tmp_path / where
    module.parent.mkdir(parents=True)
    module.write_text(source, encoding="utf-8")
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)

    [violation] = layer_violations([module])

    assert violation.startswith(f"{where}:") and f"imports {crossing}" in violation
