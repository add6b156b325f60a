"""Model names (whisper.cpp v1.9.1's ``download-ggml-model.sh``) and resolving ``-m``.

:data:`OFFICIAL` is the one table of the official models' SHA1s and sizes: the
downloader, the converter (which recognises what it produced), the PyPI sources and the
tests all read it.  Models without a published checksum have ``sha1=None`` and
``size_bytes=None`` (a download then checks the ggml header only).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import ModelNotFoundError
from .cache import model_cache_dir, model_filename

HF_BASE_URL = "https://huggingface.co/ggerganov/whisper.cpp/resolve/main"
TDRZ_BASE_URL = "https://huggingface.co/akashmjn/tinydiarize-whisper.cpp/resolve/main"
#: whisper.cpp's download-vad-model.sh takes the Silero VAD files from here (and checks nothing).
VAD_BASE_URL = "https://huggingface.co/ggml-org/whisper-vad/resolve/main"


@dataclass(frozen=True)
class ModelInfo:
    name: str
    sha1: str | None  # published by whisper.cpp
    size_bytes: int | None  # exact, of the official file

    @property
    def filename(self) -> str:
        return model_filename(self.name)

    @property
    def english_only(self) -> bool:
        return ".en" in self.name

    def url(self, base_url: str | None = None) -> str:
        if base_url is None:
            base_url = VAD_BASE_URL if self.name in VAD_NAMES else TDRZ_BASE_URL if "tdrz" in self.name else HF_BASE_URL
        return f"{base_url.rstrip('/')}/{self.filename}"


#: name: (SHA1, bytes).  The SHA1s are the ones whisper.cpp v1.9.1 publishes in models/README.md;
#: the sizes are those of the files in its Hugging Face repositories (the README rounds them to MiB).
OFFICIAL: dict[str, tuple[str, int]] = {
    "tiny": ("bd577a113a864445d4c299885e0cb97d4ba92b5f", 77_691_713),
    "tiny.en": ("c78c86eb1a8faa21b369bcd33207cc90d64ae9df", 77_704_715),
    "base": ("465707469ff3a37a2b9b8d8f89f2f99de7299dac", 147_951_465),
    "base.en": ("137c40403d78fd54d454da0f9bd998f78703390c", 147_964_211),
    "small": ("55356645c2b361a969dfd0ef2c5a50d530afd8d5", 487_601_967),
    "small.en": ("db8a495a91d927739e50b3fc1cc4c6b8f6c2d022", 487_614_201),
    "small.en-tdrz": ("b6c6e7e89af1a35c08e6de56b66ca6a02a2fdfa1", 487_614_184),
    "medium": ("fd9727b6e1217c2f614f9b698455c4ffd82463b4", 1_533_763_059),
    "medium.en": ("8c30f0e44ce9560643ebd10bbe50cd20eafd3723", 1_533_774_781),
    "large-v1": ("b1caaf735c4cc1429223d5a74f0f4d0b9b59a299", 3_094_623_691),
    "large-v2": ("0f4c8e34f21cf1a914c59d8b3ce882345ad349d6", 3_094_623_691),
    "large-v2-q5_0": ("00e39f2196344e901b3a2bd5814807a769bd1630", 1_080_732_091),
    "large-v3": ("ad82bf6a9043ceed055076d0fd39f5f186ff8062", 3_095_033_483),
    "large-v3-q5_0": ("e6e2ed78495d403bef4b7cff42ef4aaadcfea8de", 1_081_140_203),
    "large-v3-turbo": ("4af2b29d7ec73d781377bfd1758ca957a807e941", 1_624_555_275),
    "large-v3-turbo-q5_0": ("e050f7970618a659205450ad97eb95a18d69c9ee", 574_041_195),
}

# Silero VAD models (for --vad): SHA1s of the official files, each 885,098 bytes.
_VAD_PUBLISHED = {
    "silero-v6.2.0": "470e5d9d094ddba2f0a512cecc3732a252188abd",
    "silero-v5.1.2": "a372f48dcf0bd9e4330eef2802bc46e061c19634",
}
VAD_NAMES = tuple(_VAD_PUBLISHED)
VAD_SIZE_BYTES = 885_098
#: what ``--vad`` uses when no ``-vm`` is given
DEFAULT_VAD_MODEL = "silero-v6.2.0"

NAMES = (
    "tiny", "tiny.en", "tiny-q5_1", "tiny.en-q5_1", "tiny-q8_0",
    "base", "base.en", "base-q5_1", "base.en-q5_1", "base-q8_0",
    "small", "small.en", "small.en-tdrz", "small-q5_1", "small.en-q5_1", "small-q8_0",
    "medium", "medium.en", "medium-q5_0", "medium.en-q5_0", "medium-q8_0",
    "large-v1", "large-v2", "large-v2-q5_0", "large-v2-q8_0", "large-v3", "large-v3-q5_0",
    "large-v3-turbo", "large-v3-turbo-q5_0", "large-v3-turbo-q8_0",
    *VAD_NAMES,
)

MODELS: dict[str, ModelInfo] = {name: ModelInfo(name, *OFFICIAL.get(name, (None, None))) for name in NAMES}
MODELS.update({name: ModelInfo(name, sha1, VAD_SIZE_BYTES) for name, sha1 in _VAD_PUBLISHED.items()})

#: whisper-cli's default -m
DEFAULT_MODEL_PATH = "models/ggml-base.en.bin"


def looks_like_name(value: str) -> bool:
    return os.sep not in value and "/" not in value and not value.endswith(".bin")


def resolve_model(value: str | None, default_name: str = "base.en") -> Path:
    """A ``-m`` value -> an existing model file.

    A path is taken as is; a bare name (``tiny.en``, or any ``ggml-NAME.bin`` placed
    in the cache) is looked up in the model cache.  No value means whisper-cli's
    default path ``models/ggml-<default_name>.bin``, then the cached ``default_name``.
    """
    cache = model_cache_dir()
    if value is None:
        local = Path("models") / model_filename(default_name)
        if local.is_file():
            return local
        cached = cache / model_filename(default_name)
        if cached.is_file():
            return cached
        raise ModelNotFoundError(
            f"no model given and neither {local} nor {cached} exists; "
            f"pass -m PATH or run `whispercli download-model {default_name}`"
        )
    path = Path(value).expanduser()
    if path.exists() or not looks_like_name(value):
        if not path.exists():
            raise ModelNotFoundError(f"model file not found: {value!r}")
        return path
    cached = cache / model_filename(value)
    if cached.is_file():
        return cached
    hint = f"run `whispercli download-model {value}`" if value in MODELS else (
        f"not a known model name either (see `whispercli download-model --list`)"
    )
    raise ModelNotFoundError(f"model {value!r} is not in the model cache ({cache}): {hint}")
