// whisper-quantize's own code (examples/quantize + common-ggml), compiled in with
// #include (see grammar.cpp for why): its chatter goes to the log callback instead
// of stdout/stderr, and its main() is renamed away.
#include "whispercli_shims.h"

#include <cstdarg>
#include <cstdio>
#include <cstring>

static int whispercli_quantize_vlog(const char * fmt, va_list args) {
    char buf[1024];
    int n = vsnprintf(buf, sizeof buf, fmt, args);
    bool error = strstr(buf, "error") != nullptr || strstr(buf, "failed") != nullptr || strstr(buf, "unknown") != nullptr;
    _whispercli_log(error ? GGML_LOG_LEVEL_ERROR : GGML_LOG_LEVEL_INFO, buf, nullptr);
    return n;
}

static int whispercli_quantize_printf(const char * fmt, ...) {
    va_list args;
    va_start(args, fmt);
    int n = whispercli_quantize_vlog(fmt, args);
    va_end(args);
    return n;
}

static int whispercli_quantize_fprintf(FILE *, const char * fmt, ...) {
    va_list args;
    va_start(args, fmt);
    int n = whispercli_quantize_vlog(fmt, args);
    va_end(args);
    return n;
}

#define printf whispercli_quantize_printf
#define fprintf whispercli_quantize_fprintf
#define main whispercli_quantize_main_unused
#include "common-ggml.cpp"
#include "quantize/quantize.cpp"
#undef main
#undef fprintf
#undef printf

int whispercli_quantize(const char * fname_inp, const char * fname_out, int ftype) {
    {  // ggml's f16 tables, as whisper-quantize's main() does
        struct ggml_init_params params = { 0, NULL, false };
        struct ggml_context * ctx = ggml_init(params);
        ggml_free(ctx);
    }
    return whisper_model_quantize(fname_inp, fname_out, static_cast<ggml_ftype>(ftype)) ? 0 : 1;
}
