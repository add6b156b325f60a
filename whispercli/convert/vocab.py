"""The BPE vocabulary: the first 50257 token ids as raw bytes, from a CTranslate2
model's vocabulary file."""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import ConversionError


# Token ids 0..50256: the entries of OpenAI's tiktoken files (see the package docstring).
N_BASE_TOKENS = 50257


def _byte_decoder() -> dict[str, int]:
    """Inverse of GPT-2's ``bytes_to_unicode`` (printable stand-ins for all 256 bytes)."""
    printable = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    chars = list(printable)
    extra = 0
    byte_values = list(printable)
    for b in range(256):
        if b not in printable:
            byte_values.append(b)
            chars.append(256 + extra)
            extra += 1
    return {chr(c): b for b, c in zip(byte_values, chars)}


def _read_tokens(src: Path) -> tuple[list[str], Path]:
    txt = src / "vocabulary.txt"
    if txt.is_file():
        # Split on "\n" only: str.splitlines() would also split on U+0085 & co.
        text = txt.read_text(encoding="utf-8")
        if text.endswith("\n"):
            text = text[:-1]
        return text.split("\n"), txt
    vjson = src / "vocabulary.json"
    if vjson.is_file():
        tokens = json.loads(vjson.read_text(encoding="utf-8"))
        if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
            raise ConversionError(f"{vjson}: expected a JSON list of tokens")
        return tokens, vjson
    tok = src / "tokenizer.json"
    if tok.is_file():
        data = json.loads(tok.read_text(encoding="utf-8"))
        try:
            vocab: dict[str, int] = dict(data["model"]["vocab"])
            for added in data.get("added_tokens", []):
                vocab[added["content"]] = int(added["id"])
        except (KeyError, TypeError, ValueError, AttributeError):
            raise ConversionError(f"{tok}: not a Hugging Face tokenizer.json with a BPE vocabulary") from None
        by_id = [""] * (max(vocab.values(), default=-1) + 1)
        for token, idx in vocab.items():
            by_id[idx] = token
        return by_id, tok
    raise ConversionError(f"{src}: missing vocabulary (no vocabulary.txt, vocabulary.json or tokenizer.json)")


def vocab_bytes(src: Path) -> list[bytes]:
    try:
        tokens, path = _read_tokens(src)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConversionError(f"{src}: cannot read the vocabulary: {exc}") from exc
    if len(tokens) < N_BASE_TOKENS:
        raise ConversionError(
            f"{path}: vocabulary has {len(tokens)} tokens, expected at least {N_BASE_TOKENS}"
        )
    decoder = _byte_decoder()
    out: list[bytes] = []
    for idx, token in enumerate(tokens[:N_BASE_TOKENS]):
        try:
            out.append(bytes(decoder[c] for c in token))
        except KeyError:
            raise ConversionError(f"{path}: token {idx} ({token!r}) is not a byte-level BPE token") from None
    return out
