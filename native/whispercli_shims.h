/* whispercli's small C shims over libwhisper, compiled into whispercli._whisper_cffi.
 *
 * whispercli/_cdef.py declares the same functions for cffi, and build_native.py
 * static_asserts that each declaration there has the type declared here.
 * One .cpp per concern: shims.cpp (abort flag, timings, regex check, tiled-gemm switch), grammar.cpp (GBNF
 * parsing), quantize.cpp (whisper-quantize's algorithm).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "ggml.h"
#include "whisper.h"

#ifdef __cplusplus
extern "C" {
#endif

/* shims.cpp */
bool whispercli_flag_abort(void * flag);
int whispercli_get_timings(struct whisper_context * ctx, struct whisper_timings * out);
int whispercli_regex_ok(const char * pattern);
int whispercli_set_tiled_gemm(struct whisper_context * ctx, struct whisper_state * state, int enabled);
int whispercli_bf16_weight_count(const struct whisper_context * ctx);

/* grammar.cpp: an opaque parsed grammar, freed with whispercli_grammar_free */
struct whispercli_grammar;
struct whispercli_grammar * whispercli_grammar_parse(const char * text);
const char * whispercli_grammar_last_error(void);
size_t whispercli_grammar_n_rules(struct whispercli_grammar * grammar);
const whisper_grammar_element ** whispercli_grammar_rules(struct whispercli_grammar * grammar);
int whispercli_grammar_rule_id(struct whispercli_grammar * grammar, const char * rule);
void whispercli_grammar_free(struct whispercli_grammar * grammar);

/* quantize.cpp: 0 on success */
int whispercli_quantize(const char * fname_inp, const char * fname_out, int ftype);

/* Defined by cffi (extern "Python+C" in _cdef.py): whispercli._native's log router. */
void _whispercli_log(enum ggml_log_level level, const char * text, void * user_data);

#ifdef __cplusplus
}
#endif
