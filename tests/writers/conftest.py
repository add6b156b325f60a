"""Fixtures for the writer tests: whisper.cpp's own whisper-cli, run on the same audio as our library.

Parity runs: each :class:`Case` is one whisper-cli invocation and one transcription
with our library using the same :class:`~whispercli.FullParams` (see
:func:`whisper_cli_params`).  Both sides use one thread (``-t 1``), so the
whisper-cli runs go in the background, one at a time, while the test process
transcribes: on a 2-core machine that halves the wall time, and one thread is
also much faster than two when other processes compete for the cores.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
BASE_SENTENCE_DE = "Guten Morgen. Ich möchte heute über das Wetter in Berlin sprechen, denn es ist kalt und es regnet."
ALICE = "Hello, my name is Alice, and I really like green apples."
BOB = "Good morning, I am Bob. I prefer oranges and bananas."


# --------------------------------------------------------------------------- whisper-cli's wparams


def whisper_cli_params(
    *,
    threads: int | None = None,
    beam_size: int = 5,
    best_of: int = 5,
    max_len: int = 0,
    split_on_word: bool = False,
    no_timestamps: bool = False,
    offset_t_ms: int = 0,
    duration_ms: int = 0,
    output_wts: bool = False,
    output_json_full: bool = False,
    language: str = "en",
    translate: bool = False,
    detect_language: bool = False,
    word_thold: float = 0.01,
    max_context: int = -1,
    print_special: bool = False,
    print_progress: bool = False,
    tinydiarize: bool = False,
    prompt: str = "",
    carry_initial_prompt: bool = False,
    no_fallback: bool = False,
    temperature: float = 0.0,
    temperature_inc: float = 0.2,
    entropy_thold: float = 2.4,
    logprob_thold: float = -1.0,
    no_speech_thold: float = 0.6,
    audio_ctx: int = 0,
    suppress_nst: bool = False,
    debug_mode: bool = False,
):
    """TEST-ONLY: the ``FullParams`` whisper-cli v1.9.1 builds from these options.

    A replica of the ``wparams`` block in cli.cpp ``main()`` (keyword names follow
    ``whisper_params``; defaults are whisper-cli's, not libwhisper's).  The CLI has
    its own mapping; this one exists so parity tests feed our library exactly what
    whisper-cli feeds libwhisper.  Not covered: grammar, suppress-regex and VAD.
    """
    from whispercli import FullParams
    from whispercli.params import SamplingStrategy

    base = FullParams()  # whisper_full_default_params(WHISPER_SAMPLING_GREEDY)
    return base.with_options(
        strategy=SamplingStrategy.BEAM_SEARCH if beam_size > 1 else SamplingStrategy.GREEDY,
        print_realtime=False,
        print_progress=print_progress,
        print_timestamps=not no_timestamps,
        print_special=print_special,
        translate=translate,
        language=language,
        detect_language=detect_language,
        n_threads=threads if threads is not None else base.n_threads,
        n_max_text_ctx=max_context if max_context >= 0 else base.n_max_text_ctx,
        offset_ms=offset_t_ms,
        duration_ms=duration_ms,
        token_timestamps=output_wts or output_json_full or max_len > 0,
        thold_pt=word_thold,
        max_len=60 if output_wts and max_len == 0 else max_len,
        split_on_word=split_on_word,
        audio_ctx=audio_ctx,
        debug_mode=debug_mode,
        tdrz_enable=tinydiarize,
        suppress_regex=None,
        initial_prompt=prompt,
        carry_initial_prompt=carry_initial_prompt,
        best_of=best_of,
        beam_size=beam_size,
        temperature_inc=0.0 if no_fallback else temperature_inc,
        temperature=temperature,
        entropy_thold=entropy_thold,
        logprob_thold=logprob_thold,
        no_speech_thold=no_speech_thold,
        no_timestamps=no_timestamps,
        exact=True,  # whisper-cli's numerics (no tiled sgemm)
        suppress_nst=suppress_nst,
    )


#: whisper_cli_params keyword -> whisper-cli option (booleans are flags).
_OPTION = {
    "threads": "-t", "beam_size": "-bs", "best_of": "-bo", "max_len": "-ml", "split_on_word": "-sow",
    "no_timestamps": "-nt", "offset_t_ms": "-ot", "duration_ms": "-d", "output_wts": "-owts",
    "output_json_full": "-ojf", "language": "-l", "translate": "-tr", "detect_language": "-dl",
    "word_thold": "-wt", "max_context": "-mc", "print_special": "-ps", "print_progress": "-pp",
    "tinydiarize": "-tdrz", "prompt": "--prompt", "carry_initial_prompt": "--carry-initial-prompt",
    "no_fallback": "-nf", "temperature": "-tp", "temperature_inc": "-tpi", "entropy_thold": "-et",
    "logprob_thold": "-lpt", "no_speech_thold": "-nth", "audio_ctx": "-ac", "suppress_nst": "-sns",
    "debug_mode": "-debug",
}


def whisper_cli_args(**flags) -> list[str]:
    """The whisper-cli arguments for the same keywords as :func:`whisper_cli_params`."""
    args: list[str] = []
    for name, value in flags.items():
        option = _OPTION[name]
        if isinstance(value, bool):
            if value:
                args.append(option)
        else:
            args += [option, str(value)]
    return args


# --------------------------------------------------------------------------- cases


#: format name -> whisper-cli option selecting it
FORMAT_OPTION = {"txt": "-otxt", "vtt": "-ovtt", "srt": "-osrt", "wts": "-owts", "csv": "-ocsv", "json": "-oj",
                 "json-full": "-ojf", "lrc": "-olrc", "score": "-ls"}
TEXT_FORMATS = ("txt", "vtt", "srt", "csv", "lrc", "score")


@dataclass(frozen=True)
class Case:
    name: str
    model: str  # "tiny.en", "tiny.en+dtw" (-dtw tiny.en -nfa), "base"
    audio: str  # key of the parity_audio fixture
    flags: dict = field(default_factory=dict)  # decoding: whisper_cli_params keywords
    formats: tuple[str, ...] = TEXT_FORMATS + ("json",)
    offset_n: int = 0  # -on
    diarize: bool = False  # -di
    print_colors: bool = False  # -pc
    print_confidence: bool = False  # --print-confidence
    same_decode_as: str | None = None  # reuse that case's transcript (only stdout options differ)

    @property
    def language_arg(self) -> str:
        return "en" if self.model.startswith("tiny.en") else self.flags.get("language", "en")

    def cli_args(self) -> list[str]:
        flags = {k: v for k, v in self.flags.items() if k not in ("output_wts", "output_json_full")}
        args = whisper_cli_args(**flags) + [FORMAT_OPTION[f] for f in self.formats]
        if self.offset_n:
            args += ["-on", str(self.offset_n)]
        if self.diarize:
            args.append("-di")
        if self.print_colors:
            args.append("-pc")
        if self.print_confidence:
            args.append("--print-confidence")
        return args

    def params(self, threads: int):
        flags = dict(self.flags, output_wts="wts" in self.formats, output_json_full="json-full" in self.formats)
        return whisper_cli_params(threads=threads, **flags)


CASES = {c.name: c for c in [
    Case("default", "tiny.en", "jfk", formats=TEXT_FORMATS + ("json",)),
    Case("json_full_on3_confidence_special", "tiny.en", "jfk", {"print_special": True},
         formats=("srt", "json-full", "txt"), offset_n=3, print_confidence=True),
    Case("ml1_greedy_colors", "tiny.en", "jfk", {"max_len": 1, "beam_size": 1}, formats=TEXT_FORMATS + ("json-full",),
         print_colors=True),
    Case("ml16_sow", "tiny.en", "jfk", {"max_len": 16, "split_on_word": True}),
    Case("no_timestamps", "tiny.en", "jfk", {"no_timestamps": True}),
    Case("offset_duration", "tiny.en", "jfk", {"offset_t_ms": 2000, "duration_ms": 5000}),
    Case("wts", "tiny.en", "jfk", formats=("wts", "txt", "json-full")),
    Case("diarize", "tiny.en", "stereo", formats=TEXT_FORMATS + ("json", "wts"), diarize=True),
    Case("diarize_colors", "tiny.en", "stereo", formats=("wts",), diarize=True, print_colors=True,
         same_decode_as="diarize"),
    Case("dtw", "tiny.en+dtw", "jfk", formats=("json-full",)),
    Case("german", "base", "german", {"language": "de"}),
    Case("german_translate", "base", "german", {"language": "de", "translate": True}, formats=("txt", "json")),
    Case("auto_language", "base", "german", {"language": "auto"}, formats=("txt", "srt", "json")),
]}


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def whisper_cli_bin(whisper_bin_dir) -> Path:
    """whisper.cpp's whisper-cli, built from the pinned source (the session's one build of its tools)."""
    exe = whisper_bin_dir / "whisper-cli"
    assert exe.is_file(), f"whisper-cli not found at {exe}"
    return exe


@pytest.fixture(scope="session")
def font_file(tmp_path_factory) -> Path:
    """An existing file for -fp (whisper-cli only checks that it opens)."""
    for root in ("/usr/share/fonts", "/usr/local/share/fonts"):
        found = sorted(Path(root).rglob("*.ttf")) if Path(root).is_dir() else []
        if found:
            return found[0]
    dummy = tmp_path_factory.mktemp("font") / "dummy.ttf"
    dummy.write_bytes(b"not really a font")
    return dummy


def to_wav16k(src: Path, dst: Path) -> Path:
    """16 kHz mono 16-bit PCM WAV via ffmpeg, so miniaudio and libsndfile read identical samples."""
    ffmpeg = shutil.which("ffmpeg")
    assert ffmpeg, "ffmpeg is required for the parity tests (apt-get install ffmpeg)"
    subprocess.run([ffmpeg, "-nostdin", "-loglevel", "error", "-y", "-i", str(src), "-ar", "16000", "-ac", "1",
                    "-c:a", "pcm_s16le", str(dst)], check=True, capture_output=True)
    return dst


@pytest.fixture(scope="session")
def parity_audio(jfk_wav, speak, tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("parity-audio")
    german = to_wav16k(speak(BASE_SENTENCE_DE, voice="de"), out / "german.wav")
    alice = to_wav16k(speak(ALICE, voice="en-us"), out / "alice.wav")
    bob = to_wav16k(speak(BOB, voice="en-us+m3", speed_wpm=150), out / "bob.wav")
    # Alice on the left, then Bob on the right after a 0.6 s pause: int16 in, int16 out.
    import soundfile as sf

    a, rate_a = sf.read(alice, dtype="int16")
    b, rate_b = sf.read(bob, dtype="int16")
    assert rate_a == rate_b == 16000
    gap = np.zeros(9600, dtype=np.int16)
    left = np.concatenate([a, gap, np.zeros_like(b)])
    right = np.concatenate([np.zeros_like(a), gap, b])
    stereo = out / "stereo.wav"
    sf.write(stereo, np.stack([left, right], axis=1), 16000, subtype="PCM_16")
    return {"jfk": jfk_wav, "german": german, "stereo": stereo}


@dataclass
class CliRun:
    stdout: bytes
    files: dict[str, bytes]  # format name -> bytes written
    args: list[str]


@dataclass
class Parity:
    case: Case
    cli: CliRun
    transcript: object
    ctx_args: dict  # OutputContext keywords (compat is set per test)
    stereo: np.ndarray | None


EXTENSION = {"txt": ".txt", "vtt": ".vtt", "srt": ".srt", "wts": ".wts", "csv": ".csv", "json": ".json",
             "json-full": ".json", "lrc": ".lrc", "score": ".score.txt"}


class ParityRunner:
    def __init__(self, exe: Path, model_paths: dict[str, Path], models: dict, audio: dict[str, Path],
                 font: Path, workdir: Path) -> None:
        self.exe, self.model_paths, self.models, self.audio = exe, model_paths, models, audio
        self.font, self.workdir = font, workdir
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="whisper-cli")
        self.futures: dict[str, Future] = {name: self.pool.submit(self._run_cli, case) for name, case in CASES.items()}
        self.results: dict[str, Parity] = {}
        self.transcripts: dict[str, object] = {}
        self.procs: list[subprocess.Popen] = []

    def _run_cli(self, case: Case) -> CliRun:
        base = self.workdir / case.name
        args = [str(self.exe), "-m", str(self.model_paths[case.model]), "-f", str(self.audio[case.audio]),
                "-of", str(base), "-np", "-t", "1", *case.cli_args()]
        if "wts" in case.formats:
            args += ["-fp", str(self.font)]
        if case.model.endswith("+dtw"):
            # libwhisper silently turns DTW off when flash attention is on (whisper-cli's default).
            args += ["-dtw", "tiny.en", "-nfa"]
        # An explicit environment: with env=None the vfork()ed child execs with C's global
        # environ, which a test's monkeypatch.setenv in the main thread may realloc meanwhile
        # (EFAULT, "Bad address").  os.environ's copy is the parent's, built before the fork.
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ))
        self.procs.append(proc)
        stdout, stderr = proc.communicate(timeout=600)
        assert proc.returncode == 0, stderr.decode(errors="replace")
        files = {}
        for fmt in case.formats:
            path = Path(str(base) + EXTENSION[fmt])
            assert path.is_file(), f"whisper-cli did not write {path}: {stderr.decode(errors='replace')}"
            files[fmt] = path.read_bytes()
        return CliRun(stdout, files, args)

    def get(self, name: str) -> Parity:
        if name not in self.results:
            case = CASES[name]
            from whispercli import load_audio, system
            from whispercli.diarize import estimate_speakers

            model = self.models[case.model]()
            audio_path = self.audio[case.audio]
            stereo = None
            if case.diarize:
                stereo = load_audio(audio_path, stereo=True)
                samples = np.ascontiguousarray(stereo[:, 0] + stereo[:, 1])  # whisper-cli: L+R
            else:
                samples = load_audio(audio_path)
            key = case.same_decode_as or name
            assert CASES[key].params(threads=1) == case.params(threads=1)
            if key not in self.transcripts:
                decode_case = CASES[key]
                self.transcripts[key] = model.transcribe(samples, decode_case.params(threads=1))
            transcript = self.transcripts[key]
            ctx_args = dict(
                input_path=str(audio_path),
                output_base=str(self.workdir / name),
                model_path=str(self.model_paths[case.model]),
                language_arg=case.language_arg,
                translate=bool(case.flags.get("translate", False)) and model.is_multilingual,
                system_info=system.system_info(exact=True),  # whisper-cli's build has no llamafile kernels
                model_info=model.info,
                n_samples=len(samples),
                speakers=estimate_speakers(stereo, transcript.segments) if case.diarize else None,
                offset_n=case.offset_n,
                font_path=str(self.font),
                max_len=case.flags.get("max_len", 0),
            )
            self.results[name] = Parity(case, self.futures[name].result(), transcript, ctx_args, stereo)
        return self.results[name]

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


@pytest.fixture(scope="session")
def parity(whisper_cli_bin, tiny_en_path, base_path, tiny_en, base, parity_audio, font_file, tmp_path_factory):
    """``parity.get(case_name) -> Parity``: whisper-cli's outputs and our transcript for a :data:`CASES` entry."""
    from whispercli import Model

    dtw_model: list = []

    def load_dtw():
        if not dtw_model:
            dtw_model.append(Model.load(tiny_en_path, dtw="tiny.en", flash_attn=False))
        return dtw_model[0]

    runner = ParityRunner(
        whisper_cli_bin,
        {"tiny.en": tiny_en_path, "tiny.en+dtw": tiny_en_path, "base": base_path},
        {"tiny.en": lambda: tiny_en, "tiny.en+dtw": load_dtw, "base": lambda: base},
        parity_audio,
        font_file,
        tmp_path_factory.mktemp("parity-out"),
    )
    yield runner
    runner.close()
    for m in dtw_model:
        m.close()


def live_options(case: Case, compat: bool):
    from whispercli.writers.live import LiveOptions

    return LiveOptions(no_timestamps=bool(case.flags.get("no_timestamps")), diarize=case.diarize,
                       print_colors=case.print_colors, print_confidence=case.print_confidence,
                       print_special=bool(case.flags.get("print_special")), compat=compat)


@pytest.fixture(scope="session")
def make_live_options():
    return live_options


@pytest.fixture(scope="session")
def cli_params():
    """:func:`whisper_cli_params`, for tests (a test module cannot import this conftest unambiguously)."""
    return whisper_cli_params
