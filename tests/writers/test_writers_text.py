"""Unit tests of the shared pieces: time/number formatting and UTF-8 repair."""

from __future__ import annotations

import pytest

from whispercli.types import Segment, Timings, Token, Transcript
from whispercli.writers import _timefmt as tf
from whispercli.writers._utf8 import (
    is_valid,
    merge_split_tokens,
    repair_chunks,
    repair_token_lists,
    repair_transcript,
    trailing_bytes_needed,
)
from whispercli.writers.wts import video_seconds

FFFD = "\ufffd".encode()


def tok(text: bytes, id: int = 100, p: float = 0.5, start_ms=None, end_ms=None, special: bool = False) -> Token:
    return Token(id=id, text_bytes=text, p=p, plog=-0.5, pt=0.1, ptsum=0.2, start_ms=start_ms, end_ms=end_ms,
                 dtw_ms=None, vlen=1.0, is_special=special)


def seg(index: int, text: bytes, tokens=(), start_ms: int = 0, end_ms: int = 1000) -> Segment:
    return Segment(index=index, start_ms=start_ms, end_ms=end_ms, text_bytes=text, no_speech_prob=0.0,
                   speaker_turn_next=False, tokens=tuple(tokens))


# --------------------------------------------------------------------------- _timefmt


@pytest.mark.parametrize(("ms", "dot", "comma"), [
    (0, "00:00:00.000", "00:00:00,000"),
    (7940, "00:00:07.940", "00:00:07,940"),
    (61_230, "00:01:01.230", "00:01:01,230"),
    (3_599_990, "00:59:59.990", "00:59:59,990"),
    (3_600_000, "01:00:00.000", "01:00:00,000"),
    (360_000_000, "100:00:00.000", "100:00:00,000"),  # hours are never wrapped
    (7945, "00:00:07.940", "00:00:07,940"),  # whisper-cli works in ticks: sub-tick ms are dropped
])
def test_timestamp(ms, dot, comma):
    assert tf.timestamp(ms) == dot
    assert tf.timestamp(ms, comma=True) == comma


def test_timestamp_negative_follows_c_division():
    # to_timestamp(-1) in C: msec = -10 -> "00:00:00.-10"
    assert tf.timestamp(-10) == "00:00:00.-10"


@pytest.mark.parametrize(("ms", "expected"), [
    (0, "00:00.00"), (7940, "00:07.94"), (61_230, "01:01.23"), (3_723_450, "62:03.45"),  # minutes run past 59
])
def test_lrc_timestamp(ms, expected):
    assert tf.lrc_timestamp(ms) == expected


def test_ticks():
    assert tf.ticks(7940) == 794
    assert tf.token_ticks(None) == -1
    assert tf.token_ticks(320) == 32


@pytest.mark.parametrize(("value", "expected"), [
    (0.82586, "0.82586"), (0.999999, "0.999999"), (0.9999995, "1"), (1e-05, "1e-05"), (0.0, "0"),
    (123456789.0, "1.23457e+08"), (-1.0, "-1"), (float("inf"), "inf"),
])
def test_float_g_is_ostream_default(value, expected):
    assert tf.float_g(value) == expected


def test_float32_g_rounds_to_float_first():
    assert tf.float32_g(-1.0) == "-1"
    assert tf.float32_g(794.0) == "794"
    assert tf.float32_g(1234567.0) == "1.23457e+06"
    assert tf.float32_g(16777217.0) == "1.67772e+07"
    assert tf.to_float32(0.1) != 0.1 and abs(tf.to_float32(0.1) - 0.1) < 1e-8


def test_seconds_g():
    assert tf.seconds_g(0) == "0"
    assert tf.seconds_g(1230) == "1.23"
    assert tf.seconds_g(10_960) == "10.96"
    assert tf.seconds_g(None) == "-0.01"  # token t0 == -1


def test_video_seconds_is_float_arithmetic():
    assert video_seconds(176_000) == "11.0625"  # jfk.wav: (176000 + 1000) / 16000
    assert video_seconds(0) == "0.0625"
    assert video_seconds(16_000 * 3600) == "3600.06"


# --------------------------------------------------------------------------- _utf8


@pytest.mark.parametrize(("data", "needed"), [
    (b"", 0), (b"abc", 0), (b"\xe6", 2), (b"\xe6\x97", 1), (b"\xe6\x97\xa5", 0), (b"a\xf0\x9f", 2),
    (b"\x97\xa5", 0), (b"\xff", 0), (b"\xc3", 1), (b"\xc3\xa9", 0),
])
def test_trailing_bytes_needed_matches_common_whisper(data, needed):
    assert trailing_bytes_needed(data) == needed


def test_repair_moves_a_split_character_to_where_it_ends():
    # "日本" split as b" \xe6\x97" + b"\xa5\xe6\x9c\xac"
    assert repair_chunks([b" \xe6\x97", b"\xa5\xe6\x9c\xac"]) == [b" ", "日本".encode()]


def test_repair_keeps_valid_input_identical():
    chunks = [b" And so", " ünd 日本".encode(), b"", b" x"]
    out = repair_chunks(chunks)
    assert out == chunks
    assert all(a is b for a, b in zip(out, chunks))


def test_repair_follows_a_character_over_several_chunks():
    # U+1F600 (F0 9F 98 80) split 1 + 1 + 2, with an empty chunk in between
    assert repair_chunks([b"a\xf0", b"\x9f", b"", b"\x98\x80b"]) == [b"a", b"", b"", "\U0001F600b".encode()]


def test_repair_replaces_what_cannot_be_completed_where_it_stands():
    assert repair_chunks([b"x\xe6\x97", b" y"]) == [b"x" + FFFD, b" y"]
    assert repair_chunks([b"x", b"y\xe6\x97"]) == [b"x", b"y" + FFFD]  # the end of the transcript
    assert repair_chunks([b"\xa5abc"]) == [FFFD + b"abc"]  # a stray continuation byte
    assert repair_chunks([b"a\xffb"]) == [b"a" + FFFD + b"b"]
    assert repair_chunks([b"\xed\xa0\x80"]) == [FFFD * 3]  # an encoded surrogate is not UTF-8


def test_repair_does_not_steal_bytes_that_do_not_complete():
    # next chunk starts with a continuation byte, but the sequence would be invalid (E0 needs A0..BF)
    assert repair_chunks([b"\xe0", b"\x80\x80z"]) == [FFFD, FFFD + FFFD + b"z"]


def test_repair_token_lists_crosses_segments_and_skips_special_tokens():
    lists = [
        (tok(b"[_BEG_]", special=True), tok(b" \xe6\x97"), tok(b"[_TT_50]", special=True)),
        (tok(b"[_BEG_]", special=True), tok(b"\xa5"), tok(b"\xe6\x9c\xac")),
    ]
    out = repair_token_lists(lists)
    assert [[t.text_bytes for t in toks] for toks in out] == [
        [b"[_BEG_]", b" ", b"[_TT_50]"], [b"[_BEG_]", "日".encode(), "本".encode()]]
    assert out[0][0] is lists[0][0]  # untouched tokens are the same objects
    assert [len(t) for t in out] == [3, 3]


def test_repair_transcript_repairs_segments_and_tokens():
    t = Transcript(
        segments=(seg(0, b" \xe6\x97", [tok(b" \xe6\x97")]), seg(1, b"\xa5!", [tok(b"\xa5!")])),
        language="ja", duration_ms=2000, timings=Timings(0.0, 0))
    fixed = repair_transcript(t)
    assert [s.text_bytes for s in fixed.segments] == [b" ", "日!".encode()]
    assert [s.tokens[0].text_bytes for s in fixed.segments] == [b" ", "日!".encode()]
    valid = Transcript(segments=(seg(0, b" ok", [tok(b" ok")]),), language="en", duration_ms=1000,
                       timings=Timings(0.0, 0))
    assert repair_transcript(valid) is valid


def test_merge_split_tokens_is_whisper_clis_merge():
    toks = [tok(b"[_BEG_]", id=1, special=True, start_ms=0, end_ms=0),
            tok(b" \xe6", id=2, p=0.9, start_ms=100, end_ms=200),
            tok(b"\x97", id=3, start_ms=None, end_ms=None),
            tok(b"\xa5", id=4, start_ms=300, end_ms=400),
            tok(b"!", id=5, start_ms=400, end_ms=500)]
    merged = merge_split_tokens(toks)
    assert [t.text_bytes for t in merged] == [b"[_BEG_]", " 日".encode(), b"!"]
    first = merged[1]
    assert (first.id, first.p, first.start_ms, first.end_ms) == (2, 0.9, 100, 400)  # last known t1
    assert merged[0] is toks[0] and merged[2] is toks[4]


def test_merge_split_tokens_swallows_special_tokens_unless_told_not_to():
    toks = [tok(b" \xe6\x97", id=2), tok(b"[_TT_50]", id=50400, special=True), tok(b"\xa5", id=3)]
    assert [t.text_bytes for t in merge_split_tokens(toks)] == [b" \xe6\x97[_TT_50]", b"\xa5"]
    assert not is_valid(merge_split_tokens(toks)[0].text_bytes)
    assert [t.text_bytes for t in merge_split_tokens(toks, stop_at_special=True)] == [
        b" \xe6\x97", b"[_TT_50]", b"\xa5"]
