#!/usr/bin/env bash
# Seed corpora (and libFuzzer dictionaries) for the harnesses in fuzz/, made
# from the repository's own files; scripts/fuzz.sh calls it when a corpus is
# missing. Writes:
#   build-fuzz/corpus/fuzz_manifest/       assets' manifest.json files (as is and minified), demo packages'
#   build-fuzz/corpus/fuzz_family_config/  their architecture objects, plus CREPS and TorchScript ones
#   build-fuzz/corpus/fuzz_safetensors/    small hand-written files (every dtype, metadata, empty), and
#                                          the smallest tensors of each assets/ weights file re-packed
#   build-fuzz/corpus/fuzz_image_header/   PNG, JPEG, BMP, TIFF from gst-launch-1.0; GIF, WebP, BMP
#                                          variants written byte by byte; heads of real photos
#   build-fuzz/dict/<harness>.dict         tokens: JSON syntax, every key the seeds use, magic numbers
# Usage: scripts/fuzz-corpus.sh [--force]   (--force: rebuild corpora that exist)
# Needs python3 (no torch) and, for the encoded images, gst-launch-1.0 (skipped when absent).
set -euo pipefail
cd "$(dirname "$0")/.."
out=build-fuzz/corpus
dict=build-fuzz/dict
force=0
[ "${1:-}" = "--force" ] && force=1
mkdir -p "$out" "$dict"

# fresh HARNESS: true when its corpus must be (re)made; empties it then.
fresh() {
  local d="$out/$1"
  if [ "$force" -eq 0 ] && [ -d "$d" ] && [ -n "$(ls -A "$d" 2>/dev/null)" ]; then
    echo "fuzz-corpus: $d exists ($(ls "$d" | wc -l) files), kept"
    return 1
  fi
  rm -rf "$d"
  mkdir -p "$d"
  return 0
}

# Demo packages from the CLI, when it is built: more manifests (OASIS with and
# without a database, ASAP-Net, the 64x64 G2D) than assets/ holds.
demo=""
if [ -x build/tools/fiancee ]; then
  demo="$(mktemp -d "${TMPDIR:-/tmp}/fiancee-corpus-XXXXXX")"
  trap 'rm -rf "$demo"' EXIT
  build/tools/fiancee make-demo-package --out "$demo/g2d" --threads 1 > /dev/null 2>&1 || true
  build/tools/fiancee make-demo-package --pipeline synth --out "$demo/oasis" --threads 1 > /dev/null 2>&1 || true
  build/tools/fiancee make-demo-package --pipeline synth --no-database --out "$demo/oasis-nodb" --threads 1 > /dev/null 2>&1 || true
  build/tools/fiancee make-demo-package --pipeline synth --family asap --out "$demo/asap" --threads 1 > /dev/null 2>&1 || true
fi
manifests=()
while IFS= read -r f; do manifests+=("$f"); done < <(find assets ${demo:+"$demo"} -name manifest.json | sort)
echo "fuzz-corpus: ${#manifests[@]} manifests: ${manifests[*]}"

# --- fuzz_manifest and fuzz_family_config: JSON -------------------------------
want_manifest=0; want_family=0
fresh fuzz_manifest && want_manifest=1
fresh fuzz_family_config && want_family=1
python3 - "$out" "$dict" "$want_manifest" "$want_family" "${manifests[@]}" <<'PY'
import json, os, sys
out, dict_dir, want_manifest, want_family = sys.argv[1], sys.argv[2], sys.argv[3] == "1", sys.argv[4] == "1"
paths = sys.argv[5:]
keys, strings = set(), set()

def walk(v):
    if isinstance(v, dict):
        for k, x in v.items():
            keys.add(k)
            walk(x)
    elif isinstance(v, list):
        for x in v:
            walk(x)
    elif isinstance(v, str) and len(v) < 40:
        strings.add(v)

def write(harness, name, text):
    with open(os.path.join(out, harness, name), "w") as f:
        f.write(text)

archs = []
for i, p in enumerate(paths):
    m = json.load(open(p))
    walk(m)
    tag = "%02d-%s" % (i, os.path.basename(os.path.dirname(p)))
    if want_manifest:
        write("fuzz_manifest", tag + ".json", open(p).read())
        write("fuzz_manifest", tag + ".min.json", json.dumps(m, separators=(",", ":")))
    archs.append((tag, m["architecture"]))

# Families with no package in the repository: CrepsConfig::tiny() and the
# TorchScript config of tests/test_torchscript.cc, written out by hand.
creps = {"family": "creps", "z_dim": 16, "w_dim": 16, "mapping_layers": 2, "mapping_lr_multiplier": 0.01,
         "block_channels": [16, 16, 8, 8], "rank": 2, "bandwidth": 2.0, "biline_channels": 8,
         "decoder_hidden": [16, 32, 16], "refine_channels": [16, 8], "out_channels": 3, "height": 16, "width": 16,
         "key_dim": 0, "predictor_hidden": [16], "min_channels": 4, "attach_points": [1, 2, 3],
         "branches": [{"scale_factor": "1/2", "exits": [{"decoder_hidden": [8, 16, 8], "refine": [8, 4]}] * 3}]}
scripted = {"family": "torchscript", "num_stages": 2, "attach_points": [0, 1], "key_dim": 4}
archs += [("creps-tiny", creps), ("torchscript", scripted)]
walk(creps)
walk(scripted)
if want_family:
    for tag, a in archs:
        write("fuzz_family_config", tag + ".json", json.dumps(a, separators=(",", ":")))
        # Without "family" every family's reader goes past its first field.
        b = {k: v for k, v in a.items() if k != "family"}
        write("fuzz_family_config", tag + ".nofamily.json", json.dumps(b, separators=(",", ":")))

def q(s):
    return '"' + "".join(c if c.isalnum() or c in " ./_-:=+" else "\\x%02x" % ord(c) for c in s) + '"'

syntax = ["{", "}", "[", "]", ",", ":", "\"\"", "true", "false", "null", "-1", "0", "1", "1e308", "-0.0", "65536",
          "65537", "2147483648", "18446744073709551616", "1/2", "1/4", "1/8", "0.5"]
tokens = sorted(set(syntax) | {'"%s"' % k for k in keys} | {'"%s"' % s for s in strings})
for name in ("fuzz_manifest", "fuzz_family_config"):
    with open(os.path.join(dict_dir, name + ".dict"), "w") as f:
        for t in tokens:
            f.write(q(t) + "\n")
print("fuzz-corpus: %d JSON dictionary tokens" % len(tokens))
PY

# --- fuzz_safetensors ----------------------------------------------------------
if fresh fuzz_safetensors; then
  python3 - "$out/fuzz_safetensors" "$dict" assets <<'PY'
import glob, json, os, struct, sys
out, dict_dir, assets = sys.argv[1], sys.argv[2], sys.argv[3]
size = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}

def pack(tensors, metadata=None):
    """tensors: [(name, dtype, shape, bytes)] in data order -> safetensors bytes."""
    header, data = {}, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # the reference writer pads the header to 8 bytes
    return struct.pack("<Q", len(text)) + text + data

def write(name, blob):
    with open(os.path.join(out, name), "wb") as f:
        f.write(blob)

def numel(shape):
    n = 1
    for d in shape:
        n *= d
    return n

for dtype, item in size.items():
    shape = [2, 3]
    raw = bytes([1] * (numel(shape) * item)) if dtype == "BOOL" else bytes(range(numel(shape) * item))
    write("dtype-%s.safetensors" % dtype, pack([("t", dtype, shape, raw)]))
write("empty-header.safetensors", pack([]))
write("metadata.safetensors", pack([("w", "F32", [2], struct.pack("<2f", 1.5, -2.0))], {"format": "pt", "epoch": "3"}))
write("scalar.safetensors", pack([("s", "F64", [], struct.pack("<d", 3.25))]))
write("zero-dim.safetensors", pack([("z", "F32", [0, 4], b""), ("a", "U8", [3], b"abc")]))
write("three.safetensors", pack([("a.weight", "F32", [2, 2], struct.pack("<4f", 1, 2, 3, 4)),
                                 ("a.bias", "F32", [2], struct.pack("<2f", 0, 1)),
                                 ("b.idx", "I64", [1], struct.pack("<q", 7))]))
write("bool.safetensors", pack([("m", "BOOL", [4], bytes([0, 1, 1, 0]))]))
write("truncated.safetensors", pack([("t", "F32", [4], struct.pack("<4f", 1, 2, 3, 4))])[:-3])

# The project's real weights files, shrunk: each one's smallest tensors with
# their real bytes and names (the header layout of what the loaders read).
n = 0
for path in sorted(glob.glob(os.path.join(assets, "**", "*.safetensors"), recursive=True)):
    with open(path, "rb") as f:
        length = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(length))
        start = 8 + length
        entries = [(k, v) for k, v in header.items() if k != "__metadata__"]
        entries.sort(key=lambda kv: kv[1]["data_offsets"][1] - kv[1]["data_offsets"][0])
        picked = []
        for k, v in entries[:4]:
            b, e = v["data_offsets"]
            if e - b > 1024:
                break
            f.seek(start + b)
            picked.append((k, v["dtype"], v["shape"], f.read(e - b)))
    if picked:
        tag = path.replace("/", "_").replace(".safetensors", "")
        write("%s.safetensors" % tag, pack(picked, header.get("__metadata__")))
        n += 1
print("fuzz-corpus: safetensors: %d hand-written, %d shrunk from assets/" % (len(size) + 7, n))

with open(os.path.join(dict_dir, "fuzz_safetensors.dict"), "w") as f:
    for t in ['"{"', '"}"', '"["', '"]"', '","', '":"', '"\\x22dtype\\x22"', '"\\x22shape\\x22"',
              '"\\x22data_offsets\\x22"', '"\\x22__metadata__\\x22"', '"18446744073709551615"',
              '"9223372036854775807"', '"4294967296"', '"0"', '"-1"'] + ['"\\x22%s\\x22"' % d for d in size]:
        f.write(t + "\n")
PY
fi

# --- fuzz_image_header ----------------------------------------------------------
if fresh fuzz_image_header; then
  d="$out/fuzz_image_header"
  if command -v gst-launch-1.0 > /dev/null; then
    # encoder, file suffix; sizes chosen odd and unequal so that width and height cannot be swapped unnoticed.
    for enc in "pngenc:png" "jpegenc:jpg" "avenc_bmp:bmp" "avenc_tiff:tiff"; do
      e="${enc%%:*}"; ext="${enc##*:}"
      gst-inspect-1.0 "$e" > /dev/null 2>&1 || { echo "fuzz-corpus: no $e, skipped"; continue; }
      for fmt in RGB GRAY8; do
        for size in "17x9" "64x40"; do
          w="${size%x*}"; h="${size#*x}"
          gst-launch-1.0 -q videotestsrc num-buffers=1 pattern=smpte ! "video/x-raw,format=$fmt,width=$w,height=$h" \
            ! videoconvert ! "$e" ! filesink location="$d/gst-$fmt-$size.$ext" > /dev/null 2>&1 \
            || rm -f "$d/gst-$fmt-$size.$ext"
        done
      done
    done
    # A low-quality JPEG: other quantisation tables, odd size.
    gst-launch-1.0 -q videotestsrc num-buffers=1 ! video/x-raw,width=33,height=21 ! jpegenc quality=10 \
      ! filesink location="$d/gst-q10-33x21.jpg" > /dev/null 2>&1 || true
  else
    echo "fuzz-corpus: no gst-launch-1.0, images written by python3 only"
  fi
  python3 - "$d" "$dict" <<'PY'
import os, struct, sys, zlib, glob
out, dict_dir = sys.argv[1], sys.argv[2]

def write(name, blob):
    with open(os.path.join(out, name), "wb") as f:
        f.write(blob)

def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

# PNG 3x2 RGB, written by hand.
raw = b"".join(b"\0" + bytes(range(9)) for _ in range(2))
write("py-3x2.png", b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 3, 2, 8, 2, 0, 0, 0)) +
      chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
# BMP: BITMAPINFOHEADER 24-bit 2x3, and a top-down one (negative height).
def bmp(w, h, top_down=False):
    row = (w * 3 + 3) & ~3
    pixels = b"\x10\x20\x30" * w + b"\0" * (row - w * 3)
    data = pixels * h
    info = struct.pack("<IiiHHIIiiII", 40, w, -h if top_down else h, 1, 24, 0, len(data), 2835, 2835, 0, 0)
    return b"BM" + struct.pack("<IHHI", 14 + 40 + len(data), 0, 0, 54) + info + data
write("py-2x3.bmp", bmp(2, 3))
write("py-2x3-topdown.bmp", bmp(2, 3, True))
# BMP with a BITMAPCOREHEADER (OS/2, 16-bit sizes).
write("py-core.bmp", b"BM" + struct.pack("<IHHI", 26 + 12, 0, 0, 26) + struct.pack("<IHHHH", 12, 4, 1, 1, 24) + b"\0" * 12)
# GIF87a and GIF89a 5x4, one-colour global table, minimal image.
def gif(version, w, h):
    screen = struct.pack("<HHBBB", w, h, 0x80, 0, 0) + b"\0\0\0\xff\xff\xff"
    image = b"\x2c" + struct.pack("<HHHHB", 0, 0, w, h, 0) + b"\x02\x02\x44\x01\x00"
    return version + screen + image + b"\x3b"
write("py-5x4-87a.gif", gif(b"GIF87a", 5, 4))
write("py-5x4-89a.gif", gif(b"GIF89a", 5, 4))
# WebP: lossy (VP8), lossless (VP8L) and extended (VP8X) headers, 7x5.
def riff(payload):
    return b"RIFF" + struct.pack("<I", 4 + len(payload)) + b"WEBP" + payload
w, h = 7, 5
vp8 = b"\x30\x01\x00" + b"\x9d\x01\x2a" + struct.pack("<HH", w, h) + b"\0" * 10
write("py-7x5-vp8.webp", riff(b"VP8 " + struct.pack("<I", len(vp8)) + vp8))
bits = (w - 1) | ((h - 1) << 14)
vp8l = b"\x2f" + struct.pack("<I", bits) + b"\0" * 4
write("py-7x5-vp8l.webp", riff(b"VP8L" + struct.pack("<I", len(vp8l)) + vp8l))
vp8x = struct.pack("<I", 0) + (w - 1).to_bytes(3, "little") + (h - 1).to_bytes(3, "little")
write("py-7x5-vp8x.webp", riff(b"VP8X" + struct.pack("<I", len(vp8x)) + vp8x))
# JPEG skeleton: SOI, APP0 (JFIF), SOF0 9x11, SOS, EOI (no real scan: the header is what is probed).
sof = struct.pack(">BHHB", 8, 11, 9, 1) + b"\x01\x11\x00"
write("py-9x11-sof0.jpg", b"\xff\xd8" + b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0" +
      b"\xff\xc0" + struct.pack(">H", 2 + len(sof)) + sof + b"\xff\xda\x00\x08\x01\x01\x00\x00\x3f\x00" + b"\xff\xd9")
write("py-9x11-sof2.jpg", b"\xff\xd8" + b"\xff\xc2" + struct.pack(">H", 2 + len(sof)) + sof + b"\xff\xd9")

# Heads of real photos the project uses (the bundled package's source photo,
# astronaut.png when fetched, OpenCV's sample images): the first 2 KiB.
photos = ["assets/refiner-256/source.png", "out/photos/astronaut.png"]
photos += sorted(glob.glob("/usr/share/doc/opencv-doc/examples/data/*.jpg"))[:3]
photos += sorted(glob.glob("/usr/share/doc/opencv-doc/examples/data/*.png"))[:2]
n = 0
for p in photos:
    if os.path.isfile(p):
        with open(p, "rb") as f:
            write("head-" + os.path.basename(p), f.read(2048))
        n += 1
print("fuzz-corpus: images: %d photo heads" % n)

with open(os.path.join(dict_dir, "fuzz_image_header.dict"), "w") as f:
    for t in [r"\x89PNG\x0d\x0a\x1a\x0a", "IHDR", "IDAT", "IEND", r"\xff\xd8\xff", r"\xff\xc0", r"\xff\xc1", r"\xff\xc2",
              r"\xff\xc4", r"\xff\xda", r"\xff\xd9", r"\xff\xe0", r"\xff\xe1", "JFIF", "Exif", "BM", "GIF87a", "GIF89a",
              "RIFF", "WEBP", "VP8 ", "VP8L", "VP8X", r"\x9d\x01\x2a", r"II\x2a\x00", r"MM\x00\x2a",
              r"\xff\xff\xff\x7f", r"\x00\x00\x00\x80", r"\xff\xff\xff\xff"]:
        f.write('"%s"\n' % t)
PY
fi
for h in "$out"/*/; do
  echo "fuzz-corpus: $(basename "$h"): $(ls "$h" | wc -l) seeds, $(du -sk "$h" | cut -f1) KiB"
done
