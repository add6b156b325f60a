"""Facts of whisper.cpp's formats that several modules need: one definition each."""

from __future__ import annotations

#: whisper.cpp's WHISPER_SAMPLE_RATE: every model takes 16 kHz mono samples.
SAMPLE_RATE = 16000

#: "ggml" as the little-endian uint32 0x67676d6c: the first 4 bytes of every whisper.cpp model file.
GGML_MAGIC = b"lmgg"
GGML_MAGIC_U32 = 0x67676D6C
