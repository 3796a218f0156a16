"""The sandbox driven by OpenAI's official Python SDK, every JSON answer checked against the spec.

Run by Scripts/conformance (which Scripts/test calls) with the venv it makes under .build/.
The SDK runs with _strict_response_validation=True, so a field of the wrong type or a value
outside an enum is an error in the SDK itself; on top of that, an httpx response hook validates
every JSON body against the schemas vendored in openai-videos.schema.json (their source and
version are named there) and fails on any field that is neither in the spec nor one of
Lumenfall's documented additions (../shared/API.md: output, metadata).

Environment: SANDBOX_BIN, the lumenfall-sandbox binary (default .build/debug/lumenfall-sandbox).
"""

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import warnings
from pathlib import Path

import httpx2 as httpx  # openai 3.x ships its HTTP client as httpx2
import jsonschema
import openai
from openai import OpenAI

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SCHEMA = json.loads((HERE / "openai-videos.schema.json").read_text())
KEY = "lmnfl_sandbox_0123456789abcdef"

# Lumenfall's documented additions to the video object (API.md); anything else is drift.
LUMENFALL_VIDEO_EXTRAS = {"output", "metadata"}
LUMENFALL_METADATA_KEYS = {"model", "executed_model", "provider", "provider_name", "cost_estimate", "cost_currency"}


def validator(name):
    schema = dict(SCHEMA)
    schema["$ref"] = f"#/$defs/{name}"
    return jsonschema.Draft202012Validator(schema)


VALIDATORS = {n: validator(n) for n in ("VideoResource", "VideoListResource", "DeletedVideoResource", "ErrorResponse")}
VIDEO_KEYS = set(SCHEMA["$defs"]["VideoResource"]["properties"])


class Recorder:
    """An httpx response hook: validates each JSON answer and keeps what the test asks about."""

    def __init__(self):
        self.checked = 0
        self.failures = []
        self.exchanges = []  # (method, path, query, request content-type, status, response content-type)

    def __call__(self, response: httpx.Response):
        response.read()
        req = response.request
        ctype = response.headers.get("content-type", "")
        self.exchanges.append(
            (req.method, req.url.path, dict(req.url.params), req.headers.get("content-type", ""), response.status_code, ctype))
        if not ctype.startswith("application/json"):
            return
        try:
            body = json.loads(response.content)
        except ValueError as e:
            self.failures.append(f"{req.method} {req.url.path}: not JSON though labelled so: {e}")
            return
        name = self.schema_for(req.method, req.url.path, response.status_code)
        errors = sorted(VALIDATORS[name].iter_errors(body), key=lambda e: list(e.path))
        for e in errors:
            where = "/".join(str(p) for p in e.absolute_path) or "(root)"
            self.failures.append(f"{req.method} {req.url.path} -> {response.status_code}: {name} at {where}: {e.message}")
        videos = []
        if name == "VideoResource":
            videos = [body]
        elif name == "VideoListResource":
            videos = body.get("data", [])
        for v in videos:
            extra = set(v) - VIDEO_KEYS - LUMENFALL_VIDEO_EXTRAS
            if extra:
                self.failures.append(f"{req.method} {req.url.path}: fields in neither the spec nor Lumenfall's list: {sorted(extra)}")
            meta = v.get("metadata")
            if meta is not None and set(meta) - LUMENFALL_METADATA_KEYS:
                self.failures.append(f"{req.method} {req.url.path}: unknown metadata fields {sorted(set(meta) - LUMENFALL_METADATA_KEYS)}")
        self.checked += 1

    @staticmethod
    def schema_for(method, path, status):
        if status >= 400:
            return "ErrorResponse"
        if method == "DELETE":
            return "DeletedVideoResource"
        if re.fullmatch(r".*/videos/?", path) and method == "GET":
            return "VideoListResource"
        return "VideoResource"


class SandboxSDKConformance(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        binary = os.environ.get("SANDBOX_BIN", str(ROOT / ".build" / "debug" / "lumenfall-sandbox"))
        cls.tmp = tempfile.TemporaryDirectory()
        url_file = Path(cls.tmp.name) / "url"
        cls.proc = subprocess.Popen([binary, "--port", "0", "--url-file", str(url_file)],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while not url_file.exists():
            if cls.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the sandbox ({binary}) did not start; build it with swift build")
            time.sleep(0.05)
        cls.base = url_file.read_text().strip().rstrip("/")  # already ends in /openai/v1
        cls.recorder = Recorder()
        cls.http = httpx.Client(event_hooks={"response": [cls.recorder]})
        cls.client = OpenAI(api_key=KEY, base_url=cls.base, http_client=cls.http, max_retries=0,
                            _strict_response_validation=True)

    @classmethod
    def tearDownClass(cls):
        cls.proc.send_signal(signal.SIGTERM)
        cls.proc.wait(timeout=10)
        cls.http.close()
        cls.tmp.cleanup()
        r = cls.recorder
        print(f"\nconformance: {r.checked} JSON answers validated against the spec", file=sys.stderr)

    def setUp(self):
        # openai 3.x warns on every videos call that OpenAI's own Sora API shuts down on
        # 2026-09-24; Lumenfall serves the same API on, which is what this checks. (Set here:
        # unittest resets the filters around each test.)
        warnings.filterwarnings("ignore", message="The Sora API is scheduled", category=DeprecationWarning)

    def tearDown(self):
        # Fail the test whose answers did not match, and start the next one clean.
        failures, self.recorder.failures = self.recorder.failures, []
        self.assertEqual(failures, [], "a JSON answer does not match the spec")

    def create(self, prompt="a lighthouse at dusk", **sandbox):
        spec = {"queuedSeconds": 0.05, "processingSeconds": 0.15, "bytes": 40_000}
        spec.update(sandbox)
        # The SDK sends multipart/form-data; the sandbox's own options ride in a form field.
        return self.client.videos.create(prompt=prompt, model="sora-2", seconds="4", size="1280x720",
                                         extra_body={"sandbox": json.dumps(spec)})

    def test_create_is_multipart_and_answers_a_queued_video(self):
        v = self.create()
        self.assertEqual(v.object, "video")
        self.assertIn(v.status, ("queued", "in_progress"))
        self.assertIsInstance(v.progress, int)
        self.assertIsNone(v.completed_at)
        self.assertIsNone(v.remixed_from_video_id)
        self.assertEqual((v.size, v.seconds, v.model, v.prompt), ("1280x720", "4", "sora-2", "a lighthouse at dusk"))
        post = [x for x in self.recorder.exchanges if x[0] == "POST" and x[1].endswith("/videos")][-1]
        self.assertTrue(post[3].startswith("multipart/form-data; boundary="), post[3])
        self.assertIn(post[4], (200, 202))

    def test_create_and_poll_and_retrieve(self):
        v = self.client.videos.create_and_poll(prompt="tide pools, macro", model="sora-2", seconds="8",
                                               size="720x1280", poll_interval_ms=50)
        self.assertEqual(v.status, "completed")
        self.assertEqual(v.progress, 100)
        self.assertIsNotNone(v.completed_at)
        self.assertIsNotNone(v.expires_at)
        again = self.client.videos.retrieve(v.id)
        self.assertEqual((again.id, again.status, again.size, again.seconds), (v.id, "completed", "720x1280", "8"))
        # Lumenfall's additions ride along and the SDK keeps them.
        extra = again.model_extra or {}
        self.assertIn("url", extra.get("output") or {})
        self.assertEqual(extra["metadata"]["cost_currency"], "USD")

    def test_poll_sees_queued_in_progress_then_completed(self):
        v = self.create(queuedSeconds=0.1, processingSeconds=0.3)
        done = self.client.videos.poll(v.id, poll_interval_ms=40)
        self.assertEqual(done.status, "completed")
        polled = [x for x in self.recorder.exchanges if x[0] == "GET" and x[1].endswith("/videos/" + v.id)]
        self.assertGreaterEqual(len(polled), 3)

    def test_a_failed_job_carries_an_error_object(self):
        v = self.create(outcome="failed")
        done = self.client.videos.poll(v.id, poll_interval_ms=40)
        self.assertEqual(done.status, "failed")
        self.assertIsNotNone(done.error)
        self.assertTrue(done.error.code and done.error.message)
        self.assertIsNone(done.expires_at, "a failed job has nothing to download")

    def test_list_auto_pages_in_both_orders(self):
        mine = {self.create(prompt=f"page test {i}").id for i in range(5)}
        for order in ("asc", "desc"):
            with self.subTest(order=order):
                before = len(self.recorder.exchanges)
                ids = [v.id for v in self.client.videos.list(limit=2, order=order)]
                pages = [x for x in self.recorder.exchanges[before:] if x[0] == "GET" and x[1].endswith("/videos")]
                self.assertEqual(len(ids), len(set(ids)), "an id came twice")
                self.assertTrue(mine <= set(ids))
                self.assertGreaterEqual(len(pages), (len(ids) + 1) // 2)
                self.assertTrue(all(p[2].get("limit") == "2" for p in pages))
                created = [self.client.videos.retrieve(i).created_at for i in ids]
                self.assertEqual(created, sorted(created, reverse=(order == "desc")))
                if order == "asc":
                    asc = ids
                else:
                    self.assertEqual(ids, list(reversed(asc)))

    def test_download_content_for_each_variant(self):
        a = self.client.videos.create_and_poll(prompt="variant a", model="sora-2", poll_interval_ms=50)
        b = self.client.videos.create_and_poll(prompt="variant b", model="sora-2", poll_interval_ms=50)
        video = self.client.videos.download_content(a.id).read()
        self.assertEqual(video[4:8], b"ftyp")
        self.assertEqual(self.client.videos.download_content(a.id, variant="video").read(), video)
        thumb = self.client.videos.download_content(a.id, variant="thumbnail").read()
        self.assertEqual((thumb[:4], thumb[8:12]), (b"RIFF", b"WEBP"))
        self.assertEqual(int.from_bytes(thumb[4:8], "little") + 8, len(thumb), "RIFF size must match")
        sheet = self.client.videos.download_content(a.id, variant="spritesheet").read()
        self.assertEqual(sheet[:8], b"\x89PNG\r\n\x1a\n")
        types = {x[2].get("variant", "video"): x[5] for x in self.recorder.exchanges if x[1].endswith(f"/{a.id}/content")}
        self.assertEqual(types["thumbnail"], "image/webp")
        self.assertEqual(types["spritesheet"], "image/png")
        self.assertTrue(types["video"].startswith("video/mp4"))
        # Different per job.
        self.assertNotEqual(self.client.videos.download_content(b.id, variant="thumbnail").read(), thumb)
        self.assertNotEqual(self.client.videos.download_content(b.id, variant="spritesheet").read(), sheet)
        with self.assertRaises(openai.BadRequestError) as ctx:
            self.client.videos.download_content(a.id, variant="poster")  # type: ignore[arg-type]
        self.assertEqual(ctx.exception.body.get("param"), "variant")

    def test_bad_key_is_an_authentication_error(self):
        bad = OpenAI(api_key="lmnfl_wrong_key_123456", base_url=self.base, http_client=self.http, max_retries=0,
                     _strict_response_validation=True)
        with self.assertRaises(openai.AuthenticationError) as ctx:
            bad.videos.retrieve("video_whatever")
        self.assertEqual(ctx.exception.status_code, 401)

    def test_unknown_id_and_deleted_id_are_not_found(self):
        with self.assertRaises(openai.NotFoundError):
            self.client.videos.retrieve("video_does_not_exist")
        v = self.create()
        gone = self.client.videos.delete(v.id)
        self.assertEqual((gone.id, gone.deleted, gone.object), (v.id, True, "video.deleted"))
        with self.assertRaises(openai.NotFoundError):
            self.client.videos.retrieve(v.id)
        with self.assertRaises(openai.NotFoundError):
            self.client.videos.download_content(v.id)

    def test_list_bounds_are_errors_not_surprises(self):
        for params in ({"limit": 0}, {"limit": 101}, {"after": "video_never_was"}):
            with self.subTest(**params), self.assertRaises(openai.BadRequestError) as ctx:
                self.client.videos.list(**params)
            self.assertIn(ctx.exception.body.get("param"), ("limit", "after"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
