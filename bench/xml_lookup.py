"""In-process cost of a $lookup answer in JSON and in XML, over random codes (no HTTP).

    python bench/xml_lookup.py [--store DIR] [--warm 3000] [--codes 1000]

Warms the XML pieces with --warm other codes (as a running server would be), then times, per code:
the engine's lookup, its JSON, its XML written from the pieces, and its XML converted from the JSON
(the way before the pieces). Prints microseconds per answer.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import time
from pathlib import Path

import orjson
from run import ROOT

from service.fhir import xml as fhir_xml
from service.icd10cm.codes import ICD10CM
from service.icd10cm.operations import Icd10cm
from service.icd10cm.render import LookupAnswer


def _per_item(function, items) -> float:
    started = time.perf_counter()
    for item in items:
        function(item)
    return (time.perf_counter() - started) / len(items) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", type=Path, default=ROOT / "store")
    parser.add_argument("--warm", type=int, default=3000)
    parser.add_argument("--codes", type=int, default=1000)
    args = parser.parse_args()
    engine = Icd10cm.from_store(args.store)
    release = sorted(args.store.glob("icd10cm-*.sqlite"))[-1]
    with sqlite3.connect(f"file:{release}?mode=ro", uri=True) as db:
        codes = [row[0] for row in db.execute("SELECT code FROM concept")]
    rng = random.Random(9)
    for code in rng.sample(codes, args.warm):
        LookupAnswer(engine.lookup(ICD10CM, code)).xml()
    sample = rng.sample(codes, args.codes)
    answers = [LookupAnswer(engine.lookup(ICD10CM, code)) for code in sample]
    figures = {
        "engine lookup": _per_item(lambda code: engine.lookup(ICD10CM, code), sample),
        "JSON": _per_item(LookupAnswer.json, answers),
        "XML from pieces": _per_item(LookupAnswer.xml, answers),
        "XML converted from JSON": _per_item(lambda a: fhir_xml.dumps(orjson.loads(a.json())), answers),
    }
    for name, micros in figures.items():
        print(f"{name:<26}{micros:>8.0f} us")


if __name__ == "__main__":
    main()
