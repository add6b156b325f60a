"""``whispercli serve``'s flags: the transcription defaults are the library's, and bad flags fail before loading."""

from __future__ import annotations

import inspect
import subprocess
import sys

from whispercli.cli.serve import serve
from whispercli.options import OPTION_NAMES, TranscribeOptions

# serve's flag names that carry their unit in the options record
_RENAMED = {"offset_t": "offset_t_ms", "duration": "duration_ms"}


def test_transcription_defaults_are_the_librarys():
    defaults = TranscribeOptions()
    checked = []
    for name, param in inspect.signature(serve).parameters.items():
        option = _RENAMED.get(name, name)
        if option in OPTION_NAMES and option != "threads":  # threads: min(4, CPUs), as transcribe
            assert param.default.default == getattr(defaults, option), name
            checked.append(option)
    # every option whisper-server takes as a flag is a serve flag too
    assert {"language", "detect_language", "translate", "prompt", "carry_initial_prompt", "best_of", "beam_size",
            "temperature", "temperature_inc", "no_fallback", "entropy_thold", "logprob_thold", "no_speech_thold",
            "max_context", "audio_ctx", "offset_t_ms", "offset_n", "duration_ms", "max_len", "split_on_word",
            "word_thold", "no_timestamps", "dtw", "suppress_nst", "diarize", "tinydiarize", "debug_mode",
            "processors", "vad", "vad_model", "vad_threshold", "vad_min_speech_duration_ms",
            "vad_min_silence_duration_ms", "vad_max_speech_duration_s", "vad_speech_pad_ms",
            "vad_samples_overlap"} <= set(checked)


def test_cli_refuses_bad_flags_before_loading(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "whispercli", "serve", "-m", "tiny.en", "--inference-path", "x"],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "must start with '/'" in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "whispercli", "serve", "-m", str(tmp_path / "none.bin")],
                          capture_output=True, text=True)
    assert proc.returncode == 3 and "not found" in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "whispercli", "serve", "-m", "tiny.en", "-bs", "0"],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "beam" in proc.stderr
