"""The repository explains itself: no tracked text file sends a reader outside a fresh clone (a sibling folder of the
developers' machine, an absolute path of it), every Markdown file a text names exists in the repository, and every
section a reference quotes (`config/RULES.md, "Late evidence"`) is a heading of that file."""

from __future__ import annotations

import re
import subprocess
from functools import cache
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parents[2]
# This file is left out of the scan: its last test shows the check examples of what it refuses.
THIS_FILE = Path(__file__).resolve().relative_to(ROOT).as_posix()

# Written in two pieces so that this file does not name the folder it looks for.
MACHINE_FOLDER = re.compile(re.escape("/" + "work" + "/"))
# A relative path that climbs: resolved from the file's folder, it must stay inside the repository.
CLIMBING_PATH = re.compile(r"(?<![\w./])((?:\.\./)+[\w.-]+(?:/[\w.-]+)*)")
URL = re.compile(r"[a-z][a-z0-9+.-]*://\S+", re.IGNORECASE)
# A Markdown file's name, with or without folders (`config/RULES.md`, `../docs/design.md`, `RULES.md`).
MARKDOWN_NAME = re.compile(r"(?<![\w/.-])((?:[\w.-]+/)*[\w.-]*[\w-]\.md)(?![\w/-])")
# A Markdown file's name followed by the titles of its sections in quotes: `config/RULES.md, "Vetoes"`,
# `config/RULES.md`, "Appeals" and "Vetoes".
SECTION_REFERENCE = re.compile(r"((?:[\w.-]+/)*[\w.-]*[\w-]\.md)`?,?[ \t]+((?:\"[^\"\n]+\"(?:[ \t]*(?:,|and|or)[ \t]*)?)+)")
QUOTED = re.compile(r"\"([^\"\n]+)\"")
HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$", re.MULTILINE)


def tracked_text_files() -> dict[str, str]:
    """Every file git tracks that is UTF-8 text, by its path from the repository's root."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    texts = {}
    for name in filter(None, listed.decode().split("\0")):
        path = ROOT / name
        if name == THIS_FILE or not path.is_file():  # not path.is_file(): deleted in the working tree, not yet committed
            continue
        data = path.read_bytes()
        if b"\0" in data:
            continue
        try:
            texts[name] = data.decode("utf-8")
        except UnicodeDecodeError:
            continue
    return texts


def _inside(path: PurePosixPath) -> bool:
    """Whether a path relative to the repository's root stays inside it."""
    parts: list[str] = []
    for part in path.parts:
        if part == "..":
            if not parts:
                return False
            parts.pop()
        elif part not in (".", ""):
            parts.append(part)
    return True


def _resolve(name: str, folder: PurePosixPath, files: set[str]) -> str | None:
    """The tracked file a name in a file of `folder` means: a path from that folder or from the root, or, for a bare
    file name, the one tracked file of that name."""
    if "/" not in name:
        same = sorted(f for f in files if PurePosixPath(f).name == name)
        return same[0] if len(same) == 1 else None
    for start in (folder, PurePosixPath()):
        parts: list[str] = []
        for part in (start / name).parts:
            if part == "..":
                if not parts:
                    break
                parts.pop()
            elif part != ".":
                parts.append(part)
        else:
            candidate = "/".join(parts)
            if candidate in files:
                return candidate
    return None


@cache
def _headings(text: str) -> frozenset[str]:
    return frozenset(m.group(1).strip() for m in HEADING.finditer(text))


def problems(texts: dict[str, str]) -> list[str]:
    """What a reader of a fresh clone could not follow, as `path:line: why`."""
    files = set(texts)
    found = []
    for name, text in sorted(texts.items()):
        folder = PurePosixPath(name).parent
        for number, line in enumerate(text.splitlines(), start=1):
            where = f"{name}:{number}"
            if MACHINE_FOLDER.search(line):
                found.append(f"{where}: names a folder of the development machine: {line.strip()[:120]}")
            plain = URL.sub(" ", line)
            for climbing in CLIMBING_PATH.findall(plain):
                if not _inside(folder / climbing):
                    found.append(f"{where}: {climbing} lies outside the repository")
            for md in MARKDOWN_NAME.findall(plain):
                if _resolve(md, folder, files) is None:
                    found.append(f"{where}: {md} is not a file of the repository")
            for md, titles in SECTION_REFERENCE.findall(plain):
                target = _resolve(md, folder, files)
                if target is None:
                    continue  # reported above
                for title in QUOTED.findall(titles):
                    if title not in _headings(texts[target]):
                        found.append(f'{where}: {target} has no section "{title}"')
    return found


def test_no_tracked_file_sends_a_reader_outside_the_repository() -> None:
    assert problems(tracked_text_files()) == []


def test_the_rules_and_the_design_are_in_the_repository_and_the_readme_links_them() -> None:
    texts = tracked_text_files()
    assert "config/RULES.md" in texts and "docs/design.md" in texts
    assert "](config/RULES.md)" in texts["README.md"] and "](docs/design.md)" in texts["README.md"]
    assert "Not built yet" in _headings(texts["config/RULES.md"])


def test_the_check_finds_what_a_fresh_clone_would_miss() -> None:
    texts = {
        "README.md": "The rules are in `../shared/domain/RULES.md` and [the design](docs/DESIGN.md).\n",
        "config/RULES.md": "# Rules\n\n## Vetoes\n\nSee [the design](../docs/design.md).\n",
        "docs/design.md": "# Design\n",
        "pkg/rules.py": '# config/RULES.md, "Vetoes" and "Appeals"; config/RULES.md "Vetoes"\n',
        "tests/unit/test_x.py": 'DATA = "/' + 'work/shared/STYLE.md"\nPATH = "../../etc/passwd"  # tests/unit/../.. is the root\n',
        "config/settings.toml": "# https://example.org/README.md is a link, not a file of ours\n",
    }
    assert problems(texts) == [
        "README.md:1: ../shared/domain/RULES.md lies outside the repository",
        "README.md:1: ../shared/domain/RULES.md is not a file of the repository",
        "README.md:1: docs/DESIGN.md is not a file of the repository",
        'pkg/rules.py:1: config/RULES.md has no section "Appeals"',
        'tests/unit/test_x.py:1: names a folder of the development machine: DATA = "/' + 'work/shared/STYLE.md"',
    ]
