"""The only module that touches the compiled binding (``ffi``/``lib``).

It loads ``whispercli._whisper_cffi``, checks that it was built for this package
version, routes libwhisper's log output into :mod:`logging`, and exposes small
functions that turn C results into Python values or typed errors.

cffi releases the GIL around every call into libwhisper, so a long
``whisper_full_with_state`` in one thread does not block the others.

One concern earns its size: this is the package's one boundary with C.  Every
``ffi``/``lib`` use lives here, each a short translation from C values, return
codes and callbacks to Python values and typed errors; the sections below follow
the library's concerns (logs, contexts, full params and callbacks, results,
benchmarking, quantizing), but none of them holds logic of its own.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Callable

from . import _version
from .errors import BuildMismatchError, ModelError, NativeError, UsageError
from .params import DTW_PRESETS, ContextParams, FullParams, SamplingStrategy
from .types import Segment, Token

_REBUILD = "rebuild it with `pip install -e .` (or `python build_native.py`) in the whispercli source tree"

# ggml's OpenMP threads wait for each other at every graph node.  libgomp's default is to
# spin 300,000 times first: when other processes (or our own --jobs / server workers) hold
# the cores, a spinning thread burns the time slice of the one it waits for, and two runs
# sharing 2 cores took up to 13x their time.  A bounded spin keeps one run's speed (measured
# in benchmarks/levers.md) and lets waiting threads sleep.  libgomp reads this once, when it
# is loaded with the module just below; a user's own OMP_WAIT_POLICY/GOMP_SPINCOUNT wins,
# and the variable is not left behind for child processes.
GOMP_SPINCOUNT = "3000"
_set_spin = "GOMP_SPINCOUNT" not in os.environ and "OMP_WAIT_POLICY" not in os.environ
# Kept alive for the life of the process: see _import_with_c_env.
_spin_environ: list[object] = []


def _import_with_c_env(entry: bytes):
    """Import the compiled module while C's ``environ`` also holds ``entry``.

    Not through ``os.environ``: setenv() may realloc and free the array that a
    subprocess vfork()ed by another thread is still reading for its exec (CPython
    drops the GIL around vfork), which fails that spawn with EFAULT.  Here the C
    pointer is swapped to a new array and back; nothing is freed, the new array is
    never released, and Python's os.environ never sees the variable.
    """
    import ctypes

    environ = ctypes.c_void_p.in_dll(ctypes.CDLL(None), "environ")
    old = environ.value
    entries = ctypes.cast(old, ctypes.POINTER(ctypes.c_char_p))
    count = 0
    while entries[count] is not None:
        count += 1
    array = (ctypes.c_char_p * (count + 2))(*(entries[i] for i in range(count)), entry, None)
    _spin_environ.append(array)
    environ.value = ctypes.addressof(array)
    try:
        from ._whisper_cffi import ffi, lib
    finally:
        environ.value = old
    return ffi, lib


try:
    if _set_spin:
        ffi, lib = _import_with_c_env(b"GOMP_SPINCOUNT=" + GOMP_SPINCOUNT.encode())
    else:
        from ._whisper_cffi import ffi, lib
except ImportError as exc:  # pragma: no cover - depends on the install
    raise BuildMismatchError(f"the native module whispercli._whisper_cffi cannot be loaded ({exc}); {_REBUILD}") from exc

_built_for = ffi.string(lib.WHISPERCLI_PACKAGE_VERSION).decode()
if _built_for != _version.__version__:
    raise BuildMismatchError(
        f"the native module was built for whispercli {_built_for}, this is {_version.__version__}; {_REBUILD}"
    )

# --------------------------------------------------------------------------- logging

log = logging.getLogger("whispercli.whisper")
log.addHandler(logging.NullHandler())

_LEVELS = {
    lib.GGML_LOG_LEVEL_DEBUG: logging.DEBUG,
    lib.GGML_LOG_LEVEL_INFO: logging.INFO,
    lib.GGML_LOG_LEVEL_WARN: logging.WARNING,
    lib.GGML_LOG_LEVEL_ERROR: logging.ERROR,
}
# libwhisper logs in pieces (a line may arrive as several calls, and CONT
# continues the previous level); lines are assembled per thread.
_pending = threading.local()
# The last error lines per thread, so a failing call can say why (e.g. the
# loader's "not all tensors loaded" when a model file is truncated).
_recent_errors = threading.local()


@ffi.def_extern()
def _whispercli_log(level, text, _user_data):
    piece = ffi.string(text).decode("utf-8", errors="replace")
    if level != lib.GGML_LOG_LEVEL_CONT:
        _pending.level = _LEVELS.get(level, logging.INFO)
    buf = getattr(_pending, "buf", "") + piece
    py_level = getattr(_pending, "level", logging.INFO)
    *lines, rest = buf.split("\n")
    _pending.buf = rest
    for line in lines:
        if py_level >= logging.WARNING:
            errors = getattr(_recent_errors, "lines", None)
            if errors is None:
                errors = _recent_errors.lines = []
            errors.append(line.strip())
            del errors[:-4]
        if log.isEnabledFor(py_level):
            log.log(py_level, "%s", line)


# whisper_log_set is process-global (it also sets ggml's logger); set it once here.
lib.whisper_log_set(lib._whispercli_log, ffi.NULL)


def _take_recent_errors() -> str:
    lines = getattr(_recent_errors, "lines", None) or []
    _recent_errors.lines = []
    return "; ".join(line for line in lines if line)


# --------------------------------------------------------------------------- library info


def version() -> str:
    return ffi.string(lib.whisper_version()).decode()


def build_info() -> str:
    return ffi.string(lib.WHISPERCLI_BUILD_INFO).decode()


def system_info() -> str:
    return ffi.string(lib.whisper_print_system_info()).decode()


def languages() -> list[tuple[str, str]]:
    """``(code, english name)`` for every language id, in id order."""
    return [
        (ffi.string(lib.whisper_lang_str(i)).decode(), ffi.string(lib.whisper_lang_str_full(i)).decode())
        for i in range(lib.whisper_lang_max_id() + 1)
    ]


def lang_id(code_or_name: str) -> int:
    """libwhisper's id for a code or English name, or -1."""
    return lib.whisper_lang_id(code_or_name.encode())


# --------------------------------------------------------------------------- context and state


def init_context(path: str, cparams: ContextParams):
    c = lib.whisper_context_default_params()
    c.use_gpu = cparams.use_gpu
    c.flash_attn = cparams.flash_attn
    c.gpu_device = cparams.gpu_device
    if cparams.dtw:
        preset = DTW_PRESETS.get(cparams.dtw)
        if preset is None:
            raise UsageError(f"unknown DTW preset {cparams.dtw!r} (one of: {', '.join(DTW_PRESETS)})")
        c.dtw_token_timestamps = True
        c.dtw_aheads_preset = preset
        c.dtw_n_top = cparams.dtw_n_top
    _take_recent_errors()
    ctx = lib.whisper_init_from_file_with_params_no_state(path.encode(), c)
    if ctx == ffi.NULL:
        why = _take_recent_errors() or "not a ggml Whisper model"
        raise ModelError(f"cannot load model {path!r}: {why}")
    ctx = ffi.gc(ctx, lib.whisper_free)
    # A file cut right after its header loads as an "empty model for testing"
    # (a warning, not an error) and would produce garbage: refuse it.
    if "no tensors loaded" in _take_recent_errors():
        ffi.release(ctx)
        raise ModelError(f"cannot load model {path!r}: the file is truncated (it has no tensors)")
    return ctx


def free(handle) -> None:
    """Free a context or state now (idempotent: ffi.release runs the destructor once)."""
    ffi.release(handle)


def init_state(ctx):
    state = lib.whisper_init_state(ctx)
    if state == ffi.NULL:
        raise NativeError("whisper_init_state", detail=_take_recent_errors() or "out of memory?")
    return ffi.gc(state, lib.whisper_free_state)


def model_info(ctx) -> dict:
    return {
        "type": ffi.string(lib.whisper_model_type_readable(ctx)).decode(),
        "multilingual": bool(lib.whisper_is_multilingual(ctx)),
        "vocab": lib.whisper_model_n_vocab(ctx),
        "audio": {
            "ctx": lib.whisper_model_n_audio_ctx(ctx),
            "state": lib.whisper_model_n_audio_state(ctx),
            "head": lib.whisper_model_n_audio_head(ctx),
            "layer": lib.whisper_model_n_audio_layer(ctx),
        },
        "text": {
            "ctx": lib.whisper_model_n_text_ctx(ctx),
            "state": lib.whisper_model_n_text_state(ctx),
            "head": lib.whisper_model_n_text_head(ctx),
            "layer": lib.whisper_model_n_text_layer(ctx),
        },
        "mels": lib.whisper_model_n_mels(ctx),
        "ftype": lib.whisper_model_ftype(ctx),
    }


def token_to_bytes(ctx, token_id: int) -> bytes:
    return ffi.string(lib.whisper_token_to_str(ctx, token_id))


# --------------------------------------------------------------------------- full params

_SIMPLE_FIELDS = (
    "n_threads", "n_max_text_ctx", "offset_ms", "duration_ms", "translate", "no_context",
    "no_timestamps", "single_segment", "print_special", "print_progress", "print_realtime",
    "print_timestamps", "token_timestamps", "thold_pt", "thold_ptsum", "max_len", "split_on_word",
    "max_tokens", "debug_mode", "audio_ctx", "tdrz_enable", "carry_initial_prompt", "detect_language",
    "suppress_blank", "suppress_nst", "temperature", "max_initial_ts", "length_penalty",
    "temperature_inc", "entropy_thold", "logprob_thold", "no_speech_thold", "grammar_penalty", "vad",
)
_STRING_FIELDS = ("suppress_regex", "initial_prompt", "language", "vad_model_path")
_NESTED_FIELDS = {
    "best_of": ("greedy", "best_of"),
    "beam_size": ("beam_search", "beam_size"),
    "patience": ("beam_search", "patience"),
    "vad_threshold": ("vad_params", "threshold"),
    "vad_min_speech_duration_ms": ("vad_params", "min_speech_duration_ms"),
    "vad_min_silence_duration_ms": ("vad_params", "min_silence_duration_ms"),
    "vad_max_speech_duration_s": ("vad_params", "max_speech_duration_s"),
    "vad_speech_pad_ms": ("vad_params", "speech_pad_ms"),
    "vad_samples_overlap": ("vad_params", "samples_overlap"),
}


def default_full_params(strategy: SamplingStrategy) -> dict:
    """``whisper_full_default_params(strategy)`` as a dict keyed like FullParams."""
    c = lib.whisper_full_default_params(int(strategy))
    out = {"strategy": SamplingStrategy(c.strategy)}
    for name in _SIMPLE_FIELDS:
        out[name] = getattr(c, name)
    for name in _STRING_FIELDS:
        value = getattr(c, name)
        out[name] = None if value == ffi.NULL else ffi.string(value).decode()
    for name, (outer, inner) in _NESTED_FIELDS.items():
        out[name] = getattr(getattr(c, outer), inner)
    out["prompt_tokens"] = None if c.prompt_n_tokens == 0 else "set"
    out["grammar"] = None if c.n_grammar_rules == 0 else "set"
    out["grammar_rule"] = None
    return out


class Grammar:
    """A parsed GBNF grammar (whisper.cpp's own parser), freed with the object."""

    def __init__(self, text: str) -> None:
        handle = lib.whispercli_grammar_parse(text.encode())
        if handle == ffi.NULL:
            detail = ffi.string(lib.whispercli_grammar_last_error()).decode("utf-8", "replace").strip()
            detail = detail.split("error parsing grammar: ", 1)[-1] or "no rules"
            shown = text if len(text) < 40 else text[:37] + "..."
            raise UsageError(f"failed to parse grammar {shown!r}: {detail}")
        self._handle = ffi.gc(handle, lib.whispercli_grammar_free)

    def rule_id(self, rule: str) -> int:
        return lib.whispercli_grammar_rule_id(self._handle, rule.encode())

    def apply(self, c, rule: str, penalty: float) -> None:
        rule_id = self.rule_id(rule)
        if rule_id < 0:
            raise UsageError(f"grammar rule {rule!r} not found in the grammar")
        c.grammar_rules = lib.whispercli_grammar_rules(self._handle)
        c.n_grammar_rules = lib.whispercli_grammar_n_rules(self._handle)
        c.i_start_rule = rule_id
        c.grammar_penalty = penalty


def regex_ok(pattern: str) -> bool:
    """True when std::regex (what whisper_full compiles ``suppress_regex`` with) accepts ``pattern``."""
    return bool(lib.whispercli_regex_ok(pattern.encode()))


class FullCall:
    """One ``whisper_full_with_state`` call: the C params, callbacks and abort flag.

    Callbacks run on the thread that runs :meth:`run`.  ``on_new_segments`` gets the
    freshly decoded :class:`Segment` records (read while libwhisper waits, so they
    are consistent); ``on_progress`` gets an int percent.  An exception raised by
    either is kept, the computation is aborted, and :meth:`run` re-raises it.
    """

    def __init__(
        self,
        ctx,
        params: FullParams,
        *,
        on_new_segments: Callable[[list[Segment]], None] | None = None,
        on_progress: Callable[[int], None] | None = None,
        with_tokens: bool = True,
    ) -> None:
        self._ctx = ctx
        self._keep = []  # C strings/arrays that must outlive the call
        self._on_new_segments = on_new_segments
        self._on_progress = on_progress
        self._with_tokens = with_tokens
        self.error: BaseException | None = None
        self.delivered = 0  # segments handed to on_new_segments so far
        self.abort_flag = ffi.new("int *", 0)
        self.exact = params.exact
        self.c = self._build(params)

    def _cstr(self, text: str | None):
        if text is None:
            return ffi.NULL
        buf = ffi.new("char[]", text.encode())
        self._keep.append(buf)
        return buf

    def _build(self, p: FullParams):
        c = lib.whisper_full_default_params(int(p.strategy))
        for name in _SIMPLE_FIELDS:
            setattr(c, name, getattr(p, name))
        for name, (outer, inner) in _NESTED_FIELDS.items():
            setattr(getattr(c, outer), inner, getattr(p, name))
        language = p.language
        if language in (None, "", "auto"):
            language = "auto"
        for name in _STRING_FIELDS:
            setattr(c, name, self._cstr(language if name == "language" else getattr(p, name)))
        if p.prompt_tokens:
            tokens = ffi.new("whisper_token[]", list(p.prompt_tokens))
            self._keep.append(tokens)
            c.prompt_tokens = tokens
            c.prompt_n_tokens = len(p.prompt_tokens)
        if p.grammar and p.grammar_rule:
            grammar = Grammar(p.grammar)
            self._keep.append(grammar)
            grammar.apply(c, p.grammar_rule, p.grammar_penalty)
        self._handle = ffi.new_handle(self)
        c.abort_callback = ffi.addressof(lib, "whispercli_flag_abort")
        c.abort_callback_user_data = self.abort_flag
        if self._on_new_segments is not None:
            c.new_segment_callback = lib._whispercli_new_segment
            c.new_segment_callback_user_data = self._handle
        if self._on_progress is not None:
            c.progress_callback = lib._whispercli_progress
            c.progress_callback_user_data = self._handle
        return c

    def abort(self) -> None:
        self.abort_flag[0] = 1

    def _fail(self, exc: BaseException) -> None:
        if self.error is None:
            self.error = exc
        self.abort()

    def run(self, state, samples) -> int:
        """Run the computation; returns libwhisper's return code (0 = success)."""
        buf = ffi.from_buffer("float[]", samples)
        _take_recent_errors()
        set_exact(self._ctx, state, self.exact)
        rc = lib.whisper_full_with_state(self._ctx, state, self.c, buf, len(samples))
        if self.error is not None:
            raise self.error
        return rc


@ffi.def_extern()
def _whispercli_new_segment(_ctx, state, n_new, user_data):
    call: FullCall = ffi.from_handle(user_data)
    if call.error is not None:
        return
    try:
        # n_new is not trusted: with DTW, libwhisper 1.9.1 passes a segment index
        # there and skips callbacks for later windows.  Deliver what is new instead;
        # the caller flushes anything still undelivered when the call returns.
        n_segments = lib.whisper_full_n_segments_from_state(state)
        if n_segments > call.delivered:
            segments = read_segments(call._ctx, state, call.delivered, n_segments, call._with_tokens)
            call.delivered = n_segments
            call._on_new_segments(segments)
    except BaseException as exc:  # noqa: BLE001 - kept and re-raised by FullCall.run
        call._fail(exc)


@ffi.def_extern()
def _whispercli_progress(_ctx, _state, progress, user_data):
    call: FullCall = ffi.from_handle(user_data)
    if call.error is not None:
        return
    try:
        call._on_progress(int(progress))
    except BaseException as exc:  # noqa: BLE001 - kept and re-raised by FullCall.run
        call._fail(exc)


def last_error() -> str:
    return _take_recent_errors()


# --------------------------------------------------------------------------- results


def read_segments(ctx, state, first: int, last: int, with_tokens: bool = True) -> list[Segment]:
    eot = lib.whisper_token_eot(ctx)
    segments = []
    for i in range(first, last):
        tokens: tuple[Token, ...] = ()
        if with_tokens:
            toks = []
            for j in range(lib.whisper_full_n_tokens_from_state(state, i)):
                d = lib.whisper_full_get_token_data_from_state(state, i, j)
                toks.append(Token(
                    id=d.id,
                    text_bytes=ffi.string(lib.whisper_full_get_token_text_from_state(ctx, state, i, j)),
                    p=d.p, plog=d.plog, pt=d.pt, ptsum=d.ptsum,
                    start_ms=d.t0 * 10 if d.t0 >= 0 else None,
                    end_ms=d.t1 * 10 if d.t1 >= 0 else None,
                    dtw_ms=d.t_dtw * 10 if d.t_dtw >= 0 else None,
                    vlen=d.vlen,
                    is_special=d.id >= eot,
                ))
            tokens = tuple(toks)
        segments.append(Segment(
            index=i,
            start_ms=lib.whisper_full_get_segment_t0_from_state(state, i) * 10,
            end_ms=lib.whisper_full_get_segment_t1_from_state(state, i) * 10,
            text_bytes=ffi.string(lib.whisper_full_get_segment_text_from_state(state, i)),
            no_speech_prob=lib.whisper_full_get_segment_no_speech_prob_from_state(state, i),
            speaker_turn_next=bool(lib.whisper_full_get_segment_speaker_turn_next_from_state(state, i)),
            tokens=tokens,
        ))
    return segments


def n_segments(state) -> int:
    return lib.whisper_full_n_segments_from_state(state)


def full_lang_id(state) -> int:
    return lib.whisper_full_lang_id_from_state(state)


def lang_code(lang_id_: int) -> str:
    ptr = lib.whisper_lang_str(lang_id_)
    return "" if ptr == ffi.NULL else ffi.string(ptr).decode()


def set_exact(ctx, state, exact: bool) -> bool:
    """Choose the engine's numerics for ``state`` (None: the context's own state): ``exact``
    is whisper.cpp v1.9.1's, else llamafile's tiled sgemm (patch 0007).  Returns whether
    this build has the tiled kernel (a build without it is always exact)."""
    return bool(lib.whispercli_set_tiled_gemm(ctx, ffi.NULL if state is None else state, 0 if exact else 1))


def bf16_weight_count(ctx) -> int:
    """How many of the context's weights have bf16 copies (patch 0016): made at the first encode
    that is not exact, on CPUs with AVX512-BF16; 0 before that, elsewhere, or without the patch."""
    return lib.whispercli_bf16_weight_count(ctx)


def detect_language(ctx, state, samples, offset_ms: int, n_threads: int, exact: bool = False) -> list[float]:
    """Probabilities of every language id for the 30 s window at ``offset_ms``."""
    buf = ffi.from_buffer("float[]", samples)
    _take_recent_errors()
    set_exact(ctx, state, exact)
    rc = lib.whisper_pcm_to_mel_with_state(ctx, state, buf, len(samples), n_threads)
    if rc != 0:
        raise NativeError("whisper_pcm_to_mel_with_state", rc, _take_recent_errors())
    probs = ffi.new("float[]", lib.whisper_lang_max_id() + 1)
    rc = lib.whisper_lang_auto_detect_with_state(ctx, state, offset_ms, n_threads, probs)
    if rc < 0:
        raise NativeError("whisper_lang_auto_detect_with_state", rc, _take_recent_errors())
    return list(probs)


# --------------------------------------------------------------------------- benchmarking


def init_context_with_state(path: str, cparams: ContextParams):
    """A context with libwhisper's default state: what whisper-bench measures."""
    c = lib.whisper_context_default_params()
    c.use_gpu = cparams.use_gpu
    c.flash_attn = cparams.flash_attn
    c.gpu_device = cparams.gpu_device
    _take_recent_errors()
    ctx = lib.whisper_init_from_file_with_params(path.encode(), c)
    if ctx == ffi.NULL:
        raise ModelError(f"cannot load model {path!r}: {_take_recent_errors() or 'not a ggml Whisper model'}")
    return ffi.gc(ctx, lib.whisper_free)


def _check(rc: int, function: str) -> None:
    if rc != 0:
        raise NativeError(function, rc, _take_recent_errors())


def timings(ctx) -> dict[str, float]:
    """Per-run milliseconds of the context's default state (whisper_get_timings)."""
    t = ffi.new("struct whisper_timings *")
    if lib.whispercli_get_timings(ctx, t) != 0:
        raise NativeError("whisper_get_timings", detail="the context has no state")
    return {"sample_ms": t.sample_ms, "encode_ms": t.encode_ms, "decode_ms": t.decode_ms,
            "batchd_ms": t.batchd_ms, "prompt_ms": t.prompt_ms}


def reset_timings(ctx) -> None:
    lib.whisper_reset_timings(ctx)


def print_timings(ctx) -> None:
    """whisper_print_timings: the block goes to the log (logger whispercli.whisper)."""
    lib.whisper_print_timings(ctx)


def bench_set_zero_mel(ctx) -> None:
    _check(lib.whisper_set_mel(ctx, ffi.NULL, 0, lib.whisper_model_n_mels(ctx)), "whisper_set_mel")


def bench_encode(ctx, n_threads: int) -> None:
    _check(lib.whisper_encode(ctx, 0, n_threads), "whisper_encode")


_ZERO_TOKENS = None


def bench_decode(ctx, n_tokens: int, n_past: int, n_threads: int) -> None:
    global _ZERO_TOKENS
    if _ZERO_TOKENS is None:
        _ZERO_TOKENS = ffi.new("whisper_token[]", 512)
    _check(lib.whisper_decode(ctx, _ZERO_TOKENS, n_tokens, n_past, n_threads), "whisper_decode")


def bench_full(ctx, params: FullParams, samples) -> list[str]:
    """whisper_full on the context's default state (so timings() sees it); returns segment texts."""
    call = FullCall(ctx, params)
    buf = ffi.from_buffer("float[]", samples)
    _take_recent_errors()
    set_exact(ctx, None, params.exact)
    _check(lib.whisper_full(ctx, call.c, buf, len(samples)), "whisper_full")
    return [ffi.string(lib.whisper_full_get_segment_text(ctx, i)).decode("utf-8", "replace")
            for i in range(lib.whisper_full_n_segments(ctx))]


def bench_memcpy_text(n_threads: int) -> str:
    return ffi.string(lib.whisper_bench_memcpy_str(n_threads)).decode()


def bench_mul_mat_text(n_threads: int) -> str:
    return ffi.string(lib.whisper_bench_ggml_mul_mat_str(n_threads)).decode()


# --------------------------------------------------------------------------- quantize


def quantize(fname_inp: str, fname_out: str, ftype: int) -> None:
    """whisper-quantize's algorithm, compiled in; raises NativeError with its log on failure."""
    _take_recent_errors()
    rc = lib.whispercli_quantize(fname_inp.encode(), fname_out.encode(), ftype)
    if rc != 0:
        raise NativeError("whisper_model_quantize", rc, _take_recent_errors())


# --------------------------------------------------------------------------- Silero VAD on its own


def vad_init(path: str, n_threads: int, use_gpu: bool = False):
    """A ``whisper_vad_context`` for a checked Silero VAD file (freed when collected)."""
    c = lib.whisper_vad_default_context_params()
    c.n_threads = n_threads
    c.use_gpu = use_gpu
    _take_recent_errors()
    vctx = lib.whisper_vad_init_from_file_with_params(path.encode(), c)
    if vctx == ffi.NULL:
        raise ModelError(f"cannot load VAD model {path!r}: {_take_recent_errors() or 'not a Silero VAD model'}")
    return ffi.gc(vctx, lib.whisper_vad_free)


def vad_segments(vctx, samples, params: dict) -> list[tuple[float, float]]:
    """``whisper_vad_segments_from_samples``: (start, end) of each speech segment, in centiseconds."""
    p = lib.whisper_vad_default_params()
    for name, value in params.items():
        setattr(p, name, value)
    buf = ffi.from_buffer("float[]", samples)
    _take_recent_errors()
    segs = lib.whisper_vad_segments_from_samples(vctx, p, buf, len(samples))
    if segs == ffi.NULL:
        raise NativeError("whisper_vad_segments_from_samples", detail=_take_recent_errors())
    try:
        return [(lib.whisper_vad_segments_get_segment_t0(segs, i), lib.whisper_vad_segments_get_segment_t1(segs, i))
                for i in range(lib.whisper_vad_segments_n_segments(segs))]
    finally:
        lib.whisper_vad_free_segments(segs)
