"""The CLI's flags -> TranscribeOptions -> FullParams equals the independent whisper-cli oracle.

``whisper_cli_params`` (this directory's conftest) replicates cli.cpp's ``wparams`` block on its
own; here the same keywords go through the real command line (flags parsed by Typer, the record
built by the CLI, mapped by ``whispercli.options.to_full_params``) and must land on the same
``FullParams``.
"""

from __future__ import annotations

import pytest

from whispercli.options import TranscribeOptions, to_full_params

CASES = [
    {},
    {"beam_size": 1},
    {"beam_size": 3, "best_of": 2, "threads": 1},
    {"max_len": 16, "split_on_word": True},
    {"no_timestamps": True},
    {"offset_t_ms": 2000, "duration_ms": 5000},
    {"output_json_full": True},
    {"output_wts": True},
    {"output_wts": True, "max_len": 20},
    {"language": "de", "translate": True},
    {"detect_language": True},
    {"word_thold": 0.3, "max_context": 0, "print_special": True},
    {"tinydiarize": True},
    {"prompt": "Kennedy", "carry_initial_prompt": True},
    {"no_fallback": True, "temperature": 0.4, "entropy_thold": 2.0, "logprob_thold": -0.5,
     "no_speech_thold": 0.3},
    {"audio_ctx": 768, "suppress_nst": True, "debug_mode": True},
]


def _oracle():
    import importlib.util
    import sys
    from pathlib import Path

    path = Path(__file__).with_name("conftest.py")
    for module in list(sys.modules.values()):
        if getattr(module, "__file__", None) and Path(module.__file__) == path:
            return module
    spec = importlib.util.spec_from_file_location("_writers_conftest", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _parsed(monkeypatch, argv: list[str]) -> TranscribeOptions:
    """What the CLI hands the library for ``argv`` (its run step captured, nothing transcribed)."""
    from whispercli.cli import app as cli_app
    from whispercli.cli import transcribe as cli_transcribe

    seen = []
    monkeypatch.setattr(cli_transcribe, "run", lambda settings, options: seen.append((settings, options)) or 0)
    assert cli_app.run(["transcribe", *argv, "x.wav"]) == 0
    (settings, options), = seen
    assert settings.inputs == ("x.wav",)
    return options


@pytest.mark.parametrize("flags", CASES, ids=lambda f: ",".join(f) or "defaults")
def test_cli_flags_map_like_whisper_cli(monkeypatch, flags):
    oracle = _oracle()
    options = _parsed(monkeypatch, [*oracle.whisper_cli_args(**flags), "--exact"])  # whisper-cli's numerics too
    expected = oracle.whisper_cli_params(**flags)
    if flags.get("detect_language"):
        # cli.cpp sets params.language = "auto" for -dl before filling wparams; the oracle leaves it
        expected = expected.with_options(language="auto")
    assert to_full_params(options) == expected


def test_record_defaults_are_whisper_clis(monkeypatch):
    assert _parsed(monkeypatch, []) == TranscribeOptions()
    assert to_full_params(TranscribeOptions(exact=True)) == _oracle().whisper_cli_params()
    # speed is the default: the tiled sgemm unless --exact (or --compat, which implies it)
    assert to_full_params(TranscribeOptions()).exact is False
    assert to_full_params(TranscribeOptions(compat=True)).exact is True
