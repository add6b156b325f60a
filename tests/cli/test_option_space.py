"""The option space, property-based: every combination validates or fails with exit 2 and one line.

The command lines run in-process through ``whispercli.cli.app.run`` with a model path that
does not exist: options that validate reach the model load (exit 3, "model file not found"),
options that do not stop before it (exit 2).  Nothing else may happen: no traceback, no
internal error, never more than one error line.
"""

from __future__ import annotations

import contextlib
import io
import math

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from whispercli.cli.app import run
from whispercli.cli.exit_codes import ExitStatus
from whispercli.errors import UsageError
from whispercli.options import TranscribeOptions, to_full_params, validate

EDGE_INTS = [0, -1, 1, 8, 9, 512, 513, 1500, 1501, 2**31 - 1, 2**31, -(2**31) - 1, 2**63]
INTS = st.one_of(st.integers(-3, 10), st.integers(-(2**40), 2**40), st.sampled_from(EDGE_INTS))
FLOATS = st.one_of(st.floats(), st.sampled_from([0.0, -0.0, 1.0, -1.0, 1e39, 3.4028234663852886e38]))
TEXT = st.one_of(st.text(max_size=12), st.sampled_from(["", "en", "auto", "de", "(", "[a-", "\udcff", "a\0b", "x*"]))
GARBAGE = st.sampled_from(["", "abc", "1.5", "0x10", "nan", "inf", "-inf", "1e400", "--", "-", "5 5", "١"])

INT_FLAGS = ["-t", "-p", "-bs", "-bo", "-mc", "-ac", "-ot", "-on", "-d", "-ml", "-vspd", "-vsd", "-vp", "-dev", "-j"]
FLOAT_FLAGS = ["-tp", "-tpi", "-et", "-lpt", "-nth", "--grammar-penalty", "-wt", "-vt", "-vmsd", "-vo"]
TEXT_FLAGS = ["-l", "--prompt", "--suppress-regex", "--grammar", "--grammar-rule", "-dtw", "-vm", "-fp", "-F"]
BOOL_FLAGS = ["-tr", "-di", "-tdrz", "--vad", "-nt", "-sow", "-nf", "-sns", "-owts", "-ojf", "-dl", "-np", "-ps"]


def _value(flag: str):
    if flag in INT_FLAGS:
        return st.one_of(INTS.map(str), GARBAGE)
    if flag in FLOAT_FLAGS:
        return st.one_of(FLOATS.map(repr), GARBAGE)
    return TEXT


OPTION = st.one_of(
    st.sampled_from(INT_FLAGS + FLOAT_FLAGS + TEXT_FLAGS).flatmap(lambda f: _value(f).map(lambda v: [f, v])),
    st.sampled_from(BOOL_FLAGS).map(lambda f: [f]),
)


def _run_cli(args: list[str]) -> tuple[int, list[str]]:
    stderr, stdout = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(stdout):
        code = run(args)
    assert stdout.getvalue() == ""
    return code, stderr.getvalue().splitlines()


def _check(code: int, lines: list[str]) -> None:
    # a first --vad fetches the default VAD model and says so: progress lines, not errors
    assert all(line.startswith("whispercli: ") for line in lines), lines
    errors = [line for line in lines if line.startswith("whispercli: error") or "Traceback" in line
              or "internal error" in line]
    assert len(errors) == 1, lines
    assert "Traceback" not in errors[0] and "internal error" not in errors[0], errors
    assert errors[0].startswith("whispercli: error: "), errors
    if code == ExitStatus.MODEL:
        # the model path does not exist; nor may a -vm name (a VAD model is a model too: exit 3)
        assert "model file not found" in errors[0] or "VAD model not found" in errors[0], errors
    else:
        assert code == ExitStatus.USAGE, (code, errors)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(options=st.lists(OPTION, max_size=6), response_file=st.booleans())
@example(options=[["--grammar", "\x0c0"], ["--grammar-rule", "0"]], response_file=False)  # a form feed quoted
def test_command_lines(options, response_file, tmp_path, jfk_wav):
    args = ["-m", str(tmp_path / "no-such-model.bin"), *[part for option in options for part in option], str(jfk_wav)]
    if response_file:
        if any("\n" in a or "\r" in a or "\udcff" in a or "\0" in a for a in args):
            return  # one argument per line: these cannot be written as a response file
        rsp = tmp_path / "args.txt"
        rsp.write_text("\n".join(args), encoding="utf-8")
        args = ["@" + str(rsp)]
    _check(*_run_cli(["transcribe", *args]))


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=st.binary(max_size=200))
def test_response_files(content, tmp_path):
    assume(content.splitlines())  # an empty file is `whispercli transcribe` alone: the help
    rsp = tmp_path / "args.txt"
    rsp.write_bytes(content)
    code, lines = _run_cli(["transcribe", "@" + str(rsp)])
    assert code in (ExitStatus.USAGE, ExitStatus.MODEL, ExitStatus.AUDIO), (code, lines)
    assert lines and all("Traceback" not in line and "internal error" not in line for line in lines), lines


def test_missing_response_file(tmp_path):
    code, lines = _run_cli(["transcribe", "@" + str(tmp_path / "nope.txt")])
    assert code == ExitStatus.USAGE and len(lines) == 1 and "response file" in lines[0]


FIELDS = {
    "int": ["threads", "processors", "beam_size", "best_of", "max_context", "audio_ctx", "offset_t_ms", "offset_n",
            "duration_ms", "max_len", "vad_min_speech_duration_ms", "vad_min_silence_duration_ms",
            "vad_speech_pad_ms"],
    "float": ["temperature", "temperature_inc", "entropy_thold", "logprob_thold", "no_speech_thold",
              "grammar_penalty", "word_thold", "vad_threshold", "vad_max_speech_duration_s", "vad_samples_overlap"],
    "text": ["language", "prompt", "suppress_regex", "grammar_rule", "dtw"],
    "bool": ["translate", "no_fallback", "suppress_nst", "split_on_word", "no_timestamps", "diarize", "tinydiarize",
             "carry_initial_prompt"],
}
FIELD_VALUE = {"int": INTS, "float": FLOATS, "text": TEXT, "bool": st.booleans()}
RECORDS = st.fixed_dictionaries({}, optional={
    name: FIELD_VALUE[kind] for kind, names in FIELDS.items() for name in names
})


@settings(max_examples=300, deadline=None)
@given(changes=RECORDS)
def test_records_validate_or_usage_error(changes, tiny_en):
    """The library's one validate(): a record it accepts converts to libwhisper's C params."""
    from whispercli import _native

    try:
        options = validate(TranscribeOptions(**changes))
    except UsageError as exc:
        assert "\n" not in str(exc)
        return
    for name, value in changes.items():
        if isinstance(value, float):
            assert math.isfinite(value), name
    _native.FullCall(tiny_en._ctx, to_full_params(options))


@pytest.mark.parametrize(("flag", "value", "message"), [
    ("-bs", "9", "--beam-size must be an integer from 1 to 8 (or -1), not 9"),
    ("-t", "0", "--threads must be an integer from 1 to 512, not 0"),
    ("-ot", str(2**31), "--offset-t must be an integer from 0 to 2147483647, not 2147483648"),
    ("-ac", "1501", "--audio-ctx must be an integer from 0 to 1500, not 1501"),
    ("-tp", "nan", "--temperature must be a finite number, not nan"),
    ("-vt", "1.5", "--vad-threshold must be between 0 and 1, not 1.5"),
    ("--suppress-regex", "(", "--suppress-regex '(' is not a valid regular expression"),
    ("-dev", str(2**40), "GPU device index 1099511627776 is out of range (0 to 2147483647)"),
])
def test_bad_values_are_named(flag, value, message, tiny_en_path, jfk_wav):
    code, lines = _run_cli(["transcribe", "-m", str(tiny_en_path), flag, value, str(jfk_wav)])
    assert (code, lines) == (ExitStatus.USAGE, [f"whispercli: error: {message}"])
