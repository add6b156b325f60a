"""Unit tests of each format on hand-made transcripts: exact bytes, escaping, our fixes vs --compat."""

from __future__ import annotations

import io
import json as jsonlib
import subprocess
import sys

import numpy as np
import pytest

from whispercli.errors import OutputError
from whispercli.types import Segment, Timings, Token, Transcript
from whispercli.writers import FORMATS, Format, OutputContext, write_format
from whispercli.writers.json import escape_json
from whispercli.writers.live import (
    COLORS,
    FIRST_SEGMENT_PREFIX,
    STYLES,
    LiveOptions,
    LivePrinter,
    color_index,
    segment_line,
    style_index,
)
from whispercli.writers.vtt import escape_cue_text

EOT = 50256


def tok(text: bytes, id: int = 100, p: float = 0.5, start_ms=None, end_ms=None, dtw_ms=None) -> Token:
    return Token(id=id, text_bytes=text, p=p, plog=-0.5, pt=0.1, ptsum=0.2, start_ms=start_ms, end_ms=end_ms,
                 dtw_ms=dtw_ms, vlen=1.0, is_special=id >= EOT)


def seg(index: int, text: bytes, start_ms: int, end_ms: int, tokens=(), turn: bool = False) -> Segment:
    return Segment(index=index, start_ms=start_ms, end_ms=end_ms, text_bytes=text, no_speech_prob=0.01,
                   speaker_turn_next=turn, tokens=tuple(tokens))


def transcript(*segments: Segment, language: str = "en") -> Transcript:
    return Transcript(segments=tuple(segments), language=language, duration_ms=11_000, timings=Timings(1.0, 176_000))


MODEL_INFO = {"type": "tiny", "multilingual": False, "vocab": 51864,
              "audio": {"ctx": 1500, "state": 384, "head": 6, "layer": 4},
              "text": {"ctx": 448, "state": 384, "head": 6, "layer": 4}, "mels": 80, "ftype": 1}


def context(**kw) -> OutputContext:
    args = dict(input_path="in.wav", output_base="in.wav", model_path="models/ggml-tiny.en.bin", language_arg="en",
                translate=False, system_info="CPU : AVX = 1 | ", model_info=MODEL_INFO, n_samples=176_000)
    args.update(kw)
    return OutputContext(**args)


def render(name: str, t: Transcript, **ctx) -> bytes:
    buf = io.BytesIO()
    write_format(name, t, buf, context(**ctx))
    return buf.getvalue()


JFK = transcript(
    seg(0, b" And so my fellow Americans", 0, 7940, [
        tok(b"[_BEG_]", id=50363, p=0.82586, start_ms=0, end_ms=0),
        tok(b" And", id=843, p=0.95, start_ms=320, end_ms=400),
        tok(b" so my fellow Americans", id=523, p=0.4, start_ms=400, end_ms=7940, dtw_ms=1230),
        tok(b"[_TT_397]", id=50760, p=0.1),
    ]),
    seg(1, b' ask "what" you can do', 7940, 10_760, [tok(b' ask "what" you can do', id=1, p=0.999, start_ms=7940,
                                                        end_ms=10_760)]),
)


# --------------------------------------------------------------------------- registry


def test_formats_in_whisper_cli_order():
    assert list(FORMATS) == ["txt", "vtt", "srt", "wts", "csv", "json", "json-full", "lrc", "score"]
    assert {n: f.extension for n, f in FORMATS.items()} == {
        "txt": ".txt", "vtt": ".vtt", "srt": ".srt", "wts": ".wts", "csv": ".csv", "json": ".json",
        "json-full": ".json", "lrc": ".lrc", "score": ".score.txt"}
    assert all(isinstance(f, Format) and f.name == n and callable(f.write) for n, f in FORMATS.items())


def test_write_format_rejects_unknown_names():
    with pytest.raises(ValueError, match="unknown output format 'docx'"):
        write_format("docx", JFK, io.BytesIO(), context())


def test_writers_import_neither_numpy_nor_the_native_module():
    code = ("import sys, whispercli.writers as w, whispercli.writers.live; "
            "from whispercli.writers import csv, json, lrc, score, srt, txt, vtt, wts, _timefmt, _utf8; "
            "bad = [m for m in sys.modules if m == 'numpy' or m.startswith('numpy.') or m.endswith('_native') "
            "or 'cffi' in m]; assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


# --------------------------------------------------------------------------- plain text formats


def test_txt():
    assert render("txt", JFK) == b' And so my fellow Americans\n ask "what" you can do\n'
    assert render("txt", JFK, speakers=("0", "?")) == (
        b'(speaker 0) And so my fellow Americans\n(speaker ?) ask "what" you can do\n')


def test_srt_numbering_starts_after_offset_n():
    assert render("srt", JFK, offset_n=3) == (
        b"4\n00:00:00,000 --> 00:00:07,940\n And so my fellow Americans\n\n"
        b'5\n00:00:07,940 --> 00:00:10,760\n ask "what" you can do\n\n')
    assert render("srt", JFK, speakers=("1", "0")).split(b"\n")[2] == b"(speaker 1) And so my fellow Americans"


def test_lrc():
    assert render("lrc", JFK) == (
        b"[by:whisper.cpp]\n[00:00.00] And so my fellow Americans\n[00:07.94] ask \"what\" you can do\n")
    lines = render("lrc", JFK, speakers=("1", "0")).split(b"\n")
    assert lines[1] == b"[00:00.00](speaker 1) And so my fellow Americans"


def test_csv_quotes_every_text_and_doubles_quotes():
    assert render("csv", JFK) == (
        b'start,end,text\n0,7940," And so my fellow Americans"\n7940,10760," ask ""what"" you can do"\n')
    assert render("csv", JFK, speakers=("0", "?")) == (
        b'start,end,speaker,text\n0,7940,0," And so my fellow Americans"\n7940,10760,?," ask ""what"" you can do"\n')


def test_score_lists_every_token_with_p():
    assert render("score", JFK) == (
        b"[_BEG_]\t0.82586\n And\t0.95\n so my fellow Americans\t0.4\n[_TT_397]\t0.1\n"
        b' ask "what" you can do\t0.999\n')


# --------------------------------------------------------------------------- vtt


def test_vtt():
    assert render("vtt", JFK) == (
        b"WEBVTT\n\n00:00:00.000 --> 00:00:07.940\n And so my fellow Americans\n\n"
        b'00:00:07.940 --> 00:00:10.760\n ask "what" you can do\n\n')
    assert b"<v Speaker0> And so" in render("vtt", JFK, speakers=("0", "1"))


def test_vtt_escapes_markup_and_arrows_unless_compat():
    t = transcript(seg(0, b" a < b & c --> d <i>", 0, 1000))
    assert escape_cue_text(b"<&>") == b"&lt;&amp;&gt;"
    ours = render("vtt", t, speakers=("?",))
    assert ours.split(b"\n")[3] == b"<v Speaker?> a &lt; b &amp; c --&gt; d &lt;i&gt;"
    assert ours.count(b"-->") == 1  # only the timing line
    assert render("vtt", t, compat=True).split(b"\n")[3] == b" a < b & c --> d <i>"


# --------------------------------------------------------------------------- json


EXPECTED_JSON = b"""{
\t"systeminfo": "CPU : AVX = 1 | ",
\t"model": {
\t\t"type": "tiny",
\t\t"multilingual": false,
\t\t"vocab": 51864,
\t\t"audio": {
\t\t\t"ctx": 1500,
\t\t\t"state": 384,
\t\t\t"head": 6,
\t\t\t"layer": 4
\t\t},
\t\t"text": {
\t\t\t"ctx": 448,
\t\t\t"state": 384,
\t\t\t"head": 6,
\t\t\t"layer": 4
\t\t},
\t\t"mels": 80,
\t\t"ftype": 1
\t},
\t"params": {
\t\t"model": "models/ggml-tiny.en.bin",
\t\t"language": "en",
\t\t"translate": false
\t},
\t"result": {
\t\t"language": "en"
\t},
\t"transcription": [
\t\t{
\t\t\t"timestamps": {
\t\t\t\t"from": "00:00:00,000",
\t\t\t\t"to": "00:00:07,940"
\t\t\t},
\t\t\t"offsets": {
\t\t\t\t"from": 0,
\t\t\t\t"to": 7940
\t\t\t},
\t\t\t"text": " And so my fellow Americans"
\t\t},
\t\t{
\t\t\t"timestamps": {
\t\t\t\t"from": "00:00:07,940",
\t\t\t\t"to": "00:00:10,760"
\t\t\t},
\t\t\t"offsets": {
\t\t\t\t"from": 7940,
\t\t\t\t"to": 10760
\t\t\t},
\t\t\t"text": " ask \\"what\\" you can do"
\t\t}
\t]
}
"""


def test_json_exact_layout():
    assert render("json", JFK) == EXPECTED_JSON
    assert render("json", JFK, compat=True) == EXPECTED_JSON


def test_json_full_tokens():
    doc = jsonlib.loads(render("json-full", JFK))
    tokens = doc["transcription"][0]["tokens"]
    assert [t["text"] for t in tokens] == ["[_BEG_]", " And", " so my fellow Americans", "[_TT_397]"]
    assert tokens[1] == {"text": " And", "timestamps": {"from": "00:00:00,320", "to": "00:00:00,400"},
                         "offsets": {"from": 320, "to": 400}, "id": 843, "p": 0.95, "t_dtw": -1}
    assert tokens[2]["t_dtw"] == 123  # ticks, as whisper-cli writes them
    assert "timestamps" not in tokens[3]  # t0 == -1
    assert list(tokens[1]) == ["text", "timestamps", "offsets", "id", "p", "t_dtw"]
    assert b'\t\t\t\t\t"p": 0.82586,\n' in render("json-full", JFK)


def test_json_diarize_and_tinydiarize_keys():
    doc = jsonlib.loads(render("json-full", JFK, speakers=("0", "1")))
    assert [s["speaker"] for s in doc["transcription"]] == ["0", "1"]
    assert list(doc["transcription"][0]) == ["timestamps", "offsets", "text", "tokens", "speaker"]
    t = transcript(seg(0, b" hi", 0, 100, turn=True), seg(1, b" there", 100, 200))
    doc = jsonlib.loads(render("json", t, tinydiarize=True))
    assert [s["speaker_turn_next"] for s in doc["transcription"]] == [True, False]


def test_json_empty_transcription():
    out = render("json", transcript())
    assert out.endswith(b'\t"transcription": [\n\t]\n}\n')
    assert jsonlib.loads(out)["transcription"] == []


def test_json_escapes_control_characters_unless_compat():
    t = transcript(seg(0, b' a\tb\nc\x01d "q" \\ \x7f', 0, 100))
    ours = render("json", t)
    assert b'"text": " a\\tb\\nc\\u0001d \\"q\\" \\\\ \x7f"' in ours
    assert jsonlib.loads(ours)["transcription"][0]["text"] == ' a\tb\nc\x01d "q" \\ \x7f'
    compat = render("json", t, compat=True)
    assert b'"text": " a\tb\nc\x01d \\"q\\" \\\\ \x7f"' in compat
    with pytest.raises(ValueError):
        jsonlib.loads(compat)
    assert escape_json(" 日本 ".encode()) == " 日本 ".encode()
    assert escape_json(bytes(range(0x20))) == (
        b"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t\\n\\u000b\\f\\r\\u000e\\u000f"
        b"\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017\\u0018\\u0019\\u001a\\u001b\\u001c\\u001d"
        b"\\u001e\\u001f")


def test_json_never_writes_invalid_utf8_unless_compat():
    # "日本" split between segments, and inside a segment around a timestamp token
    t = transcript(
        seg(0, b" \xe6\x97", 0, 100, [tok(b" \xe6\x97", id=1, start_ms=0, end_ms=100),
                                     tok(b"[_TT_5]", id=50368)]),
        seg(1, b"\xa5\xe6\x9c\xac", 100, 200, [tok(b"\xa5", id=2, start_ms=100, end_ms=150),
                                              tok(b"\xe6\x9c", id=3, start_ms=150, end_ms=160),
                                              tok(b"\xac", id=4, start_ms=160, end_ms=200)]),
    )
    doc = jsonlib.loads(render("json-full", t).decode("utf-8"))
    assert [s["text"] for s in doc["transcription"]] == [" ", "日本"]
    assert [[tk["text"] for tk in s["tokens"]] for s in doc["transcription"]] == [[" ", "[_TT_5]"], ["日", "本"]]
    # within a segment, whisper-cli's merge: the first token keeps its id, t0 and p and takes the last t1
    hon = doc["transcription"][1]["tokens"][1]
    assert (hon["id"], hon["offsets"]) == (3, {"from": 150, "to": 200})
    compat = render("json-full", t, compat=True)
    assert b'"text": " \xe6\x97[_TT_5]"' in compat  # whisper-cli swallows the timestamp token
    with pytest.raises(UnicodeDecodeError):
        compat.decode("utf-8")


def test_text_formats_repair_utf8_unless_compat():
    t = transcript(seg(0, b" \xe6\x97", 0, 100, [tok(b" \xe6\x97")]),
                   seg(1, b"\xa5!", 100, 200, [tok(b"\xa5!")]))
    for name in ("txt", "vtt", "srt", "csv", "lrc", "score"):
        ours = render(name, t)
        assert "日!".encode() in ours, name
        ours.decode("utf-8")
        assert b" \xe6\x97" in render(name, t, compat=True), name


# --------------------------------------------------------------------------- wts


def test_wts_needs_an_existing_font(tmp_path):
    with pytest.raises(OutputError, match="font not found at '/nonexistent.ttf', please specify a monospace font"):
        render("wts", JFK, font_path="/nonexistent.ttf")


def test_wts_script(tmp_path):
    font = tmp_path / "f.ttf"
    font.write_bytes(b"x")
    t = transcript(seg(0, b" it's", 0, 1230, [tok(b"[_BEG_]", id=50363, start_ms=0, end_ms=0),
                                             tok(b" it", start_ms=0, end_ms=500),
                                             tok(b"'s", start_ms=500, end_ms=1230)]))
    out = render("wts", t, font_path=str(font))
    f = str(font).encode()
    assert out.startswith(b"#!/bin/bash\n\nffmpeg -i in.wav -f lavfi -i color=size=1200x120:duration=11.0625:"
                          b"rate=25:color=black -vf \"drawtext=fontfile='" + f + b"':fontsize=24:fontcolor=gray:"
                          b"x=(w-text_w)/2:y=h/2:text='':enable='between(t,0,0)'")
    assert b"text='>  it\xe2\x80\x99s':enable='between(t,0,1.23)'" in out
    assert b"text='>  it|\\ \\ ':enable='between(t,0,0.5)'" in out  # 1st token highlighted
    assert b"y=h/2+16:text='\\ \\ ___\\ \\ ':enable='between(t,0,0.5)'" in out
    assert b"text='> \\ \\ \\ \xe2\x80\x99s|':enable='between(t,0.5,1.23)'" in out
    assert out.endswith(b"\" -c:v libx264 -pix_fmt yuv420p -y in.wav.mp4\n\n\n"
                        b"echo \"Your video has been saved to in.wav.mp4\"\n\necho \"  ffplay in.wav.mp4\"\n\n")
    with_speaker = render("wts", t, font_path=str(font), speakers=("1",))
    assert b"text='(speaker 1)>  it|\\ \\ '" in with_speaker
    assert b"text='" + b"\\ " * 11 + b"\\ \\ ___" in with_speaker


# --------------------------------------------------------------------------- live (stdout)


def test_live_default_line():
    assert FIRST_SEGMENT_PREFIX == b"\n"
    assert segment_line(JFK.segments[0], LiveOptions()) == (
        b"[00:00:00.000 --> 00:00:07.940]   And so my fellow Americans\n")
    printer = LivePrinter(LiveOptions())
    assert printer.segment(JFK.segments[0]).startswith(b"\n[00:00:00.000 --> ")
    assert printer.segment(JFK.segments[1]).startswith(b"[00:00:07.940 --> ")


def test_live_no_timestamps_runs_text_together_except_with_diarize():
    opts = LiveOptions(no_timestamps=True)
    assert b"".join(segment_line(s, opts) for s in JFK.segments) == (
        b' And so my fellow Americans ask "what" you can do')
    opts = LiveOptions(no_timestamps=True, diarize=True)
    assert segment_line(JFK.segments[0], opts, "1") == b"(speaker 1) And so my fellow Americans\n"


def test_live_speaker_turn():
    t = seg(0, b" hi", 0, 100, turn=True)
    assert segment_line(t, LiveOptions(tinydiarize=True)) == b"[00:00:00.000 --> 00:00:00.100]   hi [SPEAKER_TURN]\n"
    assert segment_line(t, LiveOptions()) == b"[00:00:00.000 --> 00:00:00.100]   hi\n"


@pytest.mark.parametrize(("p", "index"), [(0.0, 0), (0.5, 0), (0.6, 1), (0.8, 3), (0.9, 5), (0.94, 5), (0.95, 6),
                                          (0.99, 6), (1.0, 6), (float("nan"), 0)])
def test_color_index(p, index):
    assert color_index(p) == index


def test_colors_and_styles_are_whisper_clis():
    assert COLORS[0] == b"\033[38;5;160m" and COLORS[-1] == b"\033[38;5;71m" and len(COLORS) == 7
    assert STYLES == (b"\033[7m", b"\033[4m", b"\033[2m")
    assert [style_index(p) for p in (0.0, 0.329, 0.33, 0.659, 0.66, 1.0)] == [0, 0, 1, 1, 2, 2]


def test_live_print_colors_skips_special_tokens_unless_print_special():
    line = segment_line(JFK.segments[0], LiveOptions(print_colors=True))
    assert line == (b"[00:00:00.000 --> 00:00:07.940]  \033[38;5;71m And\033[0m"
                    b"\033[38;5;160m so my fellow Americans\033[0m\n")
    special = segment_line(JFK.segments[0], LiveOptions(print_colors=True, print_special=True))
    assert b"[_BEG_]\033[0m" in special and b"[_TT_397]\033[0m" in special
    conf = segment_line(JFK.segments[0], LiveOptions(print_confidence=True, print_colors=False))
    assert conf == (b"[00:00:00.000 --> 00:00:07.940]  \033[2m And\033[0m\033[4m so my fellow Americans\033[0m\n")


def test_live_print_colors_with_speaker_once_unless_compat():
    ours = segment_line(JFK.segments[0], LiveOptions(print_colors=True, diarize=True), "0")
    assert ours.count(b"(speaker 0)") == 1
    assert ours.startswith(b"[00:00:00.000 --> 00:00:07.940]  (speaker 0)\033[38;5;71m And")
    compat = segment_line(JFK.segments[0], LiveOptions(print_colors=True, diarize=True, compat=True), "0")
    assert compat.count(b"(speaker 0)") == 2  # before each printed token, as whisper-cli does


def test_live_printer_carries_split_characters_to_the_next_segment():
    a = seg(0, b" \xe6\x97", 0, 100, [tok(b"[_BEG_]", id=50363), tok(b" \xe6\x97")])
    b = seg(1, b"\xa5\xe6\x9c\xac", 100, 200, [tok(b"\xa5\xe6\x9c"), tok(b"\xac")])
    printer = LivePrinter(LiveOptions())
    out = printer.segment(a) + printer.segment(b) + printer.finish()
    assert out == ("\n[00:00:00.000 --> 00:00:00.100]   \n[00:00:00.100 --> 00:00:00.200]  日本\n").encode()
    printer = LivePrinter(LiveOptions(print_colors=True))
    out = printer.segment(a) + printer.segment(b)
    out.decode("utf-8")
    assert "\033[0m\033[38;5;160m日本".encode() not in out  # tokens are repaired token by token
    assert "m日\033[0m".encode() in out and "m本\033[0m".encode() in out
    compat = LivePrinter(LiveOptions(compat=True))
    assert compat.segment(a).endswith(b" \xe6\x97\n")


def test_live_printer_drops_an_incomplete_character_at_the_end():
    printer = LivePrinter(LiveOptions(no_timestamps=True))
    out = printer.segment(seg(0, b" a\xe6", 0, 100)) + printer.finish()
    assert out == b"\n a"
    # a new file (index 0) starts clean
    assert printer.segment(seg(0, b"\x97 b", 0, 100)) == "\n\ufffd b".encode()


# --------------------------------------------------------------------------- diarize


def test_estimate_speakers():
    from whispercli.diarize import estimate_speakers, timestamp_to_sample

    rng = np.random.default_rng(0)
    n = 16000 * 3
    stereo = np.zeros((n, 2), dtype=np.float32)
    stereo[:16000, 0] = rng.uniform(-0.5, 0.5, 16000)  # 0-1 s: left
    stereo[16000:32000, 1] = rng.uniform(-0.5, 0.5, 16000)  # 1-2 s: right
    stereo[32000:, :] = rng.uniform(-0.5, 0.5, (16000, 1))  # 2-3 s: both
    segs = [seg(0, b"", 0, 1000), seg(1, b"", 1000, 2000), seg(2, b"", 2000, 3000), seg(3, b"", 5000, 6000),
            seg(4, b"", 500, 500)]
    assert estimate_speakers(stereo, segs) == ("0", "1", "?", "?", "?")
    assert timestamp_to_sample(100, n) == 16000
    assert timestamp_to_sample(10_000, n) == n - 1  # clamped
    assert timestamp_to_sample(-5, n) == 0
    with pytest.raises(ValueError):
        estimate_speakers(stereo[:, 0], segs)


def test_estimate_speakers_threshold_is_strictly_more_than_1_1():
    from whispercli.diarize import estimate_speakers

    stereo = np.zeros((16000, 2), dtype=np.float32)
    stereo[:, 0] = 0.5
    stereo[:, 1] = 0.5 / 1.1
    assert estimate_speakers(stereo, [seg(0, b"", 0, 1000)]) in (("0",), ("?",))
    stereo[:, 1] = 0.4
    assert estimate_speakers(stereo, [seg(0, b"", 0, 1000)]) == ("0",)
    stereo[:, 1] = 0.46
    assert estimate_speakers(stereo, [seg(0, b"", 0, 1000)]) == ("?",)
