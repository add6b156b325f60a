// GBNF grammars, parsed by whisper.cpp's own example parser so that --grammar
// accepts exactly what whisper-cli accepts.
//
// The parser is compiled into this translation unit with #include (it lives in
// whisper.cpp's examples/, which is on the include path: setuptools refuses
// source paths outside the project, and WHISPER_CPP_DIR may be anywhere).
#include "whispercli_shims.h"

#include <cstdarg>
#include <cstdio>
#include <string>
#include <vector>

// The parser reports errors with fprintf(stderr, ...); keep the text for our one-line error instead.
static thread_local std::string whispercli_grammar_error_text;

static int whispercli_grammar_fprintf(FILE * stream, const char * fmt, ...) {
    char buf[512];
    va_list args;
    va_start(args, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, args);
    va_end(args);
    if (stream == stderr) {
        whispercli_grammar_error_text = buf;
        return n;
    }
    return fputs(buf, stream);
}

// Upstream's debug printer print_rule_binary is static and never called: not our warning to fix.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#define fprintf whispercli_grammar_fprintf
#include "grammar-parser.cpp"
#undef fprintf
#pragma GCC diagnostic pop

struct whispercli_grammar {
    grammar_parser::parse_state state;
    std::vector<const whisper_grammar_element *> c_rules;
};

const char * whispercli_grammar_last_error(void) {
    return whispercli_grammar_error_text.c_str();
}

struct whispercli_grammar * whispercli_grammar_parse(const char * text) {
    whispercli_grammar_error_text.clear();
    auto * grammar = new whispercli_grammar;
    grammar->state = grammar_parser::parse(text);
    if (grammar->state.rules.empty()) {
        delete grammar;
        return nullptr;
    }
    grammar->c_rules = grammar->state.c_rules();
    return grammar;
}

size_t whispercli_grammar_n_rules(struct whispercli_grammar * grammar) {
    return grammar->c_rules.size();
}

const whisper_grammar_element ** whispercli_grammar_rules(struct whispercli_grammar * grammar) {
    return grammar->c_rules.data();
}

int whispercli_grammar_rule_id(struct whispercli_grammar * grammar, const char * rule) {
    auto it = grammar->state.symbol_ids.find(rule);
    return it == grammar->state.symbol_ids.end() ? -1 : static_cast<int>(it->second);
}

void whispercli_grammar_free(struct whispercli_grammar * grammar) {
    delete grammar;
}
