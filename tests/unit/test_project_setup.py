"""The README's set-up commands are the ones CI runs, and they stay exactly two."""

import re
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[2]


def _setup_block() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"## Set up\s+```bash\n(.*?)```", readme, re.S)
    assert block, "README.md has no ```bash block under '## Set up'"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_readme_holds_exactly_two_commands_one_for_the_app_and_one_for_the_tests():
    lines = _setup_block()
    commands = [line for line in lines if not line.startswith("#")]
    assert lines[0] == "# run the app" and lines[2] == "# run the tests"
    assert len(commands) == 2
    assert commands[0].endswith("streamlit run app.py")
    assert "python -m pytest" in commands[1]


def test_both_commands_install_the_cpu_torch_before_the_project():
    for command in (line for line in _setup_block() if not line.startswith("#")):
        assert command.index("torch==2.13.0") < command.index("pip install -e")


def test_ci_runs_the_readme_test_command_and_installs_chromium_through_it():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "'^# run the tests' README.md" in ci
    assert "apt-get install -y chromium" in _setup_block()[3]


def test_the_test_command_checks_lint_formatting_and_types_after_installing_and_before_pytest():
    command = _setup_block()[3]
    steps = [
        'pip install -e ".[test]"',
        "ruff check .",
        "ruff format --check .",
        "&& mypy &&",
        "python -m pytest",
    ]
    positions = [command.index(step) for step in steps]
    assert positions == sorted(positions)


def test_the_test_extra_carries_what_the_browser_and_wire_tests_import():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    test_extra = " ".join(project["optional-dependencies"]["test"])
    for package in ("pytest", "playwright", "openai"):
        assert package in test_extra
