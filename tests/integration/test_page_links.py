"""No page sends its reader to a door that is shut to them: every link a role's pages show (the menu, the to-do
list, the links on the pages those lead to) opens for that role. A link to a refusal is a page that lies about what
its reader may do (a committee director's volunteer desk once linked the hours queue, which only social workers use)."""

from __future__ import annotations

import re
from collections import deque

import pytest

from tests.integration.test_pages import page_login

ROLES = ("admin", "finance", "xbl-officer", "xbl-worker1", "xbl01-director", "xbl01-worker", "company01", "inspector1", "xbl01-care", "xbl-care", "xbl01-vol1")
LINK = re.compile(r'<a [^>]*href="(/[^"#?]*)(?:\?[^"#]*)?"')
# Not pages: files, the API, and what leaves the session.
SKIPPED = ("/api/", "/documents/", "/static/", "/photos/", "/schema", "/logout", "/b/", "/g/", "/verify")


@pytest.mark.parametrize("username", ROLES)
async def test_every_link_a_role_is_shown_opens_for_that_role(client, username) -> None:
    await page_login(client, username)
    queue, seen, shut = deque([("/", "")]), {"/"}, []
    while queue and len(seen) < 120:
        path, found_on = queue.popleft()
        answer = await client.get(path)
        if answer.status_code in (401, 403):
            shut.append(f"{path} ({answer.status_code}, linked from {found_on})")
            continue
        assert answer.status_code < 500, (path, answer.status_code)
        if path.count("/") > 3 or not answer.headers.get("content-type", "").startswith("text/html"):
            continue  # a record's own page: its links lead to more records, not to new doors
        for link in LINK.findall(answer.text):
            if link not in seen and not link.startswith(SKIPPED) and not link.endswith((".pdf", ".xlsx", ".csv", ".json", ".png")):
                seen.add(link)
                queue.append((link, path))
    assert shut == [], f"{username} is shown links it may not open: {shut}"
