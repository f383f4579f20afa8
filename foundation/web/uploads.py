"""Serving a file someone uploaded (a bid's documents, an evaluation's evidence): always as a download, in a type a
browser never runs (the type the uploader claimed when it is one of those, else bytes), in a sandbox. A file named
"方案.pdf" that holds a web page is then a file saved to disk, never a page of this site running in the reader's
session."""

from __future__ import annotations

from urllib.parse import quote

from litestar import Response

from foundation.storage import BlobStore, read_blob

# Types a browser shows without running anything.
SHOWN = frozenset({"application/pdf", "image/jpeg", "image/png", "image/webp", "text/plain"})


def uploaded_file(content: bytes, claimed_type: str, name: str) -> Response[bytes]:
    media_type = claimed_type if claimed_type in SHOWN else "application/octet-stream"
    return Response(
        content,
        media_type=media_type,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name, safe='')}",
            "Content-Security-Policy": "sandbox; default-src 'none'",
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


async def stored_document(store: BlobStore, sha256: str, content_type: str) -> Response[bytes]:
    """A receipt or supporting document as uploaded, in the type its content was judged to be at upload (JPEG, PNG
    or PDF, never a page), shown in the browser and kept by it privately for an hour."""
    return Response(await read_blob(store, sha256), media_type=content_type, headers={"Cache-Control": "private, max-age=3600"})

