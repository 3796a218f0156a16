"""The gallery page in a real browser (issue 10), run by Scripts/gallery-browser-test.

Starts the sandbox, saves five videos with `fetch --with thumbnail,spritesheet --gallery
--archive` (one with a hostile prompt, one from a server without previews), then loads
DIR/index.html from disk in headless Chromium:
- `--dump-dom`: one <article> per video, newest first, no element the prompt tried to inject,
  every link pointing at a file that exists;
- `--screenshot`: each thumbnail's colour is on screen (decoded from the PNG here, no library),
  so the images really loaded under the page's Content-Security-Policy;
- the archive, extracted elsewhere, has its own index.html that lists the same videos.
The screenshot is kept in .build/gallery/ (out of git) for a person to look at.
"""

import html.parser
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
FETCH = os.environ.get("FETCH_BIN", str(ROOT / ".build/debug/lumenfall-fetch"))
SANDBOX = os.environ.get("SANDBOX_BIN", str(ROOT / ".build/debug/lumenfall-sandbox"))
CHROMIUM = os.environ.get("CHROMIUM", "chromium")
KEY = "lmnfl_sandbox_0123456789abcdef"
HOSTILE = '<script>document.title="pwned"</script><img src=x onerror=alert(1)> & "q" \u202eevil'
OUT = ROOT / ".build" / "gallery"
failures = []


def check(cond, what):
    print(("ok    " if cond else "FAIL  ") + what)
    if not cond:
        failures.append(what)


def chromium(*args):
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
           "--disable-background-networking", "--no-first-run", *args]
    return subprocess.run(cmd, capture_output=True, timeout=120)


class Page(html.parser.HTMLParser):
    """What the serialized DOM holds: articles in order, element names, links and images."""

    def __init__(self):
        super().__init__()
        self.articles, self.tags, self.links, self.images = [], [], [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append(tag)
        if tag == "article":
            self.articles.append(a.get("id"))
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        if tag == "img":
            self.images.append(a.get("src"))


def png_pixels(path):
    """RGB(A) rows of an 8-bit PNG, unfiltered by hand (Chromium's screenshots are such)."""
    data = Path(path).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height, channels = 8, b"", 0, 0, 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            width, height, depth, ctype = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and ctype in (2, 6), (depth, ctype)
            channels = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw, stride, rows, prev = zlib.decompress(idat), width * channels, [], bytearray(width * channels)
    for y in range(height):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b, c = prev[i], (prev[i - channels] if i >= channels else 0)
            if f == 1: line[i] = (line[i] + a) & 255
            elif f == 2: line[i] = (line[i] + b) & 255
            elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, channels, rows


def webp_colour(path):
    """The one colour of the sandbox's lossless WebP thumbnail: its five single-symbol codes
    after the 5-byte VP8L header hold green, red, blue (LSB-first bit stream)."""
    bits = int.from_bytes(Path(path).read_bytes()[20:], "little")  # from the 0x2F signature
    pos = 8 + 14 + 14 + 1 + 3 + 1 + 1 + 1
    symbols = []
    for _ in range(3):
        pos += 3
        symbols.append((bits >> pos) & 255)
        pos += 8
    g, r, b = symbols
    return r, g, b


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="gallery-"))
    url_file = work / "url"
    sandbox = subprocess.Popen([SANDBOX, "--port", "0", "--url-file", str(url_file)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while not url_file.exists():
            if sandbox.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the sandbox ({SANDBOX}) did not start")
            time.sleep(0.05)
        base = url_file.read_text().strip()
        ids = []
        jobs = [("a sunrise over dunes, drone shot", {}), (HOSTILE, {}), ("rain on a tin roof", {"previews": "none"}),
                ("a red panda eating bamboo", {}), ("neon city, 4 seconds", {})]
        for prompt, extra in jobs:
            body = json.dumps({"prompt": prompt, "sandbox": {"bytes": 150000, **extra}}).encode()
            req = urllib.request.Request(base + "/videos", body, {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"})
            ids.append(json.load(urllib.request.urlopen(req))["id"])
            time.sleep(1.1)  # distinct created_at seconds, so "newest first" has one answer
        folder = work / "videos"
        run = subprocess.run([FETCH, *ids, "-o", str(folder), "--base-url", base, "--with", "thumbnail,spritesheet",
                              "--gallery", "--archive", str(work / "all.tar.zst"), "--progress", "none",
                              "--poll-interval", "0.1"], env={**os.environ, "LUMENFALL_API_KEY": KEY},
                             capture_output=True, text=True, timeout=300)
        check(run.returncode == 0, f"fetch --gallery exits 0 ({run.returncode}: {run.stderr.strip()[-300:]})")
        index = folder / "index.html"
        check(index.exists(), "DIR/index.html is written")

        dom = chromium("--dump-dom", index.as_uri())
        page = Page()
        page.feed(dom.stdout.decode("utf-8", "replace"))
        check(len(page.articles) == len(ids), f"--dump-dom shows {len(page.articles)} videos, expected {len(ids)}")
        check(page.articles == list(reversed(ids)), "newest first")
        check("script" not in page.tags, "the hostile prompt injected no <script> element")
        check(len(page.images) == len(ids) - 1, f"{len(page.images)} thumbnails (one video has none)")
        check(page.tags.count("video") == 1, "the video without a thumbnail gets a <video> player")
        check("&lt;script&gt;" in dom.stdout.decode() and "onerror=alert" in dom.stdout.decode(),
              "the hostile prompt is shown as text")
        missing = [h for h in page.links + page.images if not (folder / h).exists()]
        check(not missing, f"every link and image names a file on disk {missing[:3]}")

        shot = OUT / "screenshot.png"
        r = chromium(f"--screenshot={shot}", "--window-size=1280,1400", index.as_uri())
        check(r.returncode == 0 and shot.exists(), f"a screenshot is taken ({shot})")
        w, h, ch, rows = png_pixels(shot)
        seen = set()
        for y in range(0, h, 4):
            row = rows[y]
            for x in range(0, w, 4):
                seen.add(tuple(row[x * ch:x * ch + 3]))
        for vid in ids:
            thumb = folder / f"{vid}.thumbnail.webp"
            if thumb.exists():
                colour = webp_colour(thumb)
                near = any(all(abs(a - b) <= 3 for a, b in zip(colour, px)) for px in seen)
                check(near, f"{vid}'s thumbnail colour {colour} is on screen")

        extracted = work / "extracted"
        extracted.mkdir()
        # bsdtar (Python 3.11's tarfile cannot read zstd).
        subprocess.run(["bsdtar", "-xf", str(work / "all.tar.zst"), "-C", str(extracted)], check=True)
        check((extracted / "index.html").exists(), "the archive carries index.html")
        dom2 = chromium("--dump-dom", (extracted / "index.html").as_uri())
        page2 = Page()
        page2.feed(dom2.stdout.decode("utf-8", "replace"))
        check(sorted(page2.articles) == sorted(ids), "the extracted archive's page lists the same videos")
        missing2 = [x for x in page2.links + page2.images if not (extracted / x).exists()]
        check(not missing2, f"and its links work inside the extracted archive {missing2[:3]}")
    finally:
        sandbox.send_signal(signal.SIGTERM)
        sandbox.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)
    print(f"gallery: {'FAILED' if failures else 'passed'}; screenshot in {OUT / 'screenshot.png'}", file=sys.stderr)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
