"""PDFs with WeasyPrint, from HTML templates that are rendered from plain report data.

The documents load nothing from outside: their stylesheet and fonts come through a URL
fetcher that serves the app's own static files under a made-up origin and refuses every
other URL (file:, http:, data:, ...). A4, page numbers, a running header, Danish hyphenation,
and a tagged PDF (PDF/UA-1) for screen readers.
"""

from __future__ import annotations

import hashlib
import mimetypes
import threading
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from cachetools import LRUCache
from flask import current_app, render_template
from werkzeug.security import safe_join

# Documents refer to static files as STATIC_ORIGIN + "static/<path>" (or relative to it,
# their base URL). The .invalid top-level domain can never reach a real server.
STATIC_ORIGIN = "https://kompas.invalid/"
PDF_OPTIONS: dict[str, Any] = {"pdf_tags": True, "pdf_variant": "pdf/ua-1"}


class RefusedURL(ValueError):
    pass


# WeasyPrint is imported where a PDF is made, not when the app starts (about a second of
# every process's start, the command line's too): StaticOnlyFetcher is made on first use.
@cache
def _static_only_fetcher() -> type:
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class StaticOnlyFetcher(URLFetcher):
        """Serves STATIC_ORIGIN/static/... from the app's static folder; refuses anything else."""

        def __init__(self, static_folder: str | Path) -> None:
            super().__init__(timeout=1, allowed_protocols={"https"}, allow_redirects=False)
            self.static_folder = str(static_folder)
            self.refused: list[str] = []

        def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
            prefix = STATIC_ORIGIN + "static/"
            if not url.startswith(prefix):
                self.refused.append(url)
                raise RefusedURL(f"only the app's static files are served to PDFs: {url[:80]}")
            path = unquote(urlsplit(url).path).removeprefix("/static/")
            full = safe_join(self.static_folder, path)
            if full is None or not Path(full).is_file():
                self.refused.append(url)
                raise RefusedURL(f"no such static file: {path[:80]}")
            body = Path(full).read_bytes()
            content_type = mimetypes.guess_type(full)[0] or "application/octet-stream"
            return URLFetcherResponse(url, body, {"Content-Type": content_type})

    return StaticOnlyFetcher


def __getattr__(name: str) -> Any:
    if name == "StaticOnlyFetcher":
        return _static_only_fetcher()
    raise AttributeError(name)


def static_url(filename: str) -> str:
    """The address of a static file inside a PDF document."""
    return f"{STATIC_ORIGIN}static/{filename}"


@dataclass
class Rendered:
    pdf: bytes
    pages: int
    seconds: float  # time WeasyPrint spent: layout and writing the PDF


# PDFs already made, by the SHA-256 of their HTML: the same HTML makes the same PDF, so a
# key can never be stale. Laying out a unit report takes about a second, and on a results
# morning many ask for the same unit's report; the HTML takes milliseconds. Per process
# (app servers stay stateless) and bounded in bytes, least recently used out first.
PDF_CACHE_BYTES = 64 * 1024 * 1024
_made: LRUCache[str, Rendered] = LRUCache(
    maxsize=PDF_CACHE_BYTES, getsizeof=lambda rendered: len(rendered.pdf)
)
_made_lock = threading.Lock()  # report jobs may run in a thread beside the requests


def digest(html: str) -> str:
    """What a made PDF is known by: the SHA-256 of its HTML, in hex."""
    return hashlib.sha256(html.encode()).hexdigest()


def already_made(html: str) -> Rendered | None:
    """The PDF of this very HTML, if this process has made it."""
    with _made_lock:
        return _made.get(digest(html))


def keep(html: str, rendered: Rendered) -> None:
    if len(rendered.pdf) <= PDF_CACHE_BYTES // 8:  # one huge report does not push out the rest
        with _made_lock:
            _made[digest(html)] = rendered


def html_to_pdf(html: str) -> Rendered:
    """The PDF of the document, made once per process for the same HTML."""
    made = already_made(html)
    if made is None:
        made = render_pdf(html)
        keep(html, made)
    return made


def render_pdf(html: str) -> Rendered:
    """WeasyPrint itself, every time (html_to_pdf keeps what it made)."""
    from weasyprint import HTML

    fetcher = _static_only_fetcher()(current_app.static_folder or "")
    start = time.perf_counter()
    document = HTML(string=html, base_url=STATIC_ORIGIN, url_fetcher=fetcher).render(**PDF_OPTIONS)
    pdf = document.write_pdf(**PDF_OPTIONS)
    return Rendered(pdf=pdf, pages=len(document.pages), seconds=time.perf_counter() - start)


def annual_html(report: Any, charts: dict[str, Any], *, issued: Any = None) -> str:
    from app.services.reports import status_labels

    return render_template(
        "reports/pdf/annual.html",
        report=report,
        charts=charts,
        issued=issued,
        static=static_url,
        status_labels=status_labels(),
    )


def unit_html(report: Any) -> str:
    return render_template("reports/pdf/unit.html", report=report, static=static_url)


def annual_pdf(report: Any, *, issued: Any = None) -> Rendered:
    from app.services.reports import annual_charts

    return html_to_pdf(annual_html(report, annual_charts(report), issued=issued))


def unit_pdf(report: Any) -> Rendered:
    return html_to_pdf(unit_html(report))
