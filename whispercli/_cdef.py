"""C declarations of the libwhisper API that ``whispercli._native`` calls.

Build-time only: ``build_native.py`` loads this file by path and hands the four
strings to cffi.  Nothing here is imported when whispercli runs.

* ``INCLUDES``: the headers the generated C++ source includes.
* ``TYPES``: structs, enums and callback types.  Struct layouts end in ``...;`` so
  the compiler, not us, decides offsets and sizes (API mode checks every field
  named here against the real header).
* ``FUNCTIONS``: exactly the functions ``_native`` calls, plus the ``extern
  "Python"`` callbacks it defines.
* ``CUSTOMIZATIONS``: small C++ shims compiled into the module.

Function signatures are additionally checked by ``signature_checks()``: for every
declared function it emits a ``static_assert`` that the declared pointer type is
the header's, so a drifting cdef stops the build instead of corrupting the stack.
"""

from __future__ import annotations

INCLUDES = r"""
#include <stdbool.h>
#include <stdint.h>
#include "whisper.h"
#include "ggml.h"
#include "grammar-parser.h"
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

/* shims from CUSTOMIZATIONS */
int whispercli_get_timings(struct whisper_context * ctx, struct whisper_timings * out);
int whispercli_quantize(const char * fname_inp, const char * fname_out, int ftype);
int whispercli_regex_ok(const char * pattern);
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

/* Python-defined callbacks (see _native.py) */
extern "Python" void _whispercli_log(enum ggml_log_level, const char *, void *);
extern "Python" void _whispercli_new_segment(struct whisper_context *, struct whisper_state *, int, void *);
extern "Python" void _whispercli_progress(struct whisper_context *, struct whisper_state *, int, void *);
"""

# The version strings are filled in by build_native.py (str.format fields).
CUSTOMIZATIONS = r"""
static const char * const WHISPERCLI_PACKAGE_VERSION = "{package_version}";
static const char * const WHISPERCLI_BUILD_INFO = "{build_info}";

/* whisper_full compiles suppress_regex with std::regex and lets a syntax error escape
   as an exception (std::terminate, SIGABRT): options.validate checks it with the same
   engine and flags first. */
#include <regex>
static int whispercli_regex_ok(const char * pattern) {{
    try {{
        std::regex re(pattern);
        return 1;
    }} catch (const std::regex_error &) {{
        return 0;
    }}
}}

/* The abort check runs after every graph node inside ggml; a Python callback
   there would cost a GIL round-trip per node.  Python sets *flag instead. */
static bool whispercli_flag_abort(void * flag) {{
    return __atomic_load_n((volatile int *) flag, __ATOMIC_RELAXED) != 0;
}}

/* GBNF grammars are parsed by whisper.cpp's own example parser, compiled into this
   translation unit (setuptools refuses source paths outside the project, and
   WHISPER_CPP_DIR may be anywhere), so --grammar accepts what whisper-cli accepts. */
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <string>
/* The parser reports errors with fprintf(stderr, ...); keep the text for our one-line error instead. */
static thread_local std::string whispercli_grammar_error_text;
static int whispercli_grammar_fprintf(FILE * stream, const char * fmt, ...) {{
    char buf[512];
    va_list args;
    va_start(args, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, args);
    va_end(args);
    if (stream == stderr) {{
        whispercli_grammar_error_text = buf;
        return n;
    }}
    return fputs(buf, stream);
}}
#define fprintf whispercli_grammar_fprintf
#include "grammar-parser.cpp"
#undef fprintf

/* whisper-quantize's own code (examples/quantize + common-ggml), compiled in; its chatter
   goes to the log callback instead of stdout/stderr, and its main() is renamed away. */
static void _whispercli_log(enum ggml_log_level, const char *, void *);
static int whispercli_quantize_vlog(const char * fmt, va_list args) {{
    char buf[1024];
    int n = vsnprintf(buf, sizeof buf, fmt, args);
    bool error = strstr(buf, "error") != nullptr || strstr(buf, "failed") != nullptr || strstr(buf, "unknown") != nullptr;
    _whispercli_log(error ? GGML_LOG_LEVEL_ERROR : GGML_LOG_LEVEL_INFO, buf, nullptr);
    return n;
}}
static int whispercli_quantize_printf(const char * fmt, ...) {{
    va_list args; va_start(args, fmt); int n = whispercli_quantize_vlog(fmt, args); va_end(args); return n;
}}
static int whispercli_quantize_fprintf(FILE *, const char * fmt, ...) {{
    va_list args; va_start(args, fmt); int n = whispercli_quantize_vlog(fmt, args); va_end(args); return n;
}}
#define printf whispercli_quantize_printf
#define fprintf whispercli_quantize_fprintf
#define main whispercli_quantize_main_unused
#include "common-ggml.cpp"
#include "quantize/quantize.cpp"
#undef main
#undef fprintf
#undef printf

static int whispercli_quantize(const char * fname_inp, const char * fname_out, int ftype) {{
    {{  /* ggml's f16 tables, as whisper-quantize's main() does */
        struct ggml_init_params params = {{ 0, NULL, false }};
        struct ggml_context * ctx = ggml_init(params);
        ggml_free(ctx);
    }}
    return whisper_model_quantize(fname_inp, fname_out, (ggml_ftype) ftype) ? 0 : 1;
}}
struct whispercli_grammar {{
    grammar_parser::parse_state state;
    std::vector<const whisper_grammar_element *> c_rules;
}};

static const char * whispercli_grammar_last_error(void) {{
    return whispercli_grammar_error_text.c_str();
}}

/* whisper_get_timings returns a new'd struct the caller cannot free from C: copy it out here. */
static int whispercli_get_timings(struct whisper_context * ctx, struct whisper_timings * out) {{
    whisper_timings * t = whisper_get_timings(ctx);
    if (t == nullptr) {{
        return -1;
    }}
    *out = *t;
    delete t;
    return 0;
}}

static struct whispercli_grammar * whispercli_grammar_parse(const char * text) {{
    whispercli_grammar_error_text.clear();
    auto * grammar = new whispercli_grammar;
    grammar->state = grammar_parser::parse(text);
    if (grammar->state.rules.empty()) {{
        delete grammar;
        return nullptr;
    }}
    grammar->c_rules = grammar->state.c_rules();
    return grammar;
}}

static size_t whispercli_grammar_n_rules(struct whispercli_grammar * grammar) {{
    return grammar->c_rules.size();
}}

static const whisper_grammar_element ** whispercli_grammar_rules(struct whispercli_grammar * grammar) {{
    return grammar->c_rules.data();
}}

static int whispercli_grammar_rule_id(struct whispercli_grammar * grammar, const char * rule) {{
    auto it = grammar->state.symbol_ids.find(rule);
    return it == grammar->state.symbol_ids.end() ? -1 : (int) it->second;
}}

static void whispercli_grammar_free(struct whispercli_grammar * grammar) {{
    delete grammar;
}}
"""


def signature_checks(ffi) -> str:
    """C++ ``static_assert``s that each declared function has the header's type."""

    lines = ["#include <type_traits>"]
    for key, (tp, _quals) in sorted(ffi._parser._declarations.items()):
        kind, _, name = key.partition(" ")
        if kind != "function" or not name.startswith("whisper_"):
            continue
        ptr_type = tp.get_c_name("")  # a function pointer type: ret(*)(args)
        lines.append(
            f"static_assert(std::is_same<decltype(&{name}), {ptr_type}>::value, "
            f'"cdef of {name} does not match whisper.h");'
        )
    return "\n".join(lines) + "\n"
