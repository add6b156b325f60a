"""``whispercli serve``: the HTTP server's flags -> ``ServerSettings`` + ``TranscribeOptions`` defaults.

Only typer here: the server stack (starlette, uvicorn, ...) is imported when the
command runs, so ``whispercli --help`` stays light.
"""

from __future__ import annotations

import os
from typing import Optional

import typer

from ..errors import UsageError

P_NET = "Server"
P_DEC = "Transcription defaults (a request may override them)"
P_HW = "Model and hardware"


def _opt(default, *decls, panel: str, help: str, **kw):
    return typer.Option(default, *decls, help=help, rich_help_panel=panel, **kw)


def serve(
    model: Optional[str] = _opt(None, "--model", "-m", panel=P_HW, show_default=False,
                                help="Model path or name in the model cache (default: models/ggml-base.en.bin, "
                                     "then the cached base.en)."),
    threads: int = _opt(min(4, os.cpu_count() or 1), "--threads", "-t", panel=P_HW, min=1,
                        help="Compute threads per worker.", show_default="min(4, CPUs)"),
    no_gpu: bool = _opt(False, "--no-gpu", "-ng", panel=P_HW, help="Disable the GPU."),
    flash_attn: bool = _opt(True, "--flash-attn/--no-flash-attn", "-fa/-nfa", panel=P_HW, help="Flash attention."),
    exact: bool = _opt(False, "--exact", panel=P_HW,
                       help="Compute exactly as whisper.cpp v1.9.1 (whisper-server's numbers, ~30% slower). The "
                            "default runs matrix products through faster tiled kernels (bf16 on CPUs with AVX512-BF16): "
                            "same accuracy, words may differ."),
    # ---- server
    host: str = _opt("127.0.0.1", "--host", panel=P_NET, help="Address to listen on (0.0.0.0: every interface)."),
    port: int = _opt(8080, "--port", panel=P_NET, min=0, max=65535, help="Port to listen on."),
    workers: int = _opt(1, "--workers", panel=P_NET, min=1,
                        help="Requests transcribed at once on the one loaded model (each with a fresh state)."),
    max_queue: int = _opt(16, "--max-queue", panel=P_NET, min=0,
                          help="Requests waiting for a worker; more are refused with 503 and Retry-After."),
    max_upload_mb: float = _opt(25.0, "--max-upload-mb", panel=P_NET, min=0.001,
                                help="Largest request body in MB (1 MB = 2^20 bytes); larger ones get 413."),
    request_timeout: float = _opt(600.0, "--request-timeout", panel=P_NET, min=0.1,
                                  help="Seconds a request may take (queue wait included); then it is aborted (504)."),
    drain_timeout: float = _opt(30.0, "--drain-timeout", panel=P_NET, min=0.0,
                                help="On SIGTERM/SIGINT: seconds in-flight requests get to finish; then "
                                     "they are aborted (503 with Retry-After)."),
    api_key: Optional[str] = _opt(None, "--api-key", panel=P_NET, envvar="WHISPERCLI_API_KEY", show_default=False,
                                  help="Require 'Authorization: Bearer KEY' (also from $WHISPERCLI_API_KEY); "
                                       "/health and /metrics stay open."),
    allow_load: bool = _opt(False, "--allow-load", panel=P_NET,
                            help="Offer POST /load (a model name from the model cache; never a path)."),
    request_path: str = _opt("", "--request-path", panel=P_NET, help="Prefix of every route, e.g. /whisper."),
    inference_path: str = _opt("/inference", "--inference-path", panel=P_NET,
                               help="whisper-server's inference route."),
    no_language_probabilities: bool = _opt(False, "--no-language-probabilities", "-nlp", panel=P_NET,
                                           help="Leave the language probabilities (an extra detection pass) out "
                                                "of /inference verbose_json; a request may ask for them."),
    # ---- transcription defaults (whisper-server's flags; a request's fields override them)
    language: str = _opt("en", "--language", "-l", panel=P_DEC, help="Spoken language code or name; 'auto' detects."),
    detect_language: bool = _opt(False, "--detect-language", "-dl", panel=P_DEC, help="Detect the language and stop."),
    translate: bool = _opt(False, "--translate", "-tr", panel=P_DEC, help="Translate into English."),
    prompt: str = _opt("", "--prompt", panel=P_DEC, help="Initial prompt."),
    carry_initial_prompt: bool = _opt(False, "--carry-initial-prompt", panel=P_DEC,
                                      help="Prepend the prompt to every window."),
    best_of: int = _opt(5, "--best-of", "-bo", panel=P_DEC, help="Greedy candidates."),
    beam_size: int = _opt(5, "--beam-size", "-bs", panel=P_DEC, help="Beam size (1 = greedy decoding)."),
    temperature: float = _opt(0.0, "--temperature", "-tp", panel=P_DEC, help="Starting temperature."),
    temperature_inc: float = _opt(0.2, "--temperature-inc", "-tpi", panel=P_DEC, help="Temperature fallback step."),
    no_fallback: bool = _opt(False, "--no-fallback", "-nf", panel=P_DEC, help="No temperature fallback."),
    entropy_thold: float = _opt(2.4, "--entropy-thold", "-et", panel=P_DEC, help="Entropy failure threshold."),
    logprob_thold: float = _opt(-1.0, "--logprob-thold", "-lpt", panel=P_DEC, help="Average log-probability threshold."),
    no_speech_thold: float = _opt(0.6, "--no-speech-thold", "-nth", panel=P_DEC, help="No-speech threshold."),
    max_context: int = _opt(-1, "--max-context", "-mc", panel=P_DEC,
                            help="Past-text tokens used as prompt (-1 = all)."),
    audio_ctx: int = _opt(0, "--audio-ctx", "-ac", panel=P_DEC, help="Encoder context size (0 = all)."),
    offset_t: int = _opt(0, "--offset-t", "-ot", panel=P_DEC, help="Start offset in ms."),
    offset_n: int = _opt(0, "--offset-n", "-on", panel=P_DEC, help="SRT cue number offset."),
    duration: int = _opt(0, "--duration", "-d", panel=P_DEC, help="Duration to process in ms (0 = all)."),
    max_len: int = _opt(0, "--max-len", "-ml", panel=P_DEC,
                        help="Maximum segment length in characters (0: no limit; /inference then uses 60, "
                             "as whisper-server does)."),
    split_on_word: bool = _opt(False, "--split-on-word", "-sow", panel=P_DEC, help="With -ml, split on words."),
    word_thold: float = _opt(0.01, "--word-thold", "-wt", panel=P_DEC, help="Token timestamp probability threshold."),
    no_timestamps: bool = _opt(False, "--no-timestamps", "-nt", panel=P_DEC, help="No timestamps."),
    dtw: str = _opt("", "--dtw", "-dtw", panel=P_DEC, help="DTW token timestamps with this preset (e.g. tiny.en)."),
    suppress_nst: bool = _opt(False, "--suppress-nst", "-sns", panel=P_DEC, help="Suppress non-speech tokens."),
    diarize: bool = _opt(False, "--diarize", "-di", panel=P_DEC, help="Stereo diarization (speaker per channel)."),
    tinydiarize: bool = _opt(False, "--tinydiarize", "-tdrz", panel=P_DEC, help="Speaker turns (needs a -tdrz model)."),
    debug_mode: bool = _opt(False, "--debug-mode", "-debug", panel=P_DEC, help="libwhisper debug dumps."),
    processors: int = _opt(1, "--processors", "-p", panel=P_DEC,
                           help="Split each request's audio into N chunks processed in parallel."),
    vad: bool = _opt(False, "--vad", panel=P_DEC, help="Enable Silero VAD (the model: -vm, or the cached default)."),
    vad_model: str = _opt("", "--vad-model", "-vm", panel=P_DEC, help="VAD model: path or name."),
    vad_threshold: float = _opt(0.5, "--vad-threshold", "-vt", panel=P_DEC, help="VAD speech probability threshold."),
    vad_min_speech_duration_ms: int = _opt(250, "--vad-min-speech-duration-ms", "-vspd", panel=P_DEC,
                                           help="VAD minimum speech duration (ms)."),
    vad_min_silence_duration_ms: int = _opt(100, "--vad-min-silence-duration-ms", "-vsd", panel=P_DEC,
                                            help="VAD minimum silence duration (ms)."),
    vad_max_speech_duration_s: float = _opt(3.4028234663852886e38, "--vad-max-speech-duration-s", "-vmsd",
                                            panel=P_DEC, help="VAD maximum speech duration (s).", show_default=False),
    vad_speech_pad_ms: int = _opt(30, "--vad-speech-pad-ms", "-vp", panel=P_DEC, help="VAD speech padding (ms)."),
    vad_samples_overlap: float = _opt(0.1, "--vad-samples-overlap", "-vo", panel=P_DEC, help="VAD overlap (s)."),
) -> None:
    """Serve transcriptions over HTTP (whisper-server's /inference and OpenAI's /v1/audio API).

    Endpoints: POST /inference, POST /load (with --allow-load), GET /health, POST /v1/audio/transcriptions,
    POST /v1/audio/translations, GET /v1/models and GET /metrics (Prometheus). Requests are multipart forms
    with the audio in the field 'file' and whisper-server's or OpenAI's fields; response_format is json, text,
    srt, vtt or verbose_json, and text, srt and vtt are the bytes transcribe writes for the same options.

    Bad requests get a 4xx with a one-line message in the endpoint's error shape (OpenAI's
    {"error": {...}} on /v1): 400 bad field or undecodable audio, 401 bad API key, 413 upload over
    --max-upload-mb, 415 not a form, 503 with Retry-After when the workers and the queue are full, 504 past
    --request-timeout. SIGTERM or SIGINT stops accepting, lets in-flight requests finish (--drain-timeout;
    what is left then gets 503 with Retry-After) and exits 0.
    """
    from ..options import TranscribeOptions
    from ..server.runner import serve as run_server
    from ..server.settings import ServerSettings

    if not inference_path.startswith("/") or (request_path and not request_path.startswith("/")):
        raise UsageError("--request-path and --inference-path must start with '/'")
    defaults = TranscribeOptions(
        language=language, detect_language=detect_language, translate=translate, prompt=prompt,
        carry_initial_prompt=carry_initial_prompt, best_of=best_of, beam_size=beam_size, temperature=temperature,
        temperature_inc=temperature_inc, no_fallback=no_fallback, entropy_thold=entropy_thold,
        logprob_thold=logprob_thold, no_speech_thold=no_speech_thold, max_context=max_context, audio_ctx=audio_ctx,
        offset_t_ms=offset_t, offset_n=offset_n, duration_ms=duration, max_len=max_len, split_on_word=split_on_word,
        word_thold=word_thold, no_timestamps=no_timestamps, dtw=dtw, suppress_nst=suppress_nst, diarize=diarize,
        tinydiarize=tinydiarize, debug_mode=debug_mode, processors=processors, vad=vad, vad_model=vad_model,
        vad_threshold=vad_threshold, vad_min_speech_duration_ms=vad_min_speech_duration_ms,
        vad_min_silence_duration_ms=vad_min_silence_duration_ms, vad_max_speech_duration_s=vad_max_speech_duration_s,
        vad_speech_pad_ms=vad_speech_pad_ms, vad_samples_overlap=vad_samples_overlap, threads=threads, exact=exact,
    )
    settings = ServerSettings(
        model=model, host=host, port=port, workers=workers, max_queue=max_queue,
        max_upload_bytes=int(max_upload_mb * (1 << 20)), request_timeout_s=request_timeout,
        drain_timeout_s=drain_timeout, api_key=api_key or None, allow_load=allow_load,
        request_path=request_path.rstrip("/"), inference_path=inference_path,
        language_probabilities=not no_language_probabilities, defaults=defaults,
    )
    run_server(settings, use_gpu=not no_gpu, flash_attn=flash_attn)
