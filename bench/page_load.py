"""How fast a code's page loads in a real browser, against the same answer as FHIR JSON in the same run.

    python bench/page_load.py [--store DIR] [--codes 200] [--workers 2] [--chromium /usr/bin/chromium]

Starts `python -m service serve` and Debian's Chromium (through Playwright), then for random codes
(each once, so no answer is served from a cache) opens the code's page and the $lookup of the same
code as FHIR JSON, in turn, and reads the browser's Navigation Timing: time to first byte, to
DOMContentLoaded and to the load event, and the bytes transferred (gzip). Prints medians and 95th
percentiles, and each page figure over the JSON figure (the baseline).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
from pathlib import Path

from playwright.sync_api import sync_playwright
from run import ROOT, SYSTEM, normalize_code, sample, service_running

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
TIMING = """() => { const n = performance.getEntriesByType("navigation")[0];
  return {ttfb: n.responseStart - n.requestStart, dcl: n.domContentLoadedEventEnd - n.startTime,
          load: n.loadEventEnd - n.startTime, bytes: n.transferSize}; }"""


def visit(page, url: str) -> dict:
    response = page.goto(url, wait_until="load")
    assert response is not None and response.status == 200, url
    return page.evaluate(TIMING)


def summary(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", type=Path, default=ROOT / "store")
    parser.add_argument("--codes", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    args = parser.parse_args()
    with service_running(args.store, args.workers) as (_, site):
        codes = [normalize_code(c) for c in sample(args.store, args.codes)[0]]
        measured: dict[str, list[dict]] = {"page": [], "json": []}
        with sync_playwright() as driver:
            browser = driver.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
            page = browser.new_context().new_page()
            visit(page, f"{site}/codes/M54.9")  # warm: the browser, the templates, the workers
            for code in codes:
                measured["page"].append(visit(page, f"{site}/codes/{code}"))
                measured["json"].append(
                    visit(page, f"{site}/fhir/CodeSystem/$lookup?system={SYSTEM}&code={code}&_format=json")
                )
            browser.close()
    print(f"{len(codes)} codes, each once; medians (95th percentiles); page / JSON of the same answer")
    print(f"{'':>24} {'page':>16} {'FHIR JSON':>16} {'ratio':>7}")
    for name, label in (
        ("ttfb", "time to first byte ms"),
        ("dcl", "DOMContentLoaded ms"),
        ("load", "load event ms"),
        ("bytes", "bytes transferred"),
    ):
        page_median, page_p95 = summary([m[name] for m in measured["page"]])
        json_median, json_p95 = summary([m[name] for m in measured["json"]])
        print(
            f"{label:>24} {page_median:>8.1f} ({page_p95:>5.1f}) {json_median:>8.1f} ({json_p95:>5.1f})"
            f" {page_median / json_median:>7.2f}"
        )


if __name__ == "__main__":
    main()
