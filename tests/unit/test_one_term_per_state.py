"""A rectification order's verified fix has one name everywhere a person reads it: 验收通过 (config/RULES.md, the
order's states). Pages, documents, notices and the services' Chinese messages never call it by another name."""

from __future__ import annotations

from pathlib import Path

from tests.unit.test_template_titles import PACKAGES, ROOT

# Other names people have used for the same state; each would make a reader wonder whether it is another one.
OTHER_NAMES = ("整改通过", "核验通过", "验收整改（通过）", "整改已完成验收")


def test_the_verified_fix_is_called_by_one_term_everywhere() -> None:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*"):
            if path.suffix not in {".py", ".html", ".toml", ".typ", ".txt"}:
                continue
            text = path.read_text(encoding="utf-8")
            if hits := [name for name in OTHER_NAMES if name in text]:
                found[str(path.relative_to(Path(ROOT)))] = hits
    assert found == {}
