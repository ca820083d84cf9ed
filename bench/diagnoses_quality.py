"""How well $validate-diagnoses meets the coders' corpora (tests/data/diagnoses_corpus*.toml), by file and half.

    python bench/diagnoses_quality.py [--store DIR] [--misses]

A list is right when its findings are exactly the expected ones (check, positions, severity). Each file was
written by a coder before the checks it exercises were built; the tune half is what they were tuned on, the
report half the one to quote (the first file's report half has since been seen: quote the newest file's)."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tomllib
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from service.config import Settings
from service.icd10cm.codes import ICD10CM
from service.icd10cm.diagnoses import Listed, validate_diagnoses
from service.icd10cm.model import Coding
from service.icd10cm.operations import Icd10cm

CORPORA = sorted((ROOT / "tests" / "data").glob("diagnoses_corpus*.toml"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", default=None, help="the store directory (default: the service's default)")
    parser.add_argument("--misses", action="store_true", help="list the lists that are not exactly right")
    args = parser.parse_args()
    # A day within the default release's period: the answers do not depend on the calendar.
    engine = Icd10cm.from_store(Path(args.store) if args.store else Settings().store, today=dt.date(2026, 6, 1))
    for corpus in CORPORA:
        print(corpus.name)
        score(engine, tomllib.loads(corpus.read_text())["case"], args.misses)


def score(engine: Icd10cm, cases: list[dict], misses: bool) -> None:
    for half in ("tune", "report"):
        chosen = [c for c in cases if c["half"] == half]
        if not chosen:
            continue
        right, noisy, clean = 0, 0, 0
        missing, extra = Counter(), Counter()
        for case in chosen:
            listed = [Listed(Coding(ICD10CM, code), f"coding[{i}]") for i, code in enumerate(case["codes"])]
            checked = validate_diagnoses(engine, listed, case.get("date"))
            got = {(f.check, tuple(sorted(f.positions)), f.severity) for f in checked.findings}
            expected = {(e["check"], tuple(sorted(e["codes"])), e["severity"]) for e in case.get("expect", ())}
            clean += not expected
            noisy += not expected and bool(got)
            if got == expected:
                right += 1
                continue
            missing.update(f[0] for f in expected - got)
            extra.update(f[0] for f in got - expected)
            if misses:
                print(
                    f"  {case['id']} {case['codes']}: missing {sorted(expected - got)}, extra {sorted(got - expected)}"
                )
        print(
            f"  {half}: {right}/{len(chosen)} lists exactly right ({sum('limitation' in c for c in chosen)} known "
            f"limitations); clean lists with a finding {noisy}/{clean}; "
            f"missing {dict(missing)}; extra {dict(extra)}"
        )


if __name__ == "__main__":
    main()
