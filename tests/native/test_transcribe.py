"""Transcription through the Python API on real models and real speech."""

from __future__ import annotations

import _thread
import threading
import time

import numpy as np
import pytest

from helpers import JFK_WORDS, wer, words
from whispercli import AudioError, FullParams, ModelError, TranscriptionAborted, UsageError


def test_jfk(tiny_en, jfk_samples):
    result = tiny_en.transcribe(jfk_samples)
    assert words(result.text) == JFK_WORDS
    assert result.language == "en"
    assert result.duration_ms == 11000
    assert not result.aborted
    seg = result.segments[0]
    assert seg.start_ms == 0 and 0 < seg.end_ms <= 11000
    assert seg.text_bytes.startswith(b" ")
    assert 0.0 <= seg.no_speech_prob <= 1.0
    text_tokens = [t for t in seg.tokens if not t.is_special]
    assert "".join(t.text for t in text_tokens) == seg.text
    assert all(0.0 < t.p <= 1.0 and t.plog <= 0.0 for t in text_tokens)


def test_path_input_and_beam_search(tiny_en, jfk_wav):
    result = tiny_en.transcribe(str(jfk_wav), FullParams.for_strategy("beam_search"))
    assert words(result.text) == JFK_WORDS


@pytest.mark.parametrize(
    "sentence",
    [
        "The quick brown fox jumps over the lazy dog.",
        "Please call Stella and ask her to bring these things with her from the store.",
        "My name is John and I live in London.",
    ],
)
def test_espeak_english(tiny_en, speak, sentence):
    # espeak-ng's synthetic voice costs tiny.en a word now and then; 1 in 5 is the bar.
    result = tiny_en.transcribe(speak(sentence), FullParams.for_strategy("beam_search"))
    assert wer(sentence, result.text) <= 0.2, result.text


def test_token_timestamps_are_ordered(tiny_en, jfk_samples):
    result = tiny_en.transcribe(jfk_samples, token_timestamps=True)
    starts = [t.start_ms for s in result.segments for t in s.tokens if not t.is_special]
    assert all(v is not None for v in starts)
    assert starts == sorted(starts)


def test_options_apply_to_one_call_only(tiny_en, jfk_samples):
    short = tiny_en.transcribe(jfk_samples, duration_ms=3000)
    full = tiny_en.transcribe(jfk_samples)
    assert len(words(short.text)) < len(words(full.text))
    assert words(full.text) == JFK_WORDS


def test_results_do_not_depend_on_earlier_calls(tiny_en, speak, jfk_samples):
    fox = speak("The quick brown fox jumps over the lazy dog.")
    beam = FullParams.for_strategy("beam_search")
    first = tiny_en.transcribe(fox, beam)
    tiny_en.transcribe(jfk_samples, duration_ms=3000)
    again = tiny_en.transcribe(fox, beam)
    assert again.segments == first.segments


def test_segments_stream_through_callback(tiny_en, jfk_samples):
    seen, progress = [], []
    main = threading.get_ident()
    threads = set()

    def on_segment(seg):
        threads.add(threading.get_ident())
        seen.append(seg)

    result = tiny_en.transcribe(jfk_samples, on_segment=on_segment, on_progress=progress.append)
    assert [s.text_bytes for s in seen] == [s.text_bytes for s in result.segments]
    assert threads == {main}
    assert progress and progress == sorted(progress)


def test_callback_exception_propagates_and_aborts(tiny_en, speak):
    audio = speak("One two three four five six seven eight nine ten. " * 6)

    def boom(_seg):
        raise ValueError("callback failed")

    with pytest.raises(ValueError, match="callback failed"):
        tiny_en.transcribe(audio, on_segment=boom)


@pytest.fixture(scope="module")
def long_speech(speak):
    from whispercli import load_audio

    text = " ".join(
        f"This is sentence number {n} of a long recording made to test stopping early." for n in range(1, 16)
    )
    return load_audio(speak(text))


def test_abort_predicate_stops_early(tiny_en, long_speech):
    full = tiny_en.transcribe(long_speech)
    assert not full.aborted and len(full.segments) >= 3
    calls = []

    def abort():
        calls.append(1)
        return True

    partial = tiny_en.transcribe(long_speech, abort=abort)
    assert partial.aborted
    assert len(partial.segments) < len(full.segments)
    assert calls


def test_keyboard_interrupt_stops_within_a_second(tiny_en, long_speech, sigint_handled):
    fired = []

    def interrupt():
        fired.append(time.perf_counter())
        _thread.interrupt_main()

    threading.Timer(0.5, interrupt).start()
    with pytest.raises(TranscriptionAborted) as info:
        tiny_en.transcribe(long_speech, FullParams.for_strategy("beam_search"))
    # Stopping promptly on Ctrl-C is behaviour; the bound is generous (~0.5 s on an idle 2-core machine).
    assert time.perf_counter() - fired[0] < 3.0
    assert info.value.partial is not None and info.value.partial.aborted


def test_parallel_transcriptions_equal_sequential(tiny_en, jfk_samples, speak):
    from whispercli import load_audio

    other = load_audio(speak("Four score and seven years ago our fathers brought forth a new nation."))
    sequential = [tiny_en.transcribe(a) for a in (jfk_samples, other)]
    results: list = [None, None]

    def work(i, audio):
        results[i] = tiny_en.transcribe(audio, n_threads=1)

    threads = [threading.Thread(target=work, args=(i, a)) for i, a in enumerate((jfk_samples, other))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for got, want in zip(results, sequential):
        assert [(s.start_ms, s.end_ms, s.text_bytes) for s in got.segments] == \
               [(s.start_ms, s.end_ms, s.text_bytes) for s in want.segments]


@pytest.mark.parametrize(
    "audio, message",
    [
        (np.zeros(16000, dtype=np.int16), "must be float32"),
        (np.zeros((16000, 2), dtype=np.float32), "must be mono"),
        (np.zeros(0, dtype=np.float32), "empty"),
        ([0.0] * 100, "numpy array or a path"),
    ],
)
def test_bad_audio(tiny_en, audio, message):
    with pytest.raises(AudioError, match=message):
        tiny_en.transcribe(audio)


def test_wrong_sample_rate(tiny_en):
    with pytest.raises(AudioError, match="16000 Hz, got 44100"):
        tiny_en.transcribe(np.zeros(44100, dtype=np.float32), sample_rate=44100)


def test_unknown_option_and_language(tiny_en, jfk_samples):
    with pytest.raises(UsageError, match="unknown transcription option.*beam_width"):
        tiny_en.transcribe(jfk_samples, beam_width=3)
    with pytest.raises(UsageError, match="unknown language 'klingon'"):
        tiny_en.transcribe(jfk_samples, language="klingon")


def test_bad_grammar(tiny_en, jfk_samples):
    with pytest.raises(UsageError, match="failed to parse grammar"):
        tiny_en.transcribe(jfk_samples, grammar="root ::= (", grammar_rule="root")


def test_detect_language_needs_multilingual(tiny_en, jfk_samples):
    with pytest.raises(ModelError, match="needs a multilingual model"):
        tiny_en.detect_language(jfk_samples)


LANGUAGE_SAMPLES = {
    "fr": "Bonjour à tous. Aujourd'hui il fait beau et nous allons nous promener dans le parc. "
          "Nous mangerons ensemble au restaurant ce soir.",
    "de": "Guten Morgen. Heute ist das Wetter schön und wir gehen zusammen in den Park spazieren. "
          "Danach essen wir im Restaurant.",
    "es": "Buenos días. Hoy hace buen tiempo y vamos a caminar juntos por el parque de la ciudad. "
          "Después comeremos en un restaurante.",
    "it": "Buongiorno a tutti. Oggi il tempo è bello e andiamo a fare una passeggiata nel parco. "
          "Stasera mangiamo insieme al ristorante.",
}


@pytest.mark.parametrize("code", sorted(LANGUAGE_SAMPLES))
def test_detect_language(base, speak, code):
    guesses = base.detect_language(speak(LANGUAGE_SAMPLES[code], code))
    assert guesses[0].code == code, guesses[:3]
    assert guesses[0].probability > 0.3
    assert len(guesses) == 100
    assert abs(sum(g.probability for g in guesses) - 1.0) < 1e-3
    assert [g.probability for g in guesses] == sorted((g.probability for g in guesses), reverse=True)


def test_detect_language_exact_is_the_same_guess_by_whisper_cpps_numerics(base, jfk_samples):
    fast = base.detect_language(jfk_samples, n_threads=2)
    exact = base.detect_language(jfk_samples, n_threads=2, exact=True)
    assert fast[0].code == exact[0].code == "en"
    assert exact == base.detect_language(jfk_samples, n_threads=2, exact=True)  # repeatable
    assert exact[0].probability == pytest.approx(fast[0].probability, abs=0.02)


def test_detect_language_offset_outside_audio(base, jfk_samples):
    with pytest.raises(UsageError, match="outside the audio"):
        base.detect_language(jfk_samples, offset_ms=60_000)


def test_multilingual_transcribe_auto_language(base, speak):
    result = base.transcribe(speak("Guten Morgen, wie geht es dir heute?", "de"), language="auto")
    assert result.language == "de"
