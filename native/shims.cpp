// Shims that need no more than whisper.h: the abort flag and the timings copy.
#include "whispercli_shims.h"

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
