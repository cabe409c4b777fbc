"""README.md and README.ko.md say the same things to run: the same command lines, the same
API routes in their tables, the same architecture picture, and each links the other."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parents[1]
SHELL_BLOCK = {"sh", "shell", "bash", "console"}
# A line that runs something, wherever it stands; its description after two spaces or a
# comment is prose, and prose is translated.
COMMAND = re.compile(r"^(?:\$ |make |couponrush |\.venv/bin/)")
CONTINUED = re.compile(r"^\s+(?:\[|--)")
ROUTE = re.compile(r"^\| `((?:GET|POST|PATCH|PUT|DELETE) /[^`]*)`", re.MULTILINE)
EDGE = re.compile(r"-\.?->")


def _command(line: str) -> str:
    return re.split(r"\s{2,}|\s#", line.strip(), maxsplit=1)[0]


def commands(text: str) -> list[str]:
    """The command lines of a README, in order: every line of a shell block, and lines that
    start with ``$``, ``make``, ``couponrush`` or ``.venv/bin/`` (or continue one) elsewhere,
    each without its comment or description."""
    found: list[str] = []
    fence: str | None = None
    for line in text.splitlines():
        if line.startswith("```"):
            fence = None if fence is not None else line[3:].strip()
            continue
        in_shell = fence in SHELL_BLOCK
        continues = found and fence is not None and CONTINUED.match(line)
        command = _command(line)
        if (in_shell or COMMAND.match(line.strip()) or continues) and command[:1] not in "#":
            found.append(command)
    return found


def _read(name: str) -> str:
    return (ROOT / name).read_text()


def _mermaid(text: str) -> str:
    return text.split("```mermaid", 1)[1].split("```", 1)[0]


def test_both_readmes_run_the_same_command_lines() -> None:
    english, korean = commands(_read("README.md")), commands(_read("README.ko.md"))
    assert len(english) > 40  # the rule still finds the README's commands
    assert english == korean


def test_both_readmes_list_the_same_api_and_draw_the_same_picture() -> None:
    english, korean = _read("README.md"), _read("README.ko.md")
    assert ROUTE.findall(english) == ROUTE.findall(korean)
    assert len(ROUTE.findall(english)) >= 15
    assert len(EDGE.findall(_mermaid(english))) == len(EDGE.findall(_mermaid(korean)))


def test_each_readme_links_the_other() -> None:
    assert "(README.ko.md)" in _read("README.md")
    assert "(README.md)" in _read("README.ko.md")


def test_a_changed_command_is_caught() -> None:
    english = _read("README.md")
    assert commands(english.replace("make demo", "make demo2", 1)) != commands(english)
    assert commands(english.replace("  # installs", "  # 설치", 1)) == commands(english)
