"""The dashboard's files: one HTML page, its modules, styles and the vendored chart library.

They hold no data and need no key: the page asks the public API for everything with the
key its reader typed, which it keeps in the tab's ``sessionStorage`` (gone when the tab
closes, never in a cookie, so no other site can make the browser spend it). The content
security policy lets the page run only the gateway's own scripts and talk only to the
gateway, so an injected script could neither load nor send the key anywhere. The routes
are no JSON operations: they stay out of the OpenAPI document.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from shared.problems import Problem

STATIC = Path(__file__).parent / "static"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}
# Each file the page may load, by the name in its URL: nothing else is ever read.
ASSETS = {
    path.relative_to(STATIC).as_posix(): path
    for path in sorted(STATIC.rglob("*"))
    if path.suffix in (".js", ".css")
}

router = APIRouter(prefix="/dashboard", include_in_schema=False)


@cache
def _read(path: Path) -> bytes:
    return path.read_bytes()


def _file(path: Path, cache_control: str) -> Response:
    headers = {**HEADERS, "Cache-Control": cache_control}
    return Response(_read(path), media_type=TYPES[path.suffix], headers=headers)


@router.get("")
async def page() -> Response:
    """The page itself (never cached: a new release is seen at the next load)."""
    return _file(STATIC / "index.html", "no-store")


@router.get("/")
async def slash() -> Response:
    return RedirectResponse("/dashboard", status_code=308)


@router.get("/assets/{name:path}")
async def asset(name: str) -> Response:
    """One of the page's files; anything not shipped with it is a 404."""
    path = ASSETS.get(name)
    if path is None:
        return Problem(404, "not-found", "The dashboard has no such file.").response()
    return _file(path, "no-cache")
