// Shims that need no more than whisper.h: the abort flag, the timings copy, the regex check.
#include "whispercli_shims.h"

#include "ggml-cpu.h"

#include <regex>

// The abort check runs after every graph node inside ggml; a Python callback
// there would cost a GIL round-trip per node.  Python sets *flag instead.
bool whispercli_flag_abort(void * flag) {
    return __atomic_load_n(static_cast<volatile int *>(flag), __ATOMIC_RELAXED) != 0;
}

// whisper_get_timings returns a new'd struct that the caller cannot free from C: copy it out here.
int whispercli_get_timings(struct whisper_context * ctx, struct whisper_timings * out) {
    whisper_timings * t = whisper_get_timings(ctx);
    if (t == nullptr) {
        return -1;
    }
    *out = *t;
    delete t;
    return 0;
}

// whisper_full compiles suppress_regex with std::regex and lets a syntax error escape as an
// exception (std::terminate, SIGABRT): options.validate checks it with the same engine first.
int whispercli_regex_ok(const char * pattern) {
    try {
        std::regex re(pattern);
        return 1;
    } catch (const std::regex_error &) {
        return 0;
    }
}

// Patch 0007's tiled sgemm switch, on a state or (state == NULL) on the context's own state.
// Returns 1 when this build can use the kernel (patched, GGML_LLAMAFILE), else 0 and does nothing:
// a WHISPERCLI_PATCHES=0 build still compiles and simply stays exact.
int whispercli_set_tiled_gemm(struct whisper_context * ctx, struct whisper_state * state, int enabled) {
#if defined(WHISPER_HAS_TILED_GEMM)
    if (!ggml_cpu_has_llamafile()) {
        return 0;
    }
    if (state != nullptr) {
        whisper_state_set_tiled_gemm(state, enabled != 0);
    } else {
        whisper_set_tiled_gemm(ctx, enabled != 0);
    }
    return 1;
#else
    (void) ctx;
    (void) state;
    (void) enabled;
    return 0;
#endif
}

// Patch 0016's bf16 weight copies: how many the context holds (0 in a build without the patch).
int whispercli_bf16_weight_count(const struct whisper_context * ctx) {
#if defined(WHISPER_HAS_BF16_WEIGHTS)
    return whisper_bf16_weight_count(ctx);
#else
    (void) ctx;
    return 0;
#endif
}
