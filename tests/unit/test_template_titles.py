"""A page's title is one line of text for the browser's tab and history: a template whose title block swallowed part
of the page (an unclosed block) puts markup into the tab and drops it from the page."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("foundation", "registry", "people", "inspections", "complaints", "assessment", "subsidies", "reports", "community", "supervision")
TITLE = re.compile(r"{%-?\s*block title\s*-?%}(.*?){%-?\s*endblock", re.DOTALL)


def title_problems(template: str) -> list[str]:
    return [title for title in TITLE.findall(template) if "<" in title or "\n" in title.strip()]


def test_every_page_title_is_one_line_of_text() -> None:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.html"):
            if problems := title_problems(path.read_text(encoding="utf-8")):
                found[str(path.relative_to(ROOT))] = problems
    assert found == {}


def test_the_check_sees_a_title_block_that_runs_into_the_page() -> None:
    assert title_problems("{% block title %}项目进度{% if photos %}\n<h2>照片</h2>{% endif %}\n{% endblock %}")
    assert title_problems("{% block title %}项目进度 · {{ project.title }}{% endblock %}") == []
