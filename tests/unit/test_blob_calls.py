"""Every blob store blocks its caller (a disk read, or a query on the PostgreSQL store's own connection): a request
handler that calls `store.get(...)` itself holds every other request of its worker while the bytes arrive. Product
code inside an `async def` goes through `foundation.storage.read_blob` / `write_blob` (or `asyncio.to_thread`)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("foundation", "registry", "people", "inspections", "complaints", "assessment", "subsidies", "reports", "community", "supervision")
BLOCKING = frozenset({"get", "put", "get_derived", "put_derived", "hashes", "derived_copies"})


def blocking_calls(source: str) -> list[int]:
    """Lines where an `async def` (directly, not in a nested plain function) calls a blocking method on a name that
    holds a blob store (`store`, `blob_store`, `target`, `source` typed as one is not guessed: the names used here)."""
    found: list[int] = []

    def visit(node: ast.AST, in_async: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.AsyncFunctionDef):
                visit(child, True)
            elif isinstance(child, (ast.FunctionDef, ast.Lambda)):
                visit(child, False)
            else:
                if (
                    in_async
                    and isinstance(child, ast.Call)
                    and isinstance(child.func, ast.Attribute)
                    and child.func.attr in BLOCKING
                    and isinstance(child.func.value, ast.Name)
                    and child.func.value.id in {"store", "blob_store"}
                ):
                    found.append(child.lineno)
                visit(child, in_async)

    visit(ast.parse(source), False)
    return found


def test_no_request_handler_reads_or_writes_a_blob_on_the_event_loop() -> None:
    offending = []
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            offending += [f"{path.relative_to(ROOT)}:{line}" for line in blocking_calls(path.read_text(encoding="utf-8"))]
    assert offending == []


def test_the_check_sees_a_blocking_call_in_a_handler_and_not_one_handed_to_a_thread() -> None:
    handler = "async def download(store):\n    return store.get('ab')\n"
    threaded = "async def download(store):\n    return await asyncio.to_thread(store.get, 'ab')\n"
    plain = "def copy(store):\n    return store.get('ab')\n"
    assert blocking_calls(handler) == [2]
    assert blocking_calls(threaded) == []
    assert blocking_calls(plain) == []
