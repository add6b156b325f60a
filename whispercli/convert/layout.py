"""The ggml tensor plan: the hyper-parameters, and which CTranslate2 variable (or which
rows of it) becomes which ggml tensor, in what type and in what order."""

from __future__ import annotations

import re
from typing import Iterator, NamedTuple

import numpy as np

from ..errors import ConversionError
from .ct2 import Ct2Model
from ..models.validate import HParams


#: ggml tensor types, as convert-pt-to-ggml.py writes them.
FTYPE_F32 = 0
FTYPE_F16 = 1


#: The header's hyper-parameters: one record, shared with the validator that reads them back.
Hparams = HParams


def _count_layers(model: Ct2Model, prefix: str) -> int:
    pattern = re.compile(re.escape(prefix) + r"/layer_(\d+)/")
    found = {int(m.group(1)) for name in [*model.variables, *model.aliases] if (m := pattern.match(name))}
    if not found or found != set(range(len(found))):
        raise ConversionError(f"{model.label}: not a Whisper model (no contiguous {prefix} layers)")
    return len(found)


def read_hparams(model: Ct2Model) -> Hparams:
    embed = model.info("decoder/embeddings/weight").shape
    text_pos = model.info("decoder/position_encodings/encodings").shape
    audio_pos = model.info("encoder/position_encodings/encodings").shape
    conv1 = model.info("encoder/conv1/weight").shape
    if len(embed) != 2 or len(text_pos) != 2 or len(audio_pos) != 2 or len(conv1) != 3:
        raise ConversionError(f"{model.label}: not a Whisper model (unexpected embedding/conv shapes)")
    n_text_state = embed[1]
    n_audio_state = audio_pos[1]
    # Every Whisper size uses 64-wide heads; the stored count wins when present.
    n_audio_head = model.scalar("encoder/num_heads") or n_audio_state // 64
    n_text_head = model.scalar("decoder/num_heads") or n_text_state // 64
    return Hparams(
        n_vocab=embed[0],
        n_audio_ctx=audio_pos[0],
        n_audio_state=n_audio_state,
        n_audio_head=n_audio_head,
        n_audio_layer=_count_layers(model, "encoder"),
        n_text_ctx=text_pos[0],
        n_text_state=n_text_state,
        n_text_head=n_text_head,
        n_text_layer=_count_layers(model, "decoder"),
        n_mels=conv1[1],
        ftype=FTYPE_F16,
    )


class Tensor(NamedTuple):
    ggml_name: str
    ct2_name: str
    rows: slice | None  # a row range of a fused CTranslate2 weight/bias
    ftype: int
    shape: tuple[int, ...] | None = None  # override (conv bias -> [n, 1])


def _attention(ct2: str, out: str, cross: bool, d: int) -> Iterator[Tensor]:
    """Whisper's q, k (no bias), v, out from CTranslate2's fused projections."""
    if cross:
        q_name, kv_name, o_name = f"{ct2}/linear_0", f"{ct2}/linear_1", f"{ct2}/linear_2"
        q_rows, k_rows, v_rows = None, slice(0, d), slice(d, 2 * d)
    else:
        q_name = kv_name = f"{ct2}/linear_0"
        o_name = f"{ct2}/linear_1"
        q_rows, k_rows, v_rows = slice(0, d), slice(d, 2 * d), slice(2 * d, 3 * d)
    yield Tensor(f"{out}_ln.weight", f"{ct2}/layer_norm/gamma", None, FTYPE_F32)
    yield Tensor(f"{out}_ln.bias", f"{ct2}/layer_norm/beta", None, FTYPE_F32)
    yield Tensor(f"{out}.query.weight", f"{q_name}/weight", q_rows, FTYPE_F16)
    yield Tensor(f"{out}.query.bias", f"{q_name}/bias", q_rows, FTYPE_F32)
    yield Tensor(f"{out}.key.weight", f"{kv_name}/weight", k_rows, FTYPE_F16)
    yield Tensor(f"{out}.value.weight", f"{kv_name}/weight", v_rows, FTYPE_F16)
    yield Tensor(f"{out}.value.bias", f"{kv_name}/bias", v_rows, FTYPE_F32)
    yield Tensor(f"{out}.out.weight", f"{o_name}/weight", None, FTYPE_F16)
    yield Tensor(f"{out}.out.bias", f"{o_name}/bias", None, FTYPE_F32)


def _block(ct2: str, out: str) -> Iterator[Tensor]:
    yield Tensor(f"{out}.mlp_ln.weight", f"{ct2}/ffn/layer_norm/gamma", None, FTYPE_F32)
    yield Tensor(f"{out}.mlp_ln.bias", f"{ct2}/ffn/layer_norm/beta", None, FTYPE_F32)
    yield Tensor(f"{out}.mlp.0.weight", f"{ct2}/ffn/linear_0/weight", None, FTYPE_F16)
    yield Tensor(f"{out}.mlp.0.bias", f"{ct2}/ffn/linear_0/bias", None, FTYPE_F32)
    yield Tensor(f"{out}.mlp.2.weight", f"{ct2}/ffn/linear_1/weight", None, FTYPE_F16)
    yield Tensor(f"{out}.mlp.2.bias", f"{ct2}/ffn/linear_1/bias", None, FTYPE_F32)


def tensor_plan(model: Ct2Model, hp: Hparams) -> list[Tensor]:
    """Every ggml tensor, in the key order of OpenAI's checkpoints."""
    plan = [
        Tensor("decoder.positional_embedding", "decoder/position_encodings/encodings", None, FTYPE_F32),
        Tensor("encoder.positional_embedding", "encoder/position_encodings/encodings", None, FTYPE_F32),
        Tensor("decoder.token_embedding.weight", "decoder/embeddings/weight", None, FTYPE_F16),
    ]
    for i in range(hp.n_text_layer):
        ct2, out = f"decoder/layer_{i}", f"decoder.blocks.{i}"
        plan += _block(ct2, out)
        plan += _attention(f"{ct2}/self_attention", f"{out}.attn", False, hp.n_text_state)
        plan += _attention(f"{ct2}/attention", f"{out}.cross_attn", True, hp.n_text_state)
    plan += [
        Tensor("decoder.ln.weight", "decoder/layer_norm/gamma", None, FTYPE_F32),
        Tensor("decoder.ln.bias", "decoder/layer_norm/beta", None, FTYPE_F32),
        Tensor("encoder.conv1.weight", "encoder/conv1/weight", None, FTYPE_F16),
        Tensor("encoder.conv1.bias", "encoder/conv1/bias", None, FTYPE_F32, (hp.n_audio_state, 1)),
        Tensor("encoder.conv2.weight", "encoder/conv2/weight", None, FTYPE_F16),
        Tensor("encoder.conv2.bias", "encoder/conv2/bias", None, FTYPE_F32, (hp.n_audio_state, 1)),
    ]
    for i in range(hp.n_audio_layer):
        ct2, out = f"encoder/layer_{i}", f"encoder.blocks.{i}"
        plan += _block(ct2, out)
        plan += _attention(f"{ct2}/self_attention", f"{out}.attn", False, hp.n_audio_state)
    plan += [
        Tensor("encoder.ln_post.weight", "encoder/layer_norm/gamma", None, FTYPE_F32),
        Tensor("encoder.ln_post.bias", "encoder/layer_norm/beta", None, FTYPE_F32),
    ]
    return plan


def check_layout(model: Ct2Model, hp: Hparams, plan: list[Tensor]) -> None:
    """Fail before writing anything if a variable is missing or has the wrong shape."""
    for t in plan:
        var = model.info(t.ct2_name)
        if var.dtype not in ("float16", "float32"):
            raise ConversionError(
                f"{model.label}: variable {t.ct2_name} has dtype {var.dtype}, expected float16/float32"
            )
        if t.rows is not None and (not var.shape or var.shape[0] < t.rows.stop):
            raise ConversionError(
                f"{model.label}: not a Whisper model ({t.ct2_name} has shape {var.shape}, "
                f"expected at least {t.rows.stop} rows)"
            )
    # The fused key bias must be the zero CTranslate2 inserts: ggml Whisper has none.
    for layer, prefix, cross in [
        *((i, "decoder", False) for i in range(hp.n_text_layer)),
        *((i, "decoder", True) for i in range(hp.n_text_layer)),
        *((i, "encoder", False) for i in range(hp.n_audio_layer)),
    ]:
        d = hp.n_text_state if prefix == "decoder" else hp.n_audio_state
        fused = "attention/linear_1/bias" if cross else "self_attention/linear_0/bias"
        name = f"{prefix}/layer_{layer}/{fused}"
        key_rows = slice(0, d) if cross else slice(d, 2 * d)
        if np.any(model.float_array(name)[key_rows]):
            raise ConversionError(
                f"{model.label}: {name} has a non-zero key bias, which Whisper does not have"
            )
