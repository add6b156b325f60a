// Patch 0014 check. Without arguments: f16 weight products through llamafile's tiled sgemm (the
// default engine's path) with a few columns - which patch 0014's streaming loop computes - against
// the same columns inside a 600-column product, which tinyBLAS's own loop computes; every element is
// compared bit for bit, for several weight shapes (each of tinyBLAS's row-block sizes) and thread
// counts, so a job the streaming loop lost or computed twice would show. Exit status 1 on any
// difference. "bench": tiny's vocabulary projection with 5 columns (the beams), ggml's path against
// the tiled sgemm. Build against the static libraries of a patched build (tests/native/test_kernels.py
// does this):
//   B=<the patched build's directory, build/native-*>, S=<its patched source, build/src-*>
//   gcc -O2 benchmarks/check_tiled_stream.c -I$S/ggml/include $B/ggml/src/libggml.a $B/ggml/src/libggml-cpu.a $B/ggml/src/libggml-base.a -lstdc++ -lgomp -lm -o /tmp/check_tiled_stream
#include "ggml.h"
#include "ggml-cpu.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { WIDE = 600 };

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

static float uniform(unsigned * state) {  // in [-1, 1)
    *state = *state * 1664525u + 1013904223u;
    return (float) (*state >> 8) / (float) (1u << 23) - 1.0f;
}

// y = w x with the tiled sgemm (use_tiled_gemm) or ggml's own path; returns y's data (owned by ctx)
static float * product(struct ggml_context * ctx, struct ggml_tensor * w, struct ggml_tensor * x, int threads, int tiled,
                       int reps, double * ms) {
    struct ggml_tensor * y = ggml_mul_mat(ctx, w, x);
    struct ggml_cgraph * gf = ggml_new_graph(ctx);
    ggml_build_forward_expand(gf, y);
    struct ggml_cplan plan = ggml_graph_plan(gf, threads, NULL);
    plan.work_data = malloc(plan.work_size + 64);
    plan.use_tiled_gemm = tiled;
    double best = 1e9;
    for (int r = 0; r < reps; r++) {
        const double t0 = now_s();
        if (ggml_graph_compute(gf, &plan) != GGML_STATUS_SUCCESS) {
            fprintf(stderr, "graph compute failed\n");
            exit(2);
        }
        const double elapsed = now_s() - t0;
        if (elapsed < best) {
            best = elapsed;
        }
    }
    free(plan.work_data);
    if (ms) {
        *ms = best * 1e3;
    }
    return (float *) y->data;
}

static struct ggml_context * context_for(int k, int m) {
    struct ggml_init_params ip = { (size_t) k * m * 2 + (size_t) k * WIDE * 4 * 2 + (size_t) m * WIDE * 4 * 2 + (64u << 20), NULL, false };
    return ggml_init(ip);
}

static struct ggml_tensor * weights(struct ggml_context * ctx, int k, int m, unsigned seed) {
    struct ggml_tensor * w = ggml_new_tensor_2d(ctx, GGML_TYPE_F16, k, m);
    for (long i = 0; i < (long) k * m; i++) {
        ((ggml_fp16_t *) w->data)[i] = ggml_fp32_to_fp16(0.1f * uniform(&seed));
    }
    return w;
}

static int check(void) {
    static const int shapes[][2] = {  // {k, m}: tiny's vocabulary projection, MLP, attention; and the
        {384, 51864}, {384, 1536}, {1536, 384}, {384, 384}, {64, 52}, {64, 24}, {32, 4},  // m % 16, 8, 4
    };
    static const int cols[] = { 2, 3, 4, 5, 6, 7, 8, 11, 13, 30, 71 };
    static const int threads[] = { 1, 2, 3, 4 };
    int cases = 0, same = 0;
    for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
        const int k = shapes[s][0], m = shapes[s][1];
        struct ggml_context * ctx = context_for(k, m);
        struct ggml_tensor * w = weights(ctx, k, m, 7u + (unsigned) s);
        struct ggml_tensor * xw = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, k, WIDE);
        unsigned seed = 99u;
        for (long i = 0; i < (long) k * WIDE; i++) {
            ((float *) xw->data)[i] = 4.0f * uniform(&seed);
        }
        const float * wide = product(ctx, w, xw, 2, 1, 1, NULL);
        for (size_t c = 0; c < sizeof(cols) / sizeof(cols[0]); c++) {
            const int n = cols[c];
            struct ggml_tensor * x = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, k, n);
            memcpy(x->data, xw->data, (size_t) k * n * sizeof(float));
            for (size_t t = 0; t < sizeof(threads) / sizeof(threads[0]); t++) {
                float * y = product(ctx, w, x, threads[t], 1, 1, NULL);
                const int ok = memcmp(y, wide, (size_t) m * n * sizeof(float)) == 0;
                cases++;
                same += ok;
                if (!ok) {
                    printf("differs: k %d, m %d, %d columns, %d threads\n", k, m, n, threads[t]);
                }
                memset(y, 0xff, (size_t) m * n * sizeof(float));  // a stale result must not pass next time
            }
        }
        ggml_free(ctx);
    }
    printf("%d of %d products bit-identical\n", same, cases);
    return same == cases ? 0 : 1;
}

static int bench(void) {
    const int k = 384, m = 51864, n = 5, reps = 50;
    struct ggml_context * ctx = context_for(k, m);
    struct ggml_tensor * w = weights(ctx, k, m, 7u);
    struct ggml_tensor * x = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, k, n);
    unsigned seed = 99u;
    for (long i = 0; i < (long) k * n; i++) {
        ((float *) x->data)[i] = 4.0f * uniform(&seed);
    }
    double best[2] = { 1e9, 1e9 };
    for (int round = 0; round < 10; round++) {
        for (int tiled = 0; tiled < 2; tiled++) {
            double ms;
            product(ctx, w, x, 2, tiled, reps, &ms);
            if (ms < best[tiled]) {
                best[tiled] = ms;
            }
        }
    }
    printf("%d x %d f16 weights x %d columns, 2 threads, best of %d: ggml %.3f ms, tiled sgemm %.3f ms\n", m, k, n,
           10 * reps, best[0], best[1]);
    ggml_free(ctx);
    return 0;
}

int main(int argc, char ** argv) {
    ggml_cpu_init();
    if (argc > 1 && strcmp(argv[1], "bench") == 0) {
        return bench();
    }
    return check();
}
