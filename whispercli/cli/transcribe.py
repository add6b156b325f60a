"""``whispercli transcribe`` / ``translate``: whisper-cli's options, better behaviour.

Every whisper-cli v1.9.1 option is accepted by its long name and short alias with
its default.  The differences (docs/differences.md): bad values and undecodable
inputs exit non-zero, outputs are written atomically, stdout carries only results,
and any audio/video format is read.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from typing import List, Optional

import typer

from ..errors import AudioError, OutputError, UsageError, WhisperCliError
from ..options import FORMAT_NAMES, TranscribeOptions, for_model, parse_formats, validate
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
    shard: Optional[str] = _opt(None, "--shard", panel=P_IO, show_default=False, metavar="I/N",
                                help="Only the I-th of N parts of the sorted input list (1-based), so that N "
                                     "independent runs cover every input once."),
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
                        help="Keep whisper-cli's exact bytes where they are invalid (JSON escaping, UTF-8, VTT); "
                             "implies --exact."),
    exact: bool = _opt(False, "--exact", panel=P_FMT,
                       help="Compute exactly as whisper-cli v1.9.1 (its bytes, ~30% slower). The default runs "
                            "matrix products through faster tiled kernels (bf16 on CPUs with AVX512-BF16): same accuracy, "
                            "words may differ."),
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
    vad: bool = _opt(False, "--vad", panel=P_VAD, help="Transcribe only the speech Silero VAD finds."),
    vad_model: str = _opt("", "--vad-model", "-vm", panel=P_VAD, show_default=False,
                          help="VAD model: path or name (default: silero-v6.2.0 from the model cache, "
                               "downloaded there once when missing)."),
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
    cluster: Optional[str] = _opt(None, "--cluster", panel=P_HW, show_default=False, metavar="ADDRESS",
                                  help="Run on a Dask cluster: tcp://HOST:8786 (a running scheduler) or local:N "
                                       "(N local worker processes). Needs the cluster extra."),
    cluster_shared: bool = _opt(False, "--cluster-shared", panel=P_HW,
                                help="With --cluster: the workers read the inputs themselves (shared storage or "
                                     "URLs) instead of receiving their bytes."),
    no_gpu: bool = _opt(False, "--no-gpu", "-ng", panel=P_HW, help="Disable the GPU."),
    device: int = _opt(int(os.environ.get("WHISPER_ARG_DEVICE", "0") or 0), "--device", "-dev", panel=P_HW,
                       help="GPU device index.", show_default="0, or $WHISPER_ARG_DEVICE"),
    flash_attn: bool = _opt(True, "--flash-attn/--no-flash-attn", "-fa/-nfa", panel=P_HW, help="Flash attention."),
    ov_e_device: str = _opt("CPU", "--ov-e-device", "-oved", panel=P_HW, help="OpenVINO encoder device (no effect)."),
) -> None:
    """Transcribe audio and video files (whisper-cli's options and output files)."""
    formats = parse_formats(list(output_format or ()) + [
        name for name, on in (
            ("txt", output_txt), ("vtt", output_vtt), ("srt", output_srt), ("wts", output_words),
            ("csv", output_csv), ("json", output_json), ("json-full", output_json_full), ("lrc", output_lrc),
            ("score", log_score),
        ) if on
    ])
    options = TranscribeOptions(
        language=language, detect_language=detect_language, translate=translate or ctx.info_name == "translate",
        prompt=prompt, carry_initial_prompt=carry_initial_prompt, max_context=max_context, best_of=best_of,
        beam_size=beam_size, temperature=temperature, temperature_inc=temperature_inc, no_fallback=no_fallback,
        entropy_thold=entropy_thold, logprob_thold=logprob_thold, no_speech_thold=no_speech_thold,
        suppress_nst=suppress_nst, suppress_regex=suppress_regex, grammar=grammar, grammar_rule=grammar_rule,
        grammar_penalty=grammar_penalty, audio_ctx=audio_ctx, debug_mode=debug_mode,
        offset_t_ms=offset_t, offset_n=offset_n, duration_ms=duration, max_len=max_len,
        split_on_word=split_on_word, word_thold=word_thold, no_timestamps=no_timestamps, dtw=dtw,
        formats=formats, font_path=font_path, compat=compat, exact=exact,
        print_special=print_special, print_colors=print_colors, print_confidence=print_confidence,
        diarize=diarize, tinydiarize=tinydiarize,
        vad=vad, vad_model=vad_model, vad_threshold=vad_threshold,
        vad_min_speech_duration_ms=vad_min_speech_duration_ms,
        vad_min_silence_duration_ms=vad_min_silence_duration_ms,
        vad_max_speech_duration_s=vad_max_speech_duration_s, vad_speech_pad_ms=vad_speech_pad_ms,
        vad_samples_overlap=vad_samples_overlap, threads=threads, processors=processors,
    )
    settings = RunSettings(
        inputs=tuple(files or ()) + tuple(inputs or ()), output_files=tuple(output_file or ()),
        output_dir=output_dir, strip_ext=strip_ext, skip_existing=skip_existing, shard=shard, model=model,
        use_gpu=not no_gpu, gpu_device=device, flash_attn=flash_attn, jobs=jobs, cluster=cluster,
        cluster_shared=cluster_shared, no_prints=no_prints, print_progress=print_progress,
    )
    status = run(settings, options)
    if status:
        raise typer.Exit(int(status))


# --------------------------------------------------------------------------- implementation


@dataclass(frozen=True)
class RunSettings:
    """The command line's own part: which inputs, where outputs go, the model, the terminal."""

    inputs: tuple[str, ...]
    output_files: tuple[str, ...] = ()  # -of values, i-th for the i-th input
    output_dir: str | None = None
    strip_ext: bool = False
    skip_existing: bool = False
    shard: str | None = None  # "I/N"
    model: str | None = None
    use_gpu: bool = True
    gpu_device: int = 0
    flash_attn: bool = True
    jobs: int = 1
    cluster: str | None = None  # Dask scheduler address or "local:N"
    cluster_shared: bool = False
    no_prints: bool = False
    print_progress: bool = False


@dataclass(frozen=True)
class _Input:
    name: str  # as given or expanded; "-" is stdin
    output_base: str | None  # None: the one format goes to stdout
    error: WhisperCliError | None = None  # this input fails with it, without being transcribed
    reported: bool = False  # the error was already reported once for several inputs


def run(settings: RunSettings, options: TranscribeOptions) -> ExitStatus:
    from ._inputs import expand_inputs

    if not settings.inputs:
        raise UsageError("no input files specified (give FILE arguments, -f FILE, or - for stdin)")
    options = validate(options, on_vad_download=None if settings.no_prints else _vad_download_notice)
    items = expand_inputs(list(settings.inputs))
    if settings.shard is not None:
        items = _shard(settings, items)
    inputs = _plan(settings, options, items)
    to_stdout = any(item.output_base is None for item in inputs)
    if settings.jobs > 1 and to_stdout:
        raise UsageError("--jobs cannot be combined with output to stdout (-of - or stdin input)")
    if settings.cluster is not None and to_stdout:
        raise UsageError("--cluster cannot be combined with output to stdout (-of - or stdin input)")
    if settings.cluster_shared and settings.cluster is None:
        raise UsageError("--cluster-shared needs --cluster")
    if to_stdout:
        if not options.formats:
            err("whispercli: warning: '--output-file -' used without any --output-* format: nothing written")
        for extra in options.formats[1:]:
            err(f"whispercli: warning: only one format can go to stdout; {extra} not written")
    inputs = _check_output_dirs(inputs, options, create=settings.output_dir)

    from ._progress import make_progress

    if settings.cluster is not None:
        from ._cluster import run_cluster

        progress = make_progress(len(inputs), no_prints=settings.no_prints, print_progress=settings.print_progress,
                                 stdout_is_output=False)
        t_start = time.perf_counter()
        with progress:
            results = run_cluster(settings, options, inputs, progress)
    else:
        from ..model import Model
        from ..models.registry import resolve_model

        model_path = resolve_model(settings.model)
        model = _load_while_importing(lambda: Model.load(model_path, use_gpu=settings.use_gpu,
                                                         flash_attn=settings.flash_attn,
                                                         gpu_device=settings.gpu_device, dtw=options.dtw or None))
        options, warnings = for_model(options, multilingual=model.is_multilingual)
        for warning in warnings:
            err(f"whispercli: warning: {warning}")
        model_label = str(settings.model if settings.model is not None else model_path)
        progress = make_progress(len(inputs), no_prints=settings.no_prints,
                                 print_progress=settings.print_progress, stdout_is_output=to_stdout)
        t_start = time.perf_counter()
        from ._runner import Runner

        with model, progress:
            runner = Runner(model, model_label, options, settings, progress)
            results = runner.parallel(inputs) if settings.jobs > 1 else runner.sequential(inputs)
    wall_s = time.perf_counter() - t_start

    failures = [r for r in results if isinstance(r, WhisperCliError)]
    done = [r for r in results if isinstance(r, float)]
    if done and progress.live:
        total_audio_s = sum(done)
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


def _vad_download_notice(event) -> None:
    if event.kind in ("notice", "done"):
        err(f"whispercli: VAD model {event.name}: {event.message}")


def _shard(settings: RunSettings, items):
    from ..shards import Shard

    shard = Shard.parse(settings.shard)
    if any(item.is_stdin for item in items):
        raise UsageError("--shard cannot be combined with stdin input ('-')")
    if settings.output_files:
        raise UsageError("--shard cannot be combined with --output-file (name outputs with --output-dir)")
    return shard.select(items, key=lambda item: item.name)


def _plan(settings: RunSettings, options: TranscribeOptions, items) -> list[_Input]:
    """Each input with its output base (None = stdout), as whisper-cli names outputs."""
    from ._outputs import output_base

    planned = []
    for i, item in enumerate(items):
        of_value = settings.output_files[i] if i < len(settings.output_files) else None
        if of_value is None and item.is_stdin:
            of_value = "-"  # whisper-cli: stdin input writes to stdout unless -of says otherwise
        base = None if of_value == "-" else output_base(item.name, of_value, settings.output_dir, settings.strip_ext)
        planned.append(_Input(item.name, base, AudioError(item.error) if item.error else None))
    return planned


def _check_output_dirs(inputs: list[_Input], options: TranscribeOptions, *, create: str | None) -> list[_Input]:
    """Probe each output directory once, before any work; ``--output-dir`` is created (with parents).

    A directory that cannot be written fails every input that writes there: the reason is
    reported once, and if no input is left the run stops with that error.
    """
    from ..fileio import ensure_writable_dir

    if create is not None:
        ensure_writable_dir(create, create=True)
    if not options.formats:
        return inputs
    bad: dict[str, OutputError] = {}
    for directory in sorted({os.path.dirname(i.output_base) or "." for i in inputs
                             if i.output_base is not None and not i.error}):
        try:
            ensure_writable_dir(directory)
        except OutputError as exc:
            bad[directory] = exc
    if not bad:
        return inputs
    usable = [i for i in inputs if i.output_base is None or (os.path.dirname(i.output_base) or ".") not in bad]
    if not any(not i.error for i in usable):
        raise next(iter(bad.values()))
    for exc in bad.values():
        err(f"whispercli: error: {exc}")
    return [i if i in usable else _Input(i.name, i.output_base, bad[os.path.dirname(i.output_base) or "."], True)
            for i in inputs]


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

    for module in ("audio", "transcribe", "job", "writers", "writers.live", "system"):
        importlib.import_module(f"whispercli.{module}")
    loader.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["model"]
