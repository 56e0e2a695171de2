"""The README's commands are what CI runs."""

import re

from tests.conftest import REPO


def test_ci_runs_the_readme_test_command() -> None:
    readme = (REPO / "README.md").read_text()
    blocks = re.findall(r"```sh\n(.*?)\n```", readme, re.S)
    build_command, test_command = blocks[0].strip(), blocks[1].strip()
    assert "build.py" in build_command and "pytest" in test_command
    assert test_command in (REPO / ".ci" / "run").read_text()
