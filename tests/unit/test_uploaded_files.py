"""A file someone uploaded is served as a download in a type a browser never runs, whatever type the uploader
claimed (foundation.web.uploads)."""

from __future__ import annotations

from foundation.web.uploads import uploaded_file


def test_a_claimed_web_page_is_served_as_bytes_to_save_and_a_pdf_as_a_pdf() -> None:
    page = uploaded_file(b"<script>alert(1)</script>", "text/html", "方案.html")
    assert page.media_type == "application/octet-stream"
    assert page.headers["Content-Disposition"] == "attachment; filename*=UTF-8''%E6%96%B9%E6%A1%88.html"
    assert "sandbox" in page.headers["Content-Security-Policy"] and page.headers["X-Content-Type-Options"] == "nosniff"
    for claimed in ("image/svg+xml", "application/xhtml+xml", "text/javascript"):
        assert uploaded_file(b"x", claimed, "x").media_type == "application/octet-stream", claimed
    assert uploaded_file(b"%PDF-1.4", "application/pdf", "方案.pdf").media_type == "application/pdf"
