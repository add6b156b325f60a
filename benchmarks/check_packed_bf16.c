// Patch 0021 check (x86-64 with AVX512-BF16). Without arguments: ggml's matrix product from bf16
// weights packed for the broadcast kernel (flag GGML_TENSOR_FLAG_WCLI_PACKED_BF16, the layout
// whisper.cpp writes: element (i, l) at ((i/16)*(k/2) + l/2)*32 + (i%16)*2 + l%2) against the same
// product computed in double precision from the bf16-rounded operands, and against tinyBLAS's bf16
// kernel on the unpacked weights. Over whisper's shapes (tiny's 384/1536 x 1500 positions) and
// edges (one column, column counts around the kernel's 12, the smallest rows and k), with 1-3
// threads, each output must be within k * 2^-23 * sum |w x| of the reference (the f32 summation's
// bound; a wrong layout, offset or thread split is off by O(sum |w x|)), and the columns the
// product must not touch keep their canary. Exit status 1 on any failure, 77 when ggml-cpu cannot
// read packed weights. "bench": both kernels timed on tiny's encoder shapes, 1 thread.
// Build as benchmarks/check_fa_rows.c.
#include "ggml.h"
#include "ggml-cpu.h"
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CANARY 12345.0f

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static float uniform(void) {  // xorshift64*, [-1, 1)
    rng ^= rng >> 12; rng ^= rng << 25; rng ^= rng >> 27;
    return (float) ((rng * 2685821657736338717ull) >> 40) / (float) (1 << 23) - 1.0f;
}

struct product {
    struct ggml_context * ctx;
    struct ggml_cgraph * gf;
    struct ggml_tensor *w, *x, *out;
    float * out_buf;  // out's rows plus one canary row on each side
};

// out[n][m] = x[n][k] * w[m][k]^T; w bf16 (packed or not), x f32
static struct product product_new(const ggml_bf16_t * w_rows, const float * x, int m, int k, int n, int packed) {
    struct product p;
    struct ggml_init_params params = { (size_t) m * k * 2 + (size_t) n * k * 4 + (size_t) n * m * 4 + 3 * ggml_tensor_overhead() + ggml_graph_overhead() + 4096, NULL, false };
    p.ctx = ggml_init(params);
    p.w = ggml_new_tensor_2d(p.ctx, GGML_TYPE_BF16, k, m);
    ggml_bf16_t * wd = p.w->data;
    for (int i = 0; i < m; i++) {
        for (int l = 0; l < k; l++) {
            const size_t at = packed ? ((size_t) (i / 16) * (k / 2) + l / 2) * 32 + (i % 16) * 2 + l % 2 : (size_t) i * k + l;
            wd[at] = w_rows[(size_t) i * k + l];
        }
    }
    if (packed) {
        p.w->flags |= GGML_TENSOR_FLAG_WCLI_PACKED_BF16;
    }
    p.x = ggml_new_tensor_2d(p.ctx, GGML_TYPE_F32, k, n);
    memcpy(p.x->data, x, (size_t) n * k * sizeof(float));
    p.out = ggml_mul_mat(p.ctx, p.w, p.x);
    // the result in a buffer of ours with a canary row before and after it
    p.out_buf = malloc((size_t) (n + 2) * m * sizeof(float));
    for (size_t i = 0; i < (size_t) (n + 2) * m; i++) p.out_buf[i] = CANARY;
    p.out->data = p.out_buf + m;
    p.gf = ggml_new_graph(p.ctx);
    ggml_build_forward_expand(p.gf, p.out);
    return p;
}

static void product_free(struct product * p) {
    free(p->out_buf);
    ggml_free(p->ctx);
}

static void compute(struct product * p, int n_threads) {
    struct ggml_cplan plan = ggml_graph_plan(p->gf, n_threads, NULL);
    plan.work_data = malloc(plan.work_size + 1);
    plan.use_tiled_gemm = 1;
    if (ggml_graph_compute(p->gf, &plan) != GGML_STATUS_SUCCESS) { fprintf(stderr, "compute failed\n"); exit(2); }
    free(plan.work_data);
}

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static int bench(void) {
    const int shapes[3][2] = { { 384, 384 }, { 1536, 384 }, { 384, 1536 } };
    const int n = 1500;
    for (int s = 0; s < 3; s++) {
        const int m = shapes[s][0], k = shapes[s][1];
        ggml_bf16_t * w = malloc((size_t) m * k * sizeof(*w));
        float * x = malloc((size_t) n * k * sizeof(*x));
        for (size_t i = 0; i < (size_t) m * k; i++) w[i] = ggml_fp32_to_bf16(uniform());
        for (size_t i = 0; i < (size_t) n * k; i++) x[i] = uniform();
        double best[2] = { 1e9, 1e9 };
        struct product p[2] = { product_new(w, x, m, k, n, 0), product_new(w, x, m, k, n, 1) };
        for (int r = 0; r < 7; r++) {
            for (int packed = 0; packed < 2; packed++) {
                const double t0 = now_s();
                compute(&p[packed], 1);
                const double ms = (now_s() - t0) * 1e3;
                if (ms < best[packed]) best[packed] = ms;
            }
        }
        printf("%4d x %4d weights, %d columns, 1 thread: tinyBLAS bf16 %.2f ms, packed %.2f ms\n", m, k, n, best[0], best[1]);
        product_free(&p[0]);
        product_free(&p[1]);
        free(w);
        free(x);
    }
    return 0;
}

int main(int argc, char ** argv) {
    if (!ggml_cpu_has_wcli_packed_bf16()) {
        printf("ggml-cpu cannot read packed bf16 weights here (no AVX512-BF16 or no tiled sgemm)\n");
        return 77;
    }
    if (argc > 1 && strcmp(argv[1], "bench") == 0) {
        return bench();
    }
    // m (rows of w, a multiple of 32), k (even), n (columns)
    const int shapes[][3] = {
        { 384, 384, 1500 }, { 1536, 384, 1500 }, { 384, 1536, 1500 },  // tiny's encoder
        { 32, 2, 1 }, { 32, 2, 13 }, { 64, 6, 11 }, { 64, 6, 12 }, { 96, 130, 25 }, { 384, 384, 1 }, { 384, 384, 24 },
    };
    const int n_shapes = sizeof(shapes) / sizeof(shapes[0]);
    int ok = 0, total = 0;
    for (int s = 0; s < n_shapes; s++) {
        const int m = shapes[s][0], k = shapes[s][1], n = shapes[s][2];
        ggml_bf16_t * w = malloc((size_t) m * k * sizeof(*w));
        float * x = malloc((size_t) n * k * sizeof(*x));
        for (size_t i = 0; i < (size_t) m * k; i++) w[i] = ggml_fp32_to_bf16(uniform());
        for (size_t i = 0; i < (size_t) n * k; i++) x[i] = uniform() * 4.0f;
        // the reference, from the operands as the kernel reads them (x rounded to bf16 by ggml)
        double * ref = malloc((size_t) n * m * sizeof(*ref));
        double * bound = malloc((size_t) n * m * sizeof(*bound));
        for (int j = 0; j < n; j++) {
            for (int i = 0; i < m; i++) {
                double sum = 0.0, abs_sum = 0.0;
                for (int l = 0; l < k; l++) {
                    const double t = (double) ggml_bf16_to_fp32(w[(size_t) i * k + l]) *
                                     ggml_bf16_to_fp32(ggml_fp32_to_bf16(x[(size_t) j * k + l]));
                    sum += t;
                    abs_sum += fabs(t);
                }
                ref[(size_t) j * m + i] = sum;
                bound[(size_t) j * m + i] = k * ldexp(1.0, -23) * abs_sum + 1e-30;
            }
        }
        for (int n_threads = 1; n_threads <= 3; n_threads++) {
            struct product packed = product_new(w, x, m, k, n, 1);
            struct product plain = product_new(w, x, m, k, n, 0);
            compute(&packed, n_threads);
            compute(&plain, n_threads);
            double worst = 0.0;  // |error| / bound
            int canaries = 1;
            for (int i = 0; i < m; i++) {
                canaries &= packed.out_buf[i] == CANARY && packed.out_buf[(size_t) (n + 1) * m + i] == CANARY;
            }
            for (size_t e = 0; e < (size_t) n * m; e++) {
                const double got = ((const float *) packed.out->data)[e];
                const double tiny = ((const float *) plain.out->data)[e];
                const double r = fmax(fabs(got - ref[e]), fabs(tiny - ref[e])) / bound[e];
                if (!(r <= worst)) worst = r;  // NaN counts as worst
            }
            total++;
            if (canaries && worst <= 1.0) {
                ok++;
            } else {
                printf("FAIL m=%d k=%d n=%d threads=%d: worst error %.3g of the bound, canaries %s\n",
                       m, k, n, n_threads, worst, canaries ? "kept" : "overwritten");
            }
            product_free(&packed);
            product_free(&plain);
        }
        free(ref);
        free(bound);
        free(w);
        free(x);
    }
    printf("%d of %d products within the f32 summation bound of the double-precision reference\n", ok, total);
    return ok == total ? 0 : 1;
}
