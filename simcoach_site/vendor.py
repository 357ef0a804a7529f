"""Fetch front-end libraries from the npm registry into static/vendor (never committed).

`python -m simcoach_site.vendor` runs `npm pack` for each pinned package and unpacks only the
files the pages load. Idempotent: a package already in place is skipped.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

VENDOR = Path(__file__).resolve().parent.parent / "static" / "vendor"
# package@version -> files inside the npm tarball to keep
PACKAGES = {
    "uplot@1.6.32": ["package/dist/uPlot.iife.min.js", "package/dist/uPlot.min.css"],
}


def fetch(spec: str, files: list[str]) -> None:
    name = spec.split("@")[0]
    target = VENDOR / name
    if all((target / Path(f).name).exists() for f in files):
        return
    if shutil.which("npm") is None:
        sys.exit("npm is needed once to fetch front-end libraries (apt-get install -y npm)")
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run(
            ["npm", "pack", spec, "--silent"], cwd=tmp, check=True, capture_output=True, text=True
        )
        with tarfile.open(Path(tmp) / out.stdout.strip().splitlines()[-1]) as tar:
            for member in files:
                src = tar.extractfile(member)
                if src is None:
                    raise SystemExit(f"{spec} lacks {member}")
                (target / Path(member).name).write_bytes(src.read())


def main() -> None:
    for spec, files in PACKAGES.items():
        fetch(spec, files)


if __name__ == "__main__":
    main()
