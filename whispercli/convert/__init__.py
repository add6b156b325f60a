"""Convert a CTranslate2 (faster-whisper) Whisper model to whisper.cpp's ggml file.

The goal is a file that is *byte-identical* to the official ``ggml-<name>.bin``
files whisper.cpp publishes (produced by ``models/convert-pt-to-ggml.py`` from
OpenAI's ``.pt`` checkpoints), so a converted model can be verified against
the official SHA1 list instead of being trusted.  That drives every decision:

* Layout (little-endian int32 unless noted)::

      magic "ggml" (0x67676d6c) | n_vocab n_audio_ctx n_audio_state n_audio_head
      n_audio_layer n_text_ctx n_text_state n_text_head n_text_layer n_mels ftype=1
      | n_mels n_fft_bins float32[n_mels * n_fft_bins]      (mel filterbank)
      | n_tokens (int32 len, raw bytes) * n_tokens            (BPE vocabulary)
      | tensors: n_dims name_len ftype dims[reversed] name data

* Tensor order is the key order of OpenAI's checkpoints (which is neither
  alphabetical nor the module order), because the official converter simply
  iterated over the checkpoint's state dict.
* Tensor types follow convert-pt-to-ggml.py: 1-D tensors, the conv biases
  (written as ``[n, 1]``) and both positional embeddings are float32,
  everything else float16.  OpenAI's checkpoints are float16, so the float16
  weights CTranslate2 stores are the original values and widening them to
  float32 is exact.
* CTranslate2 fuses q/k/v (self-attention) and k/v (cross-attention) into one
  linear layer and stores a zero key bias that Whisper does not have; the
  fused rows are split back and the key bias dropped.  Its output projection is
  an alias of the token embedding, which ggml ties implicitly, so it is skipped.
* The vocabulary is the first 50257 token ids as raw bytes, i.e. exactly the
  entries of OpenAI's ``gpt2.tiktoken`` / ``multilingual.tiktoken``: for
  English-only models id 50256 is ``<|endoftext|>``, for multilingual ones it
  is an unused, empty token.  whisper.cpp synthesises the special tokens.
* The mel filterbank is not in a CTranslate2 model.  OpenAI's
  ``mel_filters.npz`` is ``librosa.filters.mel(sr=16000, n_fft=400,
  n_mels=n_mels)`` (slaney scale and norm, float32); it is recomputed here
  with numpy, replicating librosa's float64/float32 operation order so the
  float32 values come out bit-identical.

The CTranslate2 ``model.bin`` (see ``_serialize`` in CTranslate2's
``python/ctranslate2/specs/model_spec.py``) is parsed straight from a memory
map, so float16 weights are written without being copied; only float16
<-> float32 changes, tensors split across ``model.bin.partN`` files and the
small tensors made float32 are materialised, one at a time.

One concern per module: :mod:`.ct2` reads the CTranslate2 file, :mod:`.vocab` the
vocabulary, :mod:`.mel` recomputes the filterbank, :mod:`.layout` plans the tensors
and :mod:`.ggml` writes (and hashes) the output.
"""

from __future__ import annotations

from .ggml import KNOWN_SHA1, ConversionResult, convert_ct2_to_ggml
from .mel import mel_filters

__all__ = ["ConversionResult", "KNOWN_SHA1", "convert_ct2_to_ggml", "mel_filters"]
