"""Holds what the test suite's runs of lumenfall-fetch wrote to the published schemas.

Usage: validate_outputs.py CAPTURE_DIR SCHEMA_DIR
CAPTURE_DIR is what the Swift suite collected with LUMENFALL_OUTPUT_CAPTURE set (sidecars/,
manifests/, events/*.jsonl); SCHEMA_DIR is docs/schemas. Every file and every event line must
validate; each kind must have been seen at least once (a capture that found nothing proves
nothing), and every event the schema names should appear somewhere (listed when not).
"""
import json
import pathlib
import sys

import jsonschema

capture, schemas = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])


def validator(name):
    schema = json.loads((schemas / f"{name}.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()), schema


failures = []
counts = {}


def check(v, kind, label, doc):
    counts[kind] = counts.get(kind, 0) + 1
    errors = sorted(v.iter_errors(doc), key=lambda e: list(e.absolute_path))
    if errors:
        e = errors[0]
        where = "/".join(str(p) for p in e.absolute_path) or "(top)"
        failures.append(f"{label}: at {where}: {e.message[:300]}")


sidecar, _ = validator("sidecar")
for f in sorted((capture / "sidecars").glob("*.json")):
    check(sidecar, "sidecar", f"sidecar {f.name}", json.loads(f.read_bytes()))

manifest, _ = validator("manifest")
for f in sorted((capture / "manifests").glob("*.json")):
    check(manifest, "manifest", f"manifest {f.name}", json.loads(f.read_bytes()))

events, events_schema = validator("events")
seen = set()
for f in sorted((capture / "events").glob("*.jsonl")):
    for n, line in enumerate(f.read_text().splitlines(), 1):
        if not line.startswith("{"):
            continue  # not every --json run prints only events (a usage error's text)
        doc = json.loads(line)
        seen.add(doc.get("event"))
        check(events, "event", f"event {f.name}:{n} ({doc.get('event')})", doc)

for kind in ("sidecar", "manifest", "event"):
    if not counts.get(kind):
        failures.append(f"no {kind} was captured: is LUMENFALL_OUTPUT_CAPTURE reaching the tests?")
for f in failures[:40]:
    print("FAIL ", f)
unseen = sorted(set(events_schema["$defs"]) - seen)
print(
    f"schemas: {counts.get('sidecar', 0)} sidecars, {counts.get('manifest', 0)} manifests, "
    f"{counts.get('event', 0)} event lines checked; {len(failures)} failures"
    + (f"; events no test produced: {', '.join(unseen)}" if unseen else "")
)
sys.exit(1 if failures else 0)
