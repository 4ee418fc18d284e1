"""`foureyes images export`: the evidence archive, by customer, by case or since a date.

Writes a zip of the originals, byte for byte as uploaded, with a manifest in CSV and in JSON
(case, customer, scene, kind, type, SHA-256, size, upload time, the case's decision and its
authorizers) whose hashes anyone can check against the files. It reads the data directory
directly and only reads, so it may run beside a live service.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import shutil
import sys
import zipfile
from pathlib import Path
from typing import Any

from foureyes.errors import FoureyesError
from foureyes.security import keys
from foureyes.store.cases import read_docs
from foureyes.store.images import FileBlobStore, StoredImage, read_images
from foureyes.store.sealing import AtRest

EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/tiff": "tif",
              "application/pdf": "pdf", "video/mp4": "mp4"}
FIELDS = ("file", "image_id", "case_id", "customer_id", "scene", "business_type", "kind", "type",
          "sha256", "size", "content_type", "uploaded_at", "uploaded_by", "captured_by",
          "captured_at", "round", "phash", "checks", "decision", "authorizer")
EPILOG = """examples:
  foureyes images export --customer cust-42 --out cust-42.zip
  foureyes images export --case C1a2b3... --out case.zip
  foureyes images export --since 2026-11-01 --out november.zip

Check a file against the manifest: sha256sum images/<case>/<image>.jpg"""


def add_parser(sub: Any) -> None:
    images = sub.add_parser("images", help="the evidence archive: export images with a manifest",
                            description=__doc__, epilog=EPILOG,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    _arguments(images)


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["export"], help="what to do")
    parser.add_argument("--data-dir", type=Path, default=Path("foureyes-data"),
                        help="the service's data directory (default ./foureyes-data)")
    which = parser.add_mutually_exclusive_group(required=True)
    parser.add_argument("--keys-dir", type=Path,
                        help="its keys (default <data-dir>.keys beside it, or FOUREYES_KEYS_DIR)")
    which.add_argument("--customer", help="every image of every case of this customer")
    which.add_argument("--case", help="one case's images, with its decision")
    which.add_argument("--since", help="every image uploaded since DATE (YYYY-MM-DD, local "
                                       "time, or an ISO date and time)")
    parser.add_argument("--out", type=Path, required=True, help="the zip file to write")


def main(argv: list[str]) -> int:
    """The export on its own (tests call this; `foureyes images` goes through run)."""
    parser = argparse.ArgumentParser(prog="foureyes images export")
    _arguments(parser)
    return run(parser.parse_args(["export", *argv]))


def run(args: argparse.Namespace) -> int:
    since = None
    if args.since:
        try:
            since = dt.datetime.fromisoformat(args.since).timestamp()
        except ValueError:
            print(f"--since {args.since!r} is not a date (YYYY-MM-DD)", file=sys.stderr)
            return 2
    index_path = args.data_dir / "images.sqlite"
    if not index_path.exists():
        print(f"no image index in {args.data_dir} (images.sqlite)", file=sys.stderr)
        return 1
    try:
        sealer = AtRest.load(Path(args.keys_dir or keys.default_keys_dir(args.data_dir)),
                             create=False).sealer
    except FoureyesError as e:
        print(f"refused: {e}", file=sys.stderr)
        return 2
    images = read_images(index_path, sealer, args.customer or "", args.case or "", since)
    count = export(args.data_dir, images, args.out)
    print(f"{count} images written to {args.out} (manifest.csv, manifest.json)")
    return 0


def _decisions(data_dir: Path, case_ids: list[str]) -> dict[str, dict[str, Any]]:
    docs: dict[str, dict[str, Any]] = {}
    for shard in sorted(data_dir.glob("cases-*.sqlite")):
        docs.update(read_docs(shard, case_ids))
    return docs


def export(data_dir: Path, images: list[StoredImage], out: Path) -> int:
    blobs = FileBlobStore(data_dir / "images")
    docs = _decisions(data_dir, sorted({i.case_id for i in images}))
    manifest = []
    out.parent.mkdir(parents=True, exist_ok=True)
    # originals are compressed already: stored as they are
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
        for image in images:
            name = f"images/{image.case_id}/{image.image_id}.{EXTENSIONS[image.content_type]}"
            with blobs.open(image.sha256) as src, z.open(name, "w") as dst:
                shutil.copyfileobj(src, dst, 1024 * 1024)
            doc = docs.get(image.case_id, {})
            manifest.append({
                **{k: v for k, v in image.item().items() if k != "thumbnail"}, "file": name,
                "decision": doc.get("state", ""),
                "authorizer": ";".join(doc.get("approvals", [])) or doc.get("seat_id", "")})
        z.writestr("manifest.json", json.dumps(manifest, indent=1, ensure_ascii=False))
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=FIELDS)
        writer.writeheader()
        for entry in manifest:
            writer.writerow({**entry, "checks": "; ".join(c["message"] for c in entry["checks"])})
        z.writestr("manifest.csv", text.getvalue())
    return len(manifest)
