"""whispercli.options: one record, validated in one place, with one-line errors."""

from __future__ import annotations

import re

import pytest

from whispercli.errors import UsageError
from whispercli.options import FORMAT_NAMES, TranscribeOptions, for_model, parse_formats, validate


def test_formats_parse_in_whisper_cli_order_and_json_full_replaces_json():
    assert parse_formats(["srt,TXT", " json ", "json-full", ""]) == ("txt", "srt", "json-full")
    assert parse_formats(FORMAT_NAMES[::-1]) == tuple(f for f in FORMAT_NAMES if f != "json")
    with pytest.raises(UsageError, match="unknown output format 'docx'"):
        parse_formats(["txt,docx"])


@pytest.mark.parametrize("changes, message", [
    ({"language": "klingon"}, "unknown language 'klingon'"),
    ({"diarize": True, "tinydiarize": True}, "cannot use both --diarize and --tinydiarize"),
    ({"dtw": "huge"}, "unknown DTW preset 'huge'"),
    ({"threads": 0}, "--threads must be an integer from 1 to 512, not 0"),
    ({"processors": 0}, "--processors must be an integer from 1 to 64, not 0"),
    ({"beam_size": 0}, "--beam-size must be at least 1 (or -1), not 0"),
    ({"best_of": 9}, "--best-of must be an integer from 1 to 8 (or -1), not 9"),
    ({"offset_t_ms": -5}, "--offset-t must be an integer from 0 to 2147483647, not -5"),
    ({"duration_ms": 2**31}, "--duration must be an integer from 0 to 2147483647, not 2147483648"),
    ({"temperature": float("nan")}, "--temperature must be a finite number, not nan"),
    ({"word_thold": 2.0}, "--word-thold must be between 0 and 1, not 2.0"),
    ({"prompt": "\udcff"}, "--prompt is not valid UTF-8 text"),
    ({"suppress_regex": "[a-"}, "--suppress-regex '[a-' is not a valid regular expression"),
    ({"formats": ("txt", "docx")}, "unknown output format 'docx'"),
    ({"vad": True, "vad_threshold": 1.5}, "--vad-threshold must be between 0 and 1"),
    ({"vad": True, "vad_speech_pad_ms": -1}, "--vad-speech-pad-ms must be an integer from 0"),
    ({"formats": ("wts",), "font_path": "/nonexistent.ttf"}, "font not found"),
    ({"grammar": "root ::= (", "grammar_rule": "root"}, "failed to parse grammar"),
])
def test_bad_combinations_are_one_usage_error(changes, message):
    with pytest.raises(UsageError, match=re.escape(message)) as info:
        validate(TranscribeOptions().replace(**changes))
    assert "\n" not in str(info.value)


def test_validate_normalises_language_and_reads_the_grammar_file(tmp_path):
    grammar = tmp_path / "yesno.gbnf"
    grammar.write_text('root ::= " yes" | " no"\n')
    checked = validate(TranscribeOptions(language="DE", grammar=str(grammar), grammar_rule="root"))
    assert checked.language == "de"
    assert checked.grammar == 'root ::= " yes" | " no"\n'
    # a server must not let a form field name one of its files: then the value is GBNF text
    with pytest.raises(UsageError, match="failed to parse grammar"):
        validate(TranscribeOptions(grammar=str(grammar), grammar_rule="root"), read_files=False)


def test_unknown_option_name_is_a_usage_error():
    with pytest.raises(UsageError, match="unknown option.*beam_width"):
        TranscribeOptions().replace(beam_width=3)


def test_english_only_model_forces_english_with_one_warning():
    options, warnings = for_model(TranscribeOptions(language="de", translate=True), multilingual=False)
    assert (options.language, options.translate) == ("en", False)
    assert warnings == ["model is not multilingual, ignoring language and translation options"]
    assert for_model(TranscribeOptions(), multilingual=False) == (TranscribeOptions(), [])
    multi = TranscribeOptions(language="de", translate=True)
    assert for_model(multi, multilingual=True) == (multi, [])


def test_vad_without_a_model_resolves_the_cached_default(models_dir, silero_path, monkeypatch):
    from whispercli.errors import ModelError, ModelNotFoundError

    monkeypatch.setenv("WHISPERCLI_MODELS_DIR", str(models_dir))
    assert validate(TranscribeOptions(vad=True)).vad_model == str(silero_path)
    assert validate(TranscribeOptions(vad=True, vad_model="ggml-silero-v6.2.0.bin")).vad_model == str(silero_path)
    assert validate(TranscribeOptions(vad=True, vad_model=str(silero_path))).vad_model == str(silero_path)
    assert validate(TranscribeOptions(vad_model="kept as given")).vad_model == "kept as given"  # VAD off
    with pytest.raises(ModelNotFoundError, match="VAD model not found: '/nonexistent/vad.bin'"):
        validate(TranscribeOptions(vad=True, vad_model="/nonexistent/vad.bin"))
    with pytest.raises(ModelError, match="not a Silero VAD ggml model"):
        validate(TranscribeOptions(vad=True, vad_model=__file__))
