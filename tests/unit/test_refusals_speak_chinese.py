"""A refusal says in Chinese what is wrong. A domain error built without `zh=` shows on a page only its class's
generic title (Conflict: "与已保存的记录冲突，请刷新页面后再试"), which misleads a person whom refreshing can never
help; so every InvalidInput, RuleViolation, Conflict, TooLarge and PermissionDenied built with arguments in the
packages below carries its own `zh=` message, whether it is raised at once or collected to be raised later.

Covered completely: community/ (every sub-package), assessment/, registry/, people/, supervision/, inspections/,
foundation/, subsidies/, reports/ and complaints/: every product package. A new package goes into PACKAGES.

A refusal that only the JSON API can give (never a page) may be exempted, by file and English detail, in EXEMPT
with the reason; keep that list short (today it is empty)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PACKAGES = ["community", "assessment", "registry", "people", "supervision", "inspections", "foundation", "subsidies", "reports", "complaints"]

CHECKED = frozenset({"InvalidInput", "RuleViolation", "Conflict", "TooLarge", "PermissionDenied"})

# (file relative to the root, the start of the English detail as written in the source) -> why no page shows it
EXEMPT: dict[tuple[str, str], str] = {}


def _class_name(call: ast.Call) -> str | None:
    """`Conflict(...)` or `errors.Conflict(...)`."""
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def _detail_source(source: str, call: ast.Call) -> str:
    return (ast.get_source_segment(source, call.args[0]) or "") if call.args else ""


def _constructions(path: Path) -> list[tuple[int, ast.Call, str]]:
    """Every checked domain error built with arguments in the file, with its detail's source text."""
    source = path.read_text(encoding="utf-8")
    found = []
    for node in ast.walk(ast.parse(source, str(path))):
        if isinstance(node, ast.Call) and _class_name(node) in CHECKED and (node.args or node.keywords):
            found.append((node.lineno, node, _detail_source(source, node)))
    return found


def _files() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


def _exempt(relative: str, detail: str) -> bool:
    return any(relative == file and detail.lstrip("f").strip("\"'").startswith(start) for file, start in EXEMPT)


def test_every_refusal_in_the_covered_packages_has_a_chinese_message() -> None:
    missing = []
    for path in _files():
        relative = path.relative_to(ROOT).as_posix()
        for line, call, detail in _constructions(path):
            if any(k.arg == "zh" for k in call.keywords) or _exempt(relative, detail):
                continue
            missing.append(f"{relative}:{line}: {_class_name(call)}({detail[:80]}) has no zh=")
    assert not missing, "refusals a person cannot act on (give each a zh= message):\n" + "\n".join(missing)


def test_the_walk_sees_the_refusals() -> None:
    """The check above is not vacuous: it reads the packages and finds their refusals, community's among them."""
    calls = [(p, c) for p in _files() for _, c, _ in _constructions(p)]
    assert len(calls) > 300
    assert sum(1 for p, _ in calls if p.relative_to(ROOT).parts[0] == "community") > 100


def test_the_exemptions_still_name_a_refusal() -> None:
    """An exemption whose refusal was removed or reworded is removed too."""
    for (file, start), reason in EXEMPT.items():
        assert reason.strip(), (file, start)
        details = [d for _, _, d in _constructions(ROOT / file)]
        assert any(d.lstrip("f").strip("\"'").startswith(start) for d in details), (file, start)


def test_a_second_objection_says_why() -> None:
    """The case the audit found: an organisation objecting twice to one award is told it already has."""
    source = (ROOT / "community" / "calls" / "service.py").read_text(encoding="utf-8")
    for _, call, detail in _constructions(ROOT / "community" / "calls" / "service.py"):
        if "already objected" in detail:
            zh = next(k.value for k in call.keywords if k.arg == "zh")
            assert ast.get_source_segment(source, zh) == '"本机构已对该中标结果提出过质疑"'
            return
    raise AssertionError("the refusal of a second objection is gone")
