"""Pages for people, beside the FHIR base: a page per code at /codes/<code>, per block at /blocks/<range>,
search at /search (and /). Plain server-rendered HTML: no JavaScript, the style sheet inlined (one request
per page), and a Content-Security-Policy that allows that style sheet, this site's icon and its own
search form, nothing else."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import re
from functools import lru_cache, partial
from pathlib import Path
from urllib.parse import quote, urlencode

from flask import Blueprint, Response, current_app, redirect, render_template, request, url_for
from markupsafe import Markup
from marshmallow import ValidationError

from ..errors import InvalidRequest, ServiceError
from ..http.fhir import CACHEABLE
from ..icd10cm.binding import DateTimeField
from ..icd10cm.codes import ICD10CM, normalize_code, placeholder_candidates
from ..icd10cm.diagnoses import Listed, validate_diagnoses
from ..icd10cm.history import ADDED, KINDS, Change, explain_absence, listing
from ..icd10cm.model import Coding
from ..icd10cm.valuesets import IMPLICIT, implicit
from .view import block_page, code_page, link_codes

bp = Blueprint("web", __name__, template_folder="templates")
CODE_PATH = "/codes/"
BLOCK_PATH = "/blocks/"
RELEASES_PATH = "/releases"
# HTML whatever Accept says (the protocol layer's to know)
CHECK_PATH = "/check"
PAGE_PATHS = (CODE_PATH, BLOCK_PATH, "/search", RELEASES_PATH, CHECK_PATH)
_TEMPLATES = Path(__file__).with_name("templates")
SITE_CSS = Markup((_TEMPLATES / "site.css").read_text())  # inlined in every page, and allowed by its hash
_CSS_HASH = base64.b64encode(hashlib.sha256(SITE_CSS.encode()).digest()).decode()
ICON = (_TEMPLATES / "icon.svg").read_bytes()
# Every HTML answer carries these (the protocol layer adds them, to answers from its cache too).
SECURITY_HEADERS = {
    "Content-Security-Policy": f"default-src 'none'; style-src 'sha256-{_CSS_HASH}'; img-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",  # (and nosniff, on every answer)
}
PAGE_SIZE = 50
_MAX_QUERY = 200  # characters of a search kept
_SUGGESTIONS = 12
_MAX_CHECK_TEXT = 2000  # characters of a pasted list kept
_LONGEST_CODE = 8  # characters, with the dot (S32.009A)
_ALL_CODES = implicit(IMPLICIT)


def _engine():
    return current_app.extensions["terminology"]


@bp.app_template_global()
def code_url(code: str, version: str | None = None) -> str:
    """The address of a code's page, made by hand: url_for costs about 50 us, and a page links to dozens."""
    return _page_url(CODE_PATH, code, version)


@bp.app_template_global()
def code_in(code: str, version: str) -> str:
    """A code's page in a given release (where a page's own code_url keeps to the release asked for)."""
    return _page_url(CODE_PATH, code, version)


@bp.app_template_global()
def block_url(block: str, version: str | None = None) -> str:
    return _page_url(BLOCK_PATH, block, version)


def _page_url(path: str, name: str, version: str | None) -> str:
    suffix = f"?{urlencode({'version': version})}" if version else ""
    return f"{request.script_root}{path}{quote(name)}{suffix}"


@bp.app_context_processor
def _site() -> dict:
    return {"site_css": SITE_CSS}


@bp.get("/favicon.svg")
@bp.get("/favicon.ico")
def icon():
    return Response(ICON, content_type="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"})


@bp.get(f"{BLOCK_PATH}<block>")
def block(block: str):
    engine = _engine()
    version = request.args.get("version") or None
    try:
        page = block_page(engine, block, version)
    except ServiceError as error:
        return _not_found(f"Release {version} is not loaded", error.message, [])
    if page is None:
        return _not_found(
            f"{block} is not a block of ICD-10-CM",
            "A block is a range of categories such as M50-M54, as the tabular lists them under each chapter.",
            [],
        )
    request.environ[CACHEABLE] = True
    return render_template(
        "block.html",
        b=page,
        version=page["version"],
        asked_version=version,
        code_url=partial(code_url, version=version),
    )


@bp.get(f"{CODE_PATH}<code>")
def code(code: str):
    engine = _engine()
    version = request.args.get("version") or None
    canonical = normalize_code(code)
    if canonical != code:  # m549 -> M54.9: one address per code
        return redirect(code_url(canonical, version), 301)
    try:
        release = engine.releases.resolve(version)
    except ServiceError as error:
        return _not_found(f"Release {version} is not loaded", error.message, [])
    try:
        page = code_page(engine, code, release.version)
    except ServiceError:
        absence = explain_absence(engine.history, release, code, engine.releases.day_of(None))
        if absence:  # a code of another loaded release: say what happened to it, and what replaces it
            targets = [(t.code, t.display) for t in absence.targets if t.code and t.display]
            return _not_found(
                f"{code} is not a code of ICD-10-CM {release.version}",
                absence.issue_text(code, release.version, None) + ".",
                targets or _suggestions(code, release),
            )
        return _not_found(
            f"{code} is not an ICD-10-CM code",
            f"{code} is not in ICD-10-CM release {release.version}. "
            "A code is a letter, two characters, then up to four more after the dot; some codes need "
            "the placeholder X before a 7th character."
            + (
                " This server holds no other release, so whether it was a code of an earlier one is not known."
                if len(engine.history.releases) == 1
                else ""
            ),
            _suggestions(code, release),
        )
    fhir_url = url_for("codesystem.lookup", system=ICD10CM, code=page["code"], version=version, _format="json")

    same_release = partial(code_url, version=version)  # links stay in the release asked for

    def block_link(block: str) -> str | None:
        return block_url(block, version) if f"block:{block}" in release.groupings else None

    def linked(text: str):  # every code the text mentions links to its page, except this page's own
        return link_codes(
            text, lambda other: other != page["code"] and _is_code(release, other), same_release, block_link
        )

    request.environ[CACHEABLE] = True  # the page depends only on its URL and the store
    return render_template(
        "code.html",
        p=page,
        fhir_url=fhir_url,
        version=page["version"],
        asked_version=version,
        code_url=same_release,
        linked=linked,
        changes_url=f"{request.script_root}{RELEASES_PATH}/{quote(page['version'])}/changes",
    )


@bp.get(RELEASES_PATH)
def releases():
    engine = _engine()
    request.environ[CACHEABLE] = True
    stale = engine.releases.stale(engine.releases.newest)
    return render_template(
        "releases.html",
        releases=list(reversed(engine.history.releases)),
        default=engine.releases.default.version,
        stale=stale,
        version=engine.releases.default.version,
    )


def _pair(version: str) -> tuple[str, str]:
    """(older, newer) release versions of a changes page: the release named, and the one it is compared with
    (``from``, else the loaded release before it); NotFound/InvalidRequest for what is not loaded."""
    engine = _engine()
    newer = engine.releases.resolve(version).version
    ordered = [r.version for r in engine.history.releases]
    asked = request.args.get("from")
    if asked:
        older = engine.releases.resolve(asked).version
    elif ordered.index(newer) > 0:
        older = ordered[ordered.index(newer) - 1]
    else:
        raise InvalidRequest(f"{newer} is the oldest release loaded here: name another with ?from=")
    if older == newer:
        raise InvalidRequest("compare two different releases (from= names the other)")
    return older, newer


@bp.get(f"{RELEASES_PATH}/<version>/changes")
def changes(version: str):
    engine = _engine()
    try:
        older, newer = _pair(version)
    except ServiceError as error:
        return _not_found("No such comparison", error.message, [], error.status)
    rows = listing(engine.history, older, newer)
    request.environ[CACHEABLE] = True
    return render_template(
        "changes.html",
        older=engine.releases.resolve(older),
        newer=engine.releases.resolve(newer),
        counts={kind: sum(1 for r in rows if r.kind == kind) for kind in KINDS},
        window=Change("", ADDED, engine.releases.resolve(older), engine.releases.resolve(newer)),
        rows=rows,
        csv_url=f"{request.script_root}{RELEASES_PATH}/{quote(newer)}/changes.csv?{urlencode({'from': older})}",
        version=newer,
        code_url=partial(code_url, version=newer),
        old_code_url=partial(code_url, version=older),
    )


@bp.get(f"{RELEASES_PATH}/<version>/changes.csv")
def changes_csv(version: str):
    try:
        older, newer = _pair(version)
    except ServiceError as error:
        return Response(f"{error.message}\n", status=error.status, content_type="text/plain; charset=utf-8")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        ["change", "code", "title", "previous_title", "replaced_by", "fiscal_year", "effective", "from", "to"]
    )
    for row in listing(_engine().history, older, newer):
        change = row.change
        writer.writerow(
            [
                row.kind,
                row.code,
                row.display,
                row.previous or "",
                " ".join(row.replaced_by),
                change.fiscal_years,
                change.effective,
                older,
                newer,
            ]
        )
    request.environ[CACHEABLE] = True
    return Response(
        out.getvalue(),
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="icd10cm-changes-{older}-to-{newer}.csv"'},
    )


@bp.get(CHECK_PATH)
def check():
    """A person's diagnosis list, checked as $validate-diagnoses checks it."""
    engine = _engine()
    typed = request.args.get("codes", "")[:_MAX_CHECK_TEXT]
    date = request.args.get("date") or None
    codes = [normalize_code(c) for c in re.split(r"[\s,;]+", typed) if c.strip()]
    checked, problem, status = None, None, 200
    if codes:
        try:
            date = _checked_date(date)
            listed = [Listed(Coding(ICD10CM, code), f"coding[{i}]") for i, code in enumerate(codes)]
            checked = validate_diagnoses(engine, listed, date)
            release = engine.releases.resolve(checked.version)
        except ServiceError as error:
            problem, status = error.message, error.status
    request.environ[CACHEABLE] = status == 200
    exists = (lambda code: _is_code(release, code)) if checked else (lambda code: False)
    return render_template(
        "check.html",
        typed=typed,
        date=date,
        codes=codes,
        checked=checked,
        problem=problem,
        linked=lambda text: link_codes(text, exists, code_url),
        version=engine.releases.default.version,
        fhir_base=current_app.config["BASE_PATH"],
    ), status


def _checked_date(date: str | None) -> str | None:
    """A date as $validate-diagnoses takes it (InvalidRequest otherwise)."""
    if date is None:
        return None
    try:
        return DateTimeField().deserialize(date)
    except ValidationError as error:
        raise InvalidRequest(f"date {' '.join(map(str, error.messages))}") from None


@bp.get("/")
def home():
    return search()


@bp.get("/search")
def search():
    query = request.args.get("q", "").strip()[:_MAX_QUERY]
    page_number = request.args.get("page", "1")
    page_number = int(page_number) if page_number.isdigit() and 0 < int(page_number) < 10_000 else 1
    engine = _engine()
    results, total, problem, status, searched, changes = [], 0, None, 200, None, ()
    if query:
        try:
            expansion = engine.expand(_ALL_CODES, text=query, count=PAGE_SIZE, offset=(page_number - 1) * PAGE_SIZE)
            results, total = expansion.contains, expansion.total
            searched, changes = expansion.searched, expansion.changes
        except ServiceError as error:
            problem, status = error.message, error.status
    pages = -(-total // PAGE_SIZE)
    request.environ[CACHEABLE] = status == 200
    return render_template(
        "search.html",
        query=query,
        searched=searched,
        changes=changes,
        results=results,
        total=total,
        problem=problem,
        page_number=page_number,
        pages=pages,
        first=(page_number - 1) * PAGE_SIZE + 1,
        version=engine.releases.default.version,
        fhir_base=current_app.config["BASE_PATH"],
    ), status


@lru_cache(maxsize=16_384)
def _is_code(release, text: str) -> bool:
    """Whether a code-shaped word of some text is a code (kept: the same codes recur on many pages)."""
    return release.concept(text) is not None


def _not_found(heading: str, message: str, suggestions: list[tuple[str, str]], status: int = 404):
    return render_template(
        "not_found.html",
        heading=heading,
        message=message,
        suggestions=suggestions,
        version=_engine().releases.default.version,
    ), status


def _suggestions(text: str, release) -> list[tuple[str, str]]:
    """Codes the visitor may have meant: the code with its placeholder X, else the nearest existing code
    above what was typed with the codes below it (or beside it), else a text search."""
    code = normalize_code(text)[:_LONGEST_CODE]
    fixed = [found for found in map(release.concept, placeholder_candidates(code)) if found is not None]
    if fixed:
        return [(found.code, found.display) for found in fixed]
    while len(code.replace(".", "")) > 3 and release.concept(code) is None:
        code = code[:-1].rstrip(".")
    found = release.concept(code)
    if found is not None:
        nearby = found.children or (release.concept(found.parent).children if found.parent else [])
        return [(found.code, found.display)] + [c for c in nearby if c[0] != found.code][: _SUGGESTIONS - 1]
    try:
        expansion = _engine().expand(_ALL_CODES, version=release.version, text=text[:_MAX_QUERY], count=_SUGGESTIONS)
    except ServiceError:
        return []
    return [(c, d) for c, d, _ in expansion.contains]
