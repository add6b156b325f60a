"""C declarations of the libwhisper API that ``whispercli._native`` calls.

Build-time only: ``build_native.py`` loads this file by path and hands the
strings to cffi.  Nothing here is imported when whispercli runs.  No C++ code
lives here: the shims are real source files under ``native/`` (declared in
``native/whispercli_shims.h``), which the build compiles into the same module.

* ``INCLUDES``: the headers the generated C++ source includes.
* ``TYPES``: structs, enums and callback types.  Struct layouts end in ``...;`` so
  the compiler, not us, decides offsets and sizes (API mode checks every field
  named here against the real header).
* ``FUNCTIONS``: exactly the functions ``_native`` calls (libwhisper's and the
  shims), plus the ``extern "Python"`` callbacks it defines.

Function signatures are additionally checked by ``signature_checks()``: for every
declared libwhisper function, shim and ``extern "Python+C"`` callback it emits a
``static_assert`` that the declared pointer type is the header's, so a drifting
cdef stops the build instead of corrupting the stack.
"""

from __future__ import annotations

INCLUDES = r"""
#include <stdbool.h>
#include <stdint.h>
#include "whisper.h"
#include "ggml.h"
#include "whispercli_shims.h"
"""

TYPES = r"""
struct whisper_context;
struct whisper_state;
typedef int32_t whisper_token;

enum ggml_log_level {
    GGML_LOG_LEVEL_NONE,
    GGML_LOG_LEVEL_DEBUG,
    GGML_LOG_LEVEL_INFO,
    GGML_LOG_LEVEL_WARN,
    GGML_LOG_LEVEL_ERROR,
    GGML_LOG_LEVEL_CONT,
    ...
};
typedef void (*ggml_log_callback)(enum ggml_log_level level, const char * text, void * user_data);
typedef bool (*ggml_abort_callback)(void * data);

enum whisper_alignment_heads_preset {
    WHISPER_AHEADS_NONE,
    WHISPER_AHEADS_N_TOP_MOST,
    WHISPER_AHEADS_CUSTOM,
    WHISPER_AHEADS_TINY_EN,
    WHISPER_AHEADS_TINY,
    WHISPER_AHEADS_BASE_EN,
    WHISPER_AHEADS_BASE,
    WHISPER_AHEADS_SMALL_EN,
    WHISPER_AHEADS_SMALL,
    WHISPER_AHEADS_MEDIUM_EN,
    WHISPER_AHEADS_MEDIUM,
    WHISPER_AHEADS_LARGE_V1,
    WHISPER_AHEADS_LARGE_V2,
    WHISPER_AHEADS_LARGE_V3,
    WHISPER_AHEADS_LARGE_V3_TURBO,
    ...
};

typedef struct whisper_ahead { int n_text_layer; int n_head; ...; } whisper_ahead;
typedef struct whisper_aheads { size_t n_heads; const whisper_ahead * heads; ...; } whisper_aheads;

struct whisper_context_params {
    bool use_gpu;
    bool flash_attn;
    int  gpu_device;
    bool dtw_token_timestamps;
    enum whisper_alignment_heads_preset dtw_aheads_preset;
    int  dtw_n_top;
    struct whisper_aheads dtw_aheads;
    size_t dtw_mem_size;
    ...;
};

typedef struct whisper_token_data {
    whisper_token id;
    whisper_token tid;
    float p;
    float plog;
    float pt;
    float ptsum;
    int64_t t0;
    int64_t t1;
    int64_t t_dtw;
    float vlen;
    ...;
} whisper_token_data;

enum whisper_gretype {
    WHISPER_GRETYPE_END,
    WHISPER_GRETYPE_ALT,
    WHISPER_GRETYPE_RULE_REF,
    WHISPER_GRETYPE_CHAR,
    WHISPER_GRETYPE_CHAR_NOT,
    WHISPER_GRETYPE_CHAR_RNG_UPPER,
    WHISPER_GRETYPE_CHAR_ALT,
    ...
};
typedef struct whisper_grammar_element {
    enum whisper_gretype type;
    uint32_t value;
    ...;
} whisper_grammar_element;

typedef struct whisper_vad_params {
    float threshold;
    int   min_speech_duration_ms;
    int   min_silence_duration_ms;
    float max_speech_duration_s;
    int   speech_pad_ms;
    float samples_overlap;
    ...;
} whisper_vad_params;

/* Silero VAD on its own (whispercli.vad) */
struct whisper_vad_context;
struct whisper_vad_segments;
struct whisper_vad_context_params {
    int  n_threads;
    bool use_gpu;
    int  gpu_device;
    ...;
};

struct whisper_timings {
    float sample_ms;
    float encode_ms;
    float decode_ms;
    float batchd_ms;
    float prompt_ms;
    ...;
};

enum whisper_sampling_strategy {
    WHISPER_SAMPLING_GREEDY,
    WHISPER_SAMPLING_BEAM_SEARCH,
    ...
};

typedef void (*whisper_new_segment_callback)(struct whisper_context * ctx, struct whisper_state * state, int n_new, void * user_data);
typedef void (*whisper_progress_callback)(struct whisper_context * ctx, struct whisper_state * state, int progress, void * user_data);
typedef bool (*whisper_encoder_begin_callback)(struct whisper_context * ctx, struct whisper_state * state, void * user_data);
typedef void (*whisper_logits_filter_callback)(struct whisper_context * ctx, struct whisper_state * state,
        const whisper_token_data * tokens, int n_tokens, float * logits, void * user_data);

struct whisper_full_params {
    enum whisper_sampling_strategy strategy;
    int n_threads;
    int n_max_text_ctx;
    int offset_ms;
    int duration_ms;
    bool translate;
    bool no_context;
    bool no_timestamps;
    bool single_segment;
    bool print_special;
    bool print_progress;
    bool print_realtime;
    bool print_timestamps;
    bool token_timestamps;
    float thold_pt;
    float thold_ptsum;
    int max_len;
    bool split_on_word;
    int max_tokens;
    bool debug_mode;
    int audio_ctx;
    bool tdrz_enable;
    const char * suppress_regex;
    const char * initial_prompt;
    bool carry_initial_prompt;
    const whisper_token * prompt_tokens;
    int prompt_n_tokens;
    const char * language;
    bool detect_language;
    bool suppress_blank;
    bool suppress_nst;
    float temperature;
    float max_initial_ts;
    float length_penalty;
    float temperature_inc;
    float entropy_thold;
    float logprob_thold;
    float no_speech_thold;
    struct { int best_of; } greedy;
    struct { int beam_size; float patience; } beam_search;
    whisper_new_segment_callback new_segment_callback;
    void * new_segment_callback_user_data;
    whisper_progress_callback progress_callback;
    void * progress_callback_user_data;
    whisper_encoder_begin_callback encoder_begin_callback;
    void * encoder_begin_callback_user_data;
    ggml_abort_callback abort_callback;
    void * abort_callback_user_data;
    whisper_logits_filter_callback logits_filter_callback;
    void * logits_filter_callback_user_data;
    const whisper_grammar_element ** grammar_rules;
    size_t n_grammar_rules;
    size_t i_start_rule;
    float grammar_penalty;
    bool vad;
    const char * vad_model_path;
    whisper_vad_params vad_params;
    ...;
};
"""

FUNCTIONS = r"""
const char * whisper_version(void);
const char * whisper_print_system_info(void);
void whisper_log_set(ggml_log_callback log_callback, void * user_data);

struct whisper_context_params whisper_context_default_params(void);
struct whisper_context * whisper_init_from_file_with_params_no_state(const char * path_model, struct whisper_context_params params);
void whisper_free(struct whisper_context * ctx);
struct whisper_state * whisper_init_state(struct whisper_context * ctx);
void whisper_free_state(struct whisper_state * state);

int whisper_n_vocab(struct whisper_context * ctx);
int whisper_n_text_ctx(struct whisper_context * ctx);
int whisper_is_multilingual(struct whisper_context * ctx);
int whisper_model_n_vocab(struct whisper_context * ctx);
int whisper_model_n_audio_ctx(struct whisper_context * ctx);
int whisper_model_n_audio_state(struct whisper_context * ctx);
int whisper_model_n_audio_head(struct whisper_context * ctx);
int whisper_model_n_audio_layer(struct whisper_context * ctx);
int whisper_model_n_text_ctx(struct whisper_context * ctx);
int whisper_model_n_text_state(struct whisper_context * ctx);
int whisper_model_n_text_head(struct whisper_context * ctx);
int whisper_model_n_text_layer(struct whisper_context * ctx);
int whisper_model_n_mels(struct whisper_context * ctx);
int whisper_model_ftype(struct whisper_context * ctx);
int whisper_model_type(struct whisper_context * ctx);
const char * whisper_model_type_readable(struct whisper_context * ctx);
whisper_token whisper_token_eot(struct whisper_context * ctx);
whisper_token whisper_token_beg(struct whisper_context * ctx);
const char * whisper_token_to_str(struct whisper_context * ctx, whisper_token token);

int whisper_lang_max_id(void);
int whisper_lang_id(const char * lang);
const char * whisper_lang_str(int id);
const char * whisper_lang_str_full(int id);
int whisper_pcm_to_mel_with_state(struct whisper_context * ctx, struct whisper_state * state,
        const float * samples, int n_samples, int n_threads);
int whisper_lang_auto_detect_with_state(struct whisper_context * ctx, struct whisper_state * state,
        int offset_ms, int n_threads, float * lang_probs);

struct whisper_full_params whisper_full_default_params(enum whisper_sampling_strategy strategy);
int whisper_full_with_state(struct whisper_context * ctx, struct whisper_state * state,
        struct whisper_full_params params, const float * samples, int n_samples);
int whisper_full_n_segments_from_state(struct whisper_state * state);
int whisper_full_lang_id_from_state(struct whisper_state * state);
int64_t whisper_full_get_segment_t0_from_state(struct whisper_state * state, int i_segment);
int64_t whisper_full_get_segment_t1_from_state(struct whisper_state * state, int i_segment);
bool whisper_full_get_segment_speaker_turn_next_from_state(struct whisper_state * state, int i_segment);
const char * whisper_full_get_segment_text_from_state(struct whisper_state * state, int i_segment);
float whisper_full_get_segment_no_speech_prob_from_state(struct whisper_state * state, int i_segment);
int whisper_full_n_tokens_from_state(struct whisper_state * state, int i_segment);
const char * whisper_full_get_token_text_from_state(struct whisper_context * ctx, struct whisper_state * state,
        int i_segment, int i_token);
whisper_token_data whisper_full_get_token_data_from_state(struct whisper_state * state, int i_segment, int i_token);

/* Silero VAD on its own (whispercli.vad) */
struct whisper_vad_params whisper_vad_default_params(void);
struct whisper_vad_context_params whisper_vad_default_context_params(void);
struct whisper_vad_context * whisper_vad_init_from_file_with_params(const char * path_model,
        struct whisper_vad_context_params params);
struct whisper_vad_segments * whisper_vad_segments_from_samples(struct whisper_vad_context * vctx,
        struct whisper_vad_params params, const float * samples, int n_samples);
int whisper_vad_segments_n_segments(struct whisper_vad_segments * segments);
float whisper_vad_segments_get_segment_t0(struct whisper_vad_segments * segments, int i_segment);
float whisper_vad_segments_get_segment_t1(struct whisper_vad_segments * segments, int i_segment);
void whisper_vad_free_segments(struct whisper_vad_segments * segments);
void whisper_vad_free(struct whisper_vad_context * ctx);

/* benchmarking: a context with its default state, whisper-bench's calls */
struct whisper_context * whisper_init_from_file_with_params(const char * path_model, struct whisper_context_params params);
int whisper_set_mel(struct whisper_context * ctx, const float * data, int n_len, int n_mel);
int whisper_encode(struct whisper_context * ctx, int offset, int n_threads);
int whisper_decode(struct whisper_context * ctx, const whisper_token * tokens, int n_tokens, int n_past, int n_threads);
int whisper_full(struct whisper_context * ctx, struct whisper_full_params params, const float * samples, int n_samples);
int whisper_full_n_segments(struct whisper_context * ctx);
const char * whisper_full_get_segment_text(struct whisper_context * ctx, int i_segment);
void whisper_reset_timings(struct whisper_context * ctx);
void whisper_print_timings(struct whisper_context * ctx);
const char * whisper_bench_memcpy_str(int n_threads);
const char * whisper_bench_ggml_mul_mat_str(int n_threads);

/* shims: native/whispercli_shims.h (the two constants are generated by build_native.py) */
int whispercli_get_timings(struct whisper_context * ctx, struct whisper_timings * out);
int whispercli_quantize(const char * fname_inp, const char * fname_out, int ftype);
int whispercli_regex_ok(const char * pattern);
int whispercli_set_tiled_gemm(struct whisper_context * ctx, struct whisper_state * state, int enabled);
int whispercli_bf16_weight_count(const struct whisper_context * ctx);
static const char * const WHISPERCLI_PACKAGE_VERSION;
static const char * const WHISPERCLI_BUILD_INFO;
bool whispercli_flag_abort(void * flag);
struct whispercli_grammar;
struct whispercli_grammar * whispercli_grammar_parse(const char * text);
const char * whispercli_grammar_last_error(void);
size_t whispercli_grammar_n_rules(struct whispercli_grammar * grammar);
const whisper_grammar_element ** whispercli_grammar_rules(struct whispercli_grammar * grammar);
int whispercli_grammar_rule_id(struct whispercli_grammar * grammar, const char * rule);
void whispercli_grammar_free(struct whispercli_grammar * grammar);

/* Python-defined callbacks (see _native.py); the log router is also called from native/quantize.cpp */
extern "Python+C" void _whispercli_log(enum ggml_log_level, const char *, void *);
extern "Python" void _whispercli_new_segment(struct whisper_context *, struct whisper_state *, int, void *);
extern "Python" void _whispercli_progress(struct whisper_context *, struct whisper_state *, int, void *);
"""

#: Which header declares the functions a name prefix stands for (for the check's message).
HEADERS = {"whisper_": "whisper.h", "whispercli_": "whispercli_shims.h", "_whispercli_": "whispercli_shims.h"}


def signature_checks(ffi) -> str:
    """C++ ``static_assert``s that each declared function has its header's type."""

    lines = ["#include <type_traits>"]
    for key, (tp, _quals) in sorted(ffi._parser._declarations.items()):
        kind, _, name = key.partition(" ")
        # extern "Python" callbacks are defined by cffi; "Python+C" ones are also declared in a header.
        if kind not in ("function", "extern_python_plus_c"):
            continue
        header = next((h for prefix, h in HEADERS.items() if name.startswith(prefix)), None)
        if header is None:
            continue
        ptr_type = tp.get_c_name("")  # a function pointer type: ret(*)(args)
        lines.append(
            f"static_assert(std::is_same<decltype(&{name}), {ptr_type}>::value, "
            f'"cdef of {name} does not match {header}");'
        )
    return "\n".join(lines) + "\n"
