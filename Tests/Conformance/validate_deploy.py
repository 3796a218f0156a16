"""Checks docs/deploy/*.yaml: each parses as YAML (PyYAML), is the kind its README says, runs
the hardened way (non-root, read-only root, no capabilities, the key as a file), and every
container's arguments are accepted by the lumenfall-fetch binary (LUMENFALL_FETCH_PARSE_ONLY=1).

Usage: validate_deploy.py BINARY DEPLOY_DIR
"""
import os
import pathlib
import subprocess
import sys

import yaml

binary, folder = sys.argv[1], pathlib.Path(sys.argv[2])
failures, checked = [], 0


def fail(where, what):
    failures.append(f"{where}: {what}")


docs = {}
for f in sorted(folder.glob("*.yaml")):
    docs[f.name] = [d for d in yaml.safe_load_all(f.read_text()) if d]
kinds = {name: [d["kind"] for d in ds] for name, ds in docs.items()}
if kinds.get("backlog-job.yaml") != ["Job"]:
    fail("backlog-job.yaml", f"expected one Job, found {kinds.get('backlog-job.yaml')}")
if kinds.get("watch.yaml") != ["Deployment", "Service"]:
    fail("watch.yaml", f"expected a Deployment and a Service, found {kinds.get('watch.yaml')}")

for name, ds in docs.items():
    for d in ds:
        if d["kind"] not in ("Job", "Deployment"):
            continue
        spec = d["spec"]["template"]["spec"]
        if d["kind"] == "Job" and d["spec"].get("completionMode") != "Indexed":
            fail(name, "the Job is not Indexed: JOB_COMPLETION_INDEX would not be set")
        pod_sc = spec.get("securityContext", {})
        if not pod_sc.get("runAsNonRoot"):
            fail(name, "the pod may run as root")
        for c in spec["containers"]:
            where = f"{name}: container {c['name']}"
            sc = c.get("securityContext", {})
            if sc.get("allowPrivilegeEscalation") is not False or not sc.get("readOnlyRootFilesystem"):
                fail(where, "not hardened (allowPrivilegeEscalation: false, readOnlyRootFilesystem: true)")
            if sc.get("capabilities", {}).get("drop") != ["ALL"]:
                fail(where, "capabilities are not all dropped")
            env_names = {e["name"] for e in c.get("env", [])}
            if {"LUMENFALL_API_KEY", "LUMENFALL_WEBHOOK_SECRET"} & env_names:
                fail(where, "a secret in an environment variable: mount it and pass --api-key-file / --webhook-secret-file")
            args = c["args"]
            if "--api-key-file" not in args:
                fail(where, "no --api-key-file")
            # The binary judges the arguments: LUMENFALL_FETCH_PARSE_ONLY=1 makes it stop after
            # parsing and validating them, printing the subcommand it would run.
            env = dict(os.environ, JOB_COMPLETION_INDEX="0", LUMENFALL_FETCH_PARSE_ONLY="1")
            r = subprocess.run([binary, *args], env=env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
            expected = args[0] if args[0] in ("watch", "list", "archive", "verify", "gallery", "s3") else "fetch"
            if r.returncode != 0:
                fail(where, f"lumenfall-fetch refuses its arguments (exit {r.returncode}): {r.stderr.strip()[:400]}")
            elif expected not in r.stdout:
                fail(where, f"the arguments run {r.stdout.strip()!r}, not {expected}")
            checked += 1

for f in failures:
    print("FAIL ", f)
print(f"deploy: {len(docs)} files, {checked} containers' arguments checked; {len(failures)} failures")
sys.exit(1 if failures or not checked else 0)
