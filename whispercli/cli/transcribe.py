"""``whispercli transcribe`` / ``translate``: whisper-cli's options, better behaviour.

Every whisper-cli v1.9.1 option is accepted by its long name and short alias with
its default.  The differences (docs/differences.md): bad values and undecodable
inputs exit non-zero, outputs are written atomically, stdout carries only results,
and any audio/video format is read.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

import typer

from ..errors import AudioError, OutputError, TranscriptionAborted, UsageError, WhisperCliError
from ._console import err
from .exit_codes import ExitStatus, status_for

# Help panels, so `--help` reads in groups.
P_IO = "Input and output"
P_FMT = "Output formats"
P_DEC = "Decoding"
P_TS = "Timestamps and segments"
P_PRINT = "Terminal output"
P_SPK = "Speakers"
P_VAD = "Voice activity detection"
P_HW = "Model and hardware"

FORMAT_NAMES = ("txt", "vtt", "srt", "wts", "csv", "json", "json-full", "lrc", "score")


def _opt(default, *decls, panel: str, help: str, **kw):
    return typer.Option(default, *decls, help=help, rich_help_panel=panel, show_default=kw.pop("show_default", True), **kw)


def transcribe(
    ctx: typer.Context,
    inputs: Optional[List[str]] = typer.Argument(None, metavar="[FILE|DIR|GLOB|-]...",
                                                 help="Audio or video inputs; '-' reads stdin.", show_default=False),
    # ---- input and output
    files: Optional[List[str]] = _opt(None, "--file", "-f", panel=P_IO, help="Input file (repeatable).", show_default=False),
    output_file: Optional[List[str]] = _opt(None, "--output-file", "-of", "-o", panel=P_IO, show_default=False,
                                             help="Output path without extension, per input in order; '-' = stdout."),
    output_dir: Optional[str] = _opt(None, "--output-dir", "-od", panel=P_IO, show_default=False,
                                     help="Write outputs into this directory."),
    strip_ext: bool = _opt(False, "--strip-ext", "-x", panel=P_IO,
                           help="Name outputs without the input's extension (a.wav -> a.srt, not a.wav.srt)."),
    skip_existing: bool = _opt(False, "--skip-existing", panel=P_IO,
                               help="Skip inputs whose selected outputs all exist."),
    # ---- formats
    output_format: Optional[List[str]] = _opt(None, "--output-format", "-F", panel=P_FMT, show_default=False,
                                              help=f"Output format (repeatable or comma-separated): {', '.join(FORMAT_NAMES)}."),
    output_txt: bool = _opt(False, "--output-txt", "-otxt", panel=P_FMT, help="Write .txt."),
    output_vtt: bool = _opt(False, "--output-vtt", "-ovtt", panel=P_FMT, help="Write .vtt."),
    output_srt: bool = _opt(False, "--output-srt", "-osrt", panel=P_FMT, help="Write .srt."),
    output_lrc: bool = _opt(False, "--output-lrc", "-olrc", panel=P_FMT, help="Write .lrc."),
    output_csv: bool = _opt(False, "--output-csv", "-ocsv", panel=P_FMT, help="Write .csv."),
    output_json: bool = _opt(False, "--output-json", "-oj", panel=P_FMT, help="Write .json."),
    output_json_full: bool = _opt(False, "--output-json-full", "-ojf", panel=P_FMT,
                                  help="Write .json with per-token details (implies token timestamps)."),
    output_words: bool = _opt(False, "--output-words", "-owts", panel=P_FMT,
                              help="Write a .wts karaoke script (bash + ffmpeg)."),
    font_path: str = _opt("/System/Library/Fonts/Supplemental/Courier New Bold.ttf", "--font-path", "-fp",
                          panel=P_FMT, help="Monospace font for -owts."),
    log_score: bool = _opt(False, "--log-score", "-ls", panel=P_FMT, help="Write .score.txt (token and probability)."),
    compat: bool = _opt(False, "--compat", panel=P_FMT,
                        help="Keep whisper-cli's exact bytes where they are invalid (JSON escaping, UTF-8, VTT)."),
    # ---- decoding
    language: str = _opt("en", "--language", "-l", panel=P_DEC, help="Spoken language code or name; 'auto' detects."),
    detect_language: bool = _opt(False, "--detect-language", "-dl", panel=P_DEC, help="Detect the language and stop."),
    translate: bool = _opt(False, "--translate", "-tr", panel=P_DEC, help="Translate into English."),
    prompt: str = _opt("", "--prompt", panel=P_DEC, help="Initial prompt (at most n_text_ctx/2 tokens)."),
    carry_initial_prompt: bool = _opt(False, "--carry-initial-prompt", panel=P_DEC,
                                      help="Prepend the prompt to every window."),
    max_context: int = _opt(-1, "--max-context", "-mc", panel=P_DEC,
                            help="Past-text tokens used as prompt (-1 = all; 0 fixes repetition loops)."),
    best_of: int = _opt(5, "--best-of", "-bo", panel=P_DEC, help="Greedy candidates."),
    beam_size: int = _opt(5, "--beam-size", "-bs", panel=P_DEC, help="Beam size (1 = greedy decoding)."),
    temperature: float = _opt(0.0, "--temperature", "-tp", panel=P_DEC, help="Starting temperature."),
    temperature_inc: float = _opt(0.2, "--temperature-inc", "-tpi", panel=P_DEC, help="Temperature fallback step."),
    no_fallback: bool = _opt(False, "--no-fallback", "-nf", panel=P_DEC, help="No temperature fallback."),
    entropy_thold: float = _opt(2.4, "--entropy-thold", "-et", panel=P_DEC, help="Entropy failure threshold."),
    logprob_thold: float = _opt(-1.0, "--logprob-thold", "-lpt", panel=P_DEC, help="Average log-probability threshold."),
    no_speech_thold: float = _opt(0.6, "--no-speech-thold", "-nth", panel=P_DEC, help="No-speech threshold."),
    suppress_nst: bool = _opt(False, "--suppress-nst", "-sns", panel=P_DEC, help="Suppress non-speech tokens."),
    suppress_regex: str = _opt("", "--suppress-regex", panel=P_DEC, help="Suppress tokens matching this regex."),
    grammar: str = _opt("", "--grammar", panel=P_DEC, help="GBNF grammar (file path or inline text)."),
    grammar_rule: str = _opt("", "--grammar-rule", panel=P_DEC, help="Top-level grammar rule."),
    grammar_penalty: float = _opt(100.0, "--grammar-penalty", panel=P_DEC, help="Scales down non-grammar logits."),
    audio_ctx: int = _opt(0, "--audio-ctx", "-ac", panel=P_DEC, help="Encoder context size (0 = all)."),
    debug_mode: bool = _opt(False, "--debug-mode", "-debug", panel=P_DEC, help="libwhisper debug dumps."),
    # ---- timestamps / segments
    offset_t: int = _opt(0, "--offset-t", "-ot", panel=P_TS, help="Start offset in ms."),
    offset_n: int = _opt(0, "--offset-n", "-on", panel=P_TS, help="SRT cue number offset."),
    duration: int = _opt(0, "--duration", "-d", panel=P_TS, help="Duration to process in ms (0 = all)."),
    max_len: int = _opt(0, "--max-len", "-ml", panel=P_TS, help="Maximum segment length in characters (0 = no limit)."),
    split_on_word: bool = _opt(False, "--split-on-word", "-sow", panel=P_TS, help="With -ml, split on words."),
    word_thold: float = _opt(0.01, "--word-thold", "-wt", panel=P_TS, help="Token timestamp probability threshold."),
    no_timestamps: bool = _opt(False, "--no-timestamps", "-nt", panel=P_TS, help="No timestamps (stdout and decoding)."),
    dtw: str = _opt("", "--dtw", "-dtw", panel=P_TS, help="DTW token timestamps with this preset (e.g. tiny.en)."),
    # ---- terminal
    no_prints: bool = _opt(False, "--no-prints", "-np", panel=P_PRINT, help="No progress, no summary on stderr."),
    print_special: bool = _opt(False, "--print-special", "-ps", panel=P_PRINT, help="Show special tokens (-pc)."),
    print_colors: bool = _opt(False, "--print-colors", "-pc", panel=P_PRINT, help="Colour tokens by confidence."),
    print_confidence: bool = _opt(False, "--print-confidence", panel=P_PRINT, help="Style tokens by confidence."),
    print_progress: bool = _opt(False, "--print-progress", "-pp", panel=P_PRINT,
                                help="whisper-cli's progress lines instead of the progress bar."),
    # ---- speakers
    diarize: bool = _opt(False, "--diarize", "-di", panel=P_SPK, help="Stereo diarization (speaker per channel)."),
    tinydiarize: bool = _opt(False, "--tinydiarize", "-tdrz", panel=P_SPK, help="Speaker turns (needs a -tdrz model)."),
    # ---- VAD
    vad: bool = _opt(False, "--vad", panel=P_VAD, help="Enable Silero VAD (needs -vm)."),
    vad_model: str = _opt("", "--vad-model", "-vm", panel=P_VAD, help="ggml VAD model path."),
    vad_threshold: float = _opt(0.5, "--vad-threshold", "-vt", panel=P_VAD, help="Speech probability threshold."),
    vad_min_speech_duration_ms: int = _opt(250, "--vad-min-speech-duration-ms", "-vspd", panel=P_VAD,
                                           help="Minimum speech duration (ms)."),
    vad_min_silence_duration_ms: int = _opt(100, "--vad-min-silence-duration-ms", "-vsd", panel=P_VAD,
                                            help="Minimum silence duration (ms)."),
    vad_max_speech_duration_s: float = _opt(3.4028234663852886e38, "--vad-max-speech-duration-s", "-vmsd",
                                            panel=P_VAD, help="Maximum speech duration (s).", show_default=False),
    vad_speech_pad_ms: int = _opt(30, "--vad-speech-pad-ms", "-vp", panel=P_VAD, help="Speech padding (ms)."),
    vad_samples_overlap: float = _opt(0.1, "--vad-samples-overlap", "-vo", panel=P_VAD, help="Overlap (s)."),
    # ---- model and hardware
    model: Optional[str] = _opt(None, "--model", "-m", panel=P_HW, show_default=False,
                                help="Model path or name in the model cache (default: models/ggml-base.en.bin, "
                                     "then the cached base.en)."),
    threads: int = _opt(min(4, os.cpu_count() or 1), "--threads", "-t", panel=P_HW, help="Compute threads.",
                   show_default="min(4, CPUs)"),
    processors: int = _opt(1, "--processors", "-p", panel=P_HW, help="Split the audio into N chunks processed in parallel."),
    jobs: int = _opt(1, "--jobs", "-j", panel=P_HW, min=1,
                     help="Transcribe N inputs at once on the one loaded model (threads are split between them)."),
    no_gpu: bool = _opt(False, "--no-gpu", "-ng", panel=P_HW, help="Disable the GPU."),
    device: int = _opt(int(os.environ.get("WHISPER_ARG_DEVICE", "0") or 0), "--device", "-dev", panel=P_HW,
                       help="GPU device index.", show_default="0, or $WHISPER_ARG_DEVICE"),
    flash_attn: bool = _opt(True, "--flash-attn/--no-flash-attn", "-fa/-nfa", panel=P_HW, help="Flash attention."),
    ov_e_device: str = _opt("CPU", "--ov-e-device", "-oved", panel=P_HW, help="OpenVINO encoder device (no effect)."),
) -> None:
    """Transcribe audio and video files (whisper-cli's options and output files)."""
    options = dict(locals())
    options.pop("ctx")
    options["translate"] = translate or ctx.info_name == "translate"
    status = run(**options)
    if status:
        raise typer.Exit(int(status))


# --------------------------------------------------------------------------- implementation


def _selected_formats(o: dict) -> list[str]:
    chosen = set()
    for value in o["output_format"] or ():
        for name in value.split(","):
            name = name.strip().lower()
            if name not in FORMAT_NAMES:
                raise UsageError(f"unknown output format {name!r} (one of: {', '.join(FORMAT_NAMES)})")
            chosen.add(name)
    flags = {
        "txt": o["output_txt"], "vtt": o["output_vtt"], "srt": o["output_srt"], "wts": o["output_words"],
        "csv": o["output_csv"], "json": o["output_json"], "json-full": o["output_json_full"],
        "lrc": o["output_lrc"], "score": o["log_score"],
    }
    chosen |= {name for name, on in flags.items() if on}
    if "json-full" in chosen:
        chosen.discard("json")
    return [name for name in FORMAT_NAMES if name in chosen]


def _validate(o: dict, formats: list[str]) -> None:
    from .. import _native
    from ..params import DTW_PRESETS

    o["language"] = o["language"].lower()
    if o["language"] != "auto" and _native.lang_id(o["language"]) < 0:
        raise UsageError(f"unknown language {o['language']!r} (see `whispercli detect-lang --help` for codes)")
    if o["diarize"] and o["tinydiarize"]:
        raise UsageError("cannot use both --diarize and --tinydiarize")
    if o["dtw"] and o["dtw"] not in DTW_PRESETS:
        raise UsageError(f"unknown DTW preset {o['dtw']!r} (one of: {', '.join(DTW_PRESETS)})")
    if o["threads"] < 1 or o["processors"] < 1:
        raise UsageError("--threads and --processors must be at least 1")
    if o["beam_size"] < 1 and o["beam_size"] != -1 or o["best_of"] < 1 and o["best_of"] != -1:
        raise UsageError("--beam-size and --best-of must be at least 1")
    if o["vad"] and not o["vad_model"]:
        raise UsageError("--vad needs a VAD model: -vm PATH")
    if o["vad"] and not Path(o["vad_model"]).is_file():
        raise UsageError(f"VAD model not found: {o['vad_model']!r}")
    if "wts" in formats and not Path(o["font_path"]).is_file():
        raise UsageError(f"font not found at {o['font_path']!r}, please specify a monospace font with -fp")


def _grammar_text(value: str) -> str:
    path = Path(value)
    try:
        if path.is_file():
            return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read grammar file {value!r}: {exc.strerror}") from None
    return value


def full_params(o: dict, formats: list[str]):
    """whisper-cli's ``wparams`` block, field for field."""
    from ..params import FullParams, SamplingStrategy

    grammar = _grammar_text(o["grammar"]) if o["grammar"] else None
    use_grammar = bool(grammar and o["grammar_rule"])
    return FullParams(
        strategy=SamplingStrategy.BEAM_SEARCH if (o["beam_size"] > 1 or use_grammar) else SamplingStrategy.GREEDY,
        print_realtime=False,
        print_progress=False,
        print_timestamps=not o["no_timestamps"],
        print_special=o["print_special"],
        translate=o["translate"],
        language=o["language"],
        detect_language=o["detect_language"],
        n_threads=o["threads"],
        n_max_text_ctx=o["max_context"] if o["max_context"] >= 0 else 16384,
        offset_ms=o["offset_t"],
        duration_ms=o["duration"],
        token_timestamps="wts" in formats or "json-full" in formats or o["max_len"] > 0,
        thold_pt=o["word_thold"],
        max_len=60 if "wts" in formats and o["max_len"] == 0 else o["max_len"],
        split_on_word=o["split_on_word"],
        audio_ctx=o["audio_ctx"],
        debug_mode=o["debug_mode"],
        tdrz_enable=o["tinydiarize"],
        suppress_regex=o["suppress_regex"] or None,
        initial_prompt=o["prompt"],
        carry_initial_prompt=o["carry_initial_prompt"],
        best_of=o["best_of"],
        beam_size=o["beam_size"],
        temperature_inc=0.0 if o["no_fallback"] else o["temperature_inc"],
        temperature=o["temperature"],
        entropy_thold=o["entropy_thold"],
        logprob_thold=o["logprob_thold"],
        no_speech_thold=o["no_speech_thold"],
        no_timestamps=o["no_timestamps"],
        suppress_nst=o["suppress_nst"],
        grammar=grammar if use_grammar else None,
        grammar_rule=o["grammar_rule"] if use_grammar else None,
        grammar_penalty=o["grammar_penalty"],
        vad=o["vad"],
        vad_model_path=o["vad_model"],
        vad_threshold=o["vad_threshold"],
        vad_min_speech_duration_ms=o["vad_min_speech_duration_ms"],
        vad_min_silence_duration_ms=o["vad_min_silence_duration_ms"],
        vad_max_speech_duration_s=o["vad_max_speech_duration_s"],
        vad_speech_pad_ms=o["vad_speech_pad_ms"],
        vad_samples_overlap=o["vad_samples_overlap"],
    )


def run(**o) -> ExitStatus:
    from ..cli._inputs import expand_inputs

    formats = _selected_formats(o)
    args = list(o["files"] or []) + list(o["inputs"] or [])
    if not args:
        raise UsageError("no input files specified (give FILE arguments, -f FILE, or - for stdin)")
    _validate(o, formats)
    items = expand_inputs(args)
    of_values = list(o["output_file"] or [])

    from .. import _native  # noqa: F401  (native module: after argument checks, so --help stays light)
    from ..model import Model
    from ..models.registry import resolve_model
    from ._progress import make_progress

    model_path = resolve_model(o["model"])
    model = _load_while_importing(lambda: Model.load(model_path, use_gpu=not o["no_gpu"], flash_attn=o["flash_attn"],
                                                     gpu_device=o["device"], dtw=o["dtw"] or None))
    params = full_params(o, formats)
    if not model.is_multilingual and (params.language != "en" or params.translate):
        params = params.with_options(language="en", translate=False)
        err("whispercli: warning: model is not multilingual, ignoring language and translation options")
    if o["detect_language"]:
        params = params.with_options(language="auto")

    jobs = [
        _Job(item.name, of_values[i] if i < len(of_values) else None, item.error)
        for i, item in enumerate(items)
    ]
    stdout_any = any((job.of_value or ("-" if job.name == "-" else None)) == "-" for job in jobs)
    if o["jobs"] > 1 and stdout_any:
        raise UsageError("--jobs cannot be combined with output to stdout (-of - or stdin input)")
    progress = make_progress(len(jobs), no_prints=o["no_prints"], print_progress=o["print_progress"],
                             stdout_is_output=stdout_any)
    t_start = time.perf_counter()
    with model, progress:
        runner = _run_parallel if o["jobs"] > 1 else _run_sequential
        results = runner(jobs, model, model_path, params, formats, o, progress)
    wall_s = time.perf_counter() - t_start

    failures = [r for r in results if isinstance(r, WhisperCliError)]
    done = [r for r in results if isinstance(r, float)]
    total_audio_s = sum(done)
    if done and progress.live:
        rtf = wall_s / total_audio_s if total_audio_s else 0.0
        progress.summary(
            f"{len(done)} file{'s' if len(done) != 1 else ''}, {total_audio_s:.1f} s of audio in {wall_s:.1f} s "
            f"(real-time factor {rtf:.3f}, {total_audio_s / wall_s if wall_s else 0:.1f}x)"
            + (f"; {len(failures)} failed" if failures else "")
        )
    if not failures:
        return ExitStatus.OK
    if not done and len({status_for(exc) for exc in failures}) == 1:
        return status_for(failures[0])
    return ExitStatus.PARTIAL


def _load_while_importing(load):
    """``load()`` on a helper thread while this one imports the audio and output stack.

    libwhisper reads the model without the GIL (cffi releases it), so the imports that every
    input needs anyway (numpy, soundfile, the writers: ~0.1 s) overlap the model load instead of
    following it. Errors are raised here as if ``load()`` had run inline.
    """
    outcome: dict = {}

    def work() -> None:
        try:
            outcome["model"] = load()
        except BaseException as exc:  # re-raised on the calling thread
            outcome["error"] = exc

    # a daemon thread: Ctrl-C during the load must not wait for it at exit
    loader = threading.Thread(target=work, name="whispercli-load", daemon=True)
    loader.start()
    import importlib

    for module in ("audio", "transcribe", "writers", "writers.live", "cli._outputs"):
        importlib.import_module(f"whispercli.{module}")
    loader.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["model"]


@dataclass(frozen=True)
class _Job:
    name: str
    of_value: str | None
    error: str | None


def _run_sequential(jobs, model, model_path, params, formats, o, progress) -> list:
    """Inputs one after another; each result is audio seconds, None (skipped) or the error."""
    results: list = []
    for job in jobs:
        results.append(_guarded(job, model, model_path, params, formats, o, progress, live=True, abort=None))
    return results


def _run_parallel(jobs, model, model_path, params, formats, o, progress) -> list:
    """``--jobs N``: N inputs at once on the one model, each with its own whisper_state.

    The threads are split between the jobs.  Each file's live lines are printed as
    one block when it finishes, so files never interleave on stdout.  Ctrl-C sets a
    flag every running transcription polls, then exits 130 like the sequential path.
    """
    import threading
    from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

    n_jobs = min(o["jobs"], len(jobs))
    job_params = params.with_options(n_threads=max(1, o["threads"] // n_jobs))
    stop = threading.Event()
    results: list = [None] * len(jobs)
    with ThreadPoolExecutor(max_workers=n_jobs, thread_name_prefix="whispercli-job") as pool:
        futures = {
            pool.submit(_guarded, job, model, model_path, job_params, formats, o, progress,
                        live=False, abort=stop.is_set): i
            for i, job in enumerate(jobs)
        }
        pending = set(futures)
        try:
            while pending:
                finished, pending = wait(pending, timeout=0.1, return_when=FIRST_COMPLETED)
                for future in finished:
                    results[futures[future]] = future.result()
        except BaseException:
            stop.set()
            for future in pending:
                future.cancel()
            wait(pending)
            raise
    return results


def _guarded(job, model, model_path, params, formats, o, progress, *, live: bool, abort):
    """One input; a failure of this input is returned (and reported), not raised."""
    if job.error:
        err(f"whispercli: error: {job.error}")
        return AudioError(job.error)
    try:
        return _one_input(model, model_path, job.name, job.of_value, params, formats, o, progress,
                          live=live, abort=abort)
    except (AudioError, OutputError) as exc:
        err(f"whispercli: error: {exc}")
        return exc


def _one_input(model, model_path, name, of_value, params, formats, o, progress, *, live: bool, abort) -> float | None:
    import numpy as np

    from ..audio import load_audio
    from ..diarize import estimate_speakers
    from ..writers import FORMATS, OutputContext
    from ..writers.live import LiveOptions, LivePrinter
    from ._outputs import atomic_output, check_writable_dir, output_base

    is_stdin = name == "-"
    if of_value is None and is_stdin:
        of_value = "-"  # whisper-cli: stdin input writes to stdout unless -of says otherwise
    to_stdout = of_value == "-"
    base = output_base(name, of_value, o["output_dir"], o["strip_ext"])
    if not to_stdout:
        targets = [base + FORMATS[f].extension for f in formats]
        if o["skip_existing"] and targets and all(os.path.exists(t) for t in targets):
            err(f"whispercli: skipping {name!r}: outputs exist")
            return None
        for target in targets:
            check_writable_dir(target)

    stereo = None
    if o["diarize"]:
        stereo = load_audio(name, stereo=True)
        samples = np.ascontiguousarray(stereo[:, 0] + stereo[:, 1])
    else:
        samples = load_audio(name)
    audio_s = len(samples) / 16000.0
    task = progress.start_file(name, audio_s)

    printer = LivePrinter(LiveOptions(
        no_timestamps=o["no_timestamps"], diarize=o["diarize"], print_colors=o["print_colors"],
        print_confidence=o["print_confidence"], print_special=o["print_special"], tinydiarize=o["tinydiarize"],
        compat=o["compat"],
    ))
    held: list[bytes] = []  # --jobs: this file's lines, printed as one block at the end

    def on_segment(seg) -> None:
        speaker = estimate_speakers(stereo, [seg])[0] if stereo is not None else None
        line = printer.segment(seg, speaker)
        if not live:
            held.append(line)
            return
        if progress.live:
            progress.console.file.flush()
        sys.stdout.buffer.write(line)
        sys.stdout.buffer.flush()

    try:
        if o["processors"] > 1:
            from ..transcribe import transcribe_parallel

            err(f"whispercli: warning: -p {o['processors']}: the audio is split into chunks; "
                "quality may drop at the split points")
            transcript = transcribe_parallel(
                model, samples, params, o["processors"],
                on_segment=None if to_stdout else on_segment, on_progress=task.update,
            )
        else:
            transcript = model.transcribe(
                samples, params, on_segment=None if to_stdout else on_segment, on_progress=task.update,
                abort=abort,
            )
    except BaseException:
        progress.finish_file(task, False)
        raise
    if transcript.aborted:
        progress.finish_file(task, False)
        raise TranscriptionAborted("interrupted", transcript)
    progress.finish_file(task, True)
    if held:
        sys.stdout.buffer.write(b"".join(held))
        sys.stdout.buffer.flush()
    if o["detect_language"]:
        err(f"whispercli: {name}: detected language: {transcript.language}")

    ctx = OutputContext(
        input_path=name,
        output_base=base,
        model_path=str(o["model"] if o["model"] is not None else model_path),
        language_arg=params.language or "auto",
        translate=params.translate,
        system_info=_system_info(),
        model_info=model.info,
        n_samples=len(samples),
        speakers=estimate_speakers(stereo, transcript.segments) if stereo is not None else None,
        tinydiarize=o["tinydiarize"],
        offset_n=o["offset_n"],
        font_path=o["font_path"],
        max_len=o["max_len"],
        compat=o["compat"],
    )
    if to_stdout:
        if not formats:
            err("whispercli: warning: '--output-file -' used without any --output-* format: nothing written")
        for extra in formats[1:]:
            err(f"whispercli: warning: only one format can go to stdout; {extra} not written")
        if formats:
            FORMATS[formats[0]].write(transcript, sys.stdout.buffer, ctx)
            sys.stdout.buffer.flush()
        return audio_s
    for fmt in formats:
        with atomic_output(base + FORMATS[fmt].extension) as fp:
            FORMATS[fmt].write(transcript, fp, ctx)
    return audio_s


_SYSTEM_INFO: list[str] = []


def _system_info() -> str:
    if not _SYSTEM_INFO:
        from .. import _native

        _SYSTEM_INFO.append(_native.system_info())
    return _SYSTEM_INFO[0]
