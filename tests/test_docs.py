"""Every CLI command is documented (docs/cli.md) and the README keeps its two set-up commands."""

from pathlib import Path

from plumetrace.cli import app

ROOT = Path(__file__).resolve().parents[1]


def _commands():
    names = [c.name for c in app.registered_commands]
    for group in app.registered_groups:
        names += [f"{group.name} {c.name}" for c in group.typer_instance.registered_commands]
    return names


def test_every_command_is_documented():
    cli_doc = (ROOT / "docs" / "cli.md").read_text()
    readme = (ROOT / "README.md").read_text()
    for name in _commands():
        assert f"plumetrace {name}" in cli_doc, f"docs/cli.md does not document `plumetrace {name}`"
        assert f"plumetrace {name}" in readme, f"README does not mention `plumetrace {name}`"


def test_readme_set_up_commands_match_ci():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert 'pip install -e ".[test,bench,postgres]"' in readme and ".venv/bin/python -m pytest" in readme
    assert ".venv/bin/plumetrace demo" in readme  # the main job (contract 5)
    assert "-m pytest" in ci and ".[test,bench,postgres]" in ci
