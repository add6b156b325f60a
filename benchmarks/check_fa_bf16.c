// Patch 0017 check (x86-64 with AVX512-BF16). Without arguments: ggml's flash attention for the
// encoder's many queries (f16 K/V, no mask, head size 64) with the tiled sgemm switch on, where the
// tile products run in bf16, against attention computed in double precision from the same inputs
// rounded to bf16 (Q, K, V; the kernel also rounds the softmax weights, which moves an output by at
// most ~2^-8 of the largest |V|). Over 27 shapes and value ranges, with 1 and 2 threads, it asserts
// that each output is within TOLERANCE of that reference (a wrong pair layout or tile offset is off
// by O(1)), and that the switch really changes the kernel: the result differs from the same op with
// the switch off (f32 tiles, whisper.cpp's bits). Exit status 1 on any failure, 77 when ggml-cpu
// lacks AVX512-BF16. "bench": both timed on tiny's encoder self-attention (1500 x 1500, 6 heads,
// 2 threads). Build as benchmarks/check_fa_rows.c.
#include "ggml.h"
#include "ggml-cpu.h"
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HEAD 64
#define TOLERANCE 4e-3  // |V| < 1: the softmax weights' bf16 rounding plus f32 sums

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static float uniform(void) {  // xorshift64*, [-1, 1)
    rng ^= rng >> 12; rng ^= rng << 25; rng ^= rng >> 27;
    return (float) ((rng * 2685821657736338717ull) >> 40) / (float) (1 << 23) - 1.0f;
}

static double bf16_rounded(float x) {
    return ggml_bf16_to_fp32(ggml_fp32_to_bf16(x));
}

struct attention {
    struct ggml_context * ctx;
    struct ggml_cgraph * gf;
    struct ggml_tensor *q, *k, *v, *out;
};

static struct attention attention_new(int n_q, int n_kv, int n_head, float spread) {
    struct attention a;
    struct ggml_init_params ip = { (size_t) 256 << 20, NULL, false };
    a.ctx = ggml_init(ip);
    a.q = ggml_new_tensor_4d(a.ctx, GGML_TYPE_F32, HEAD, n_q, n_head, 1);
    a.k = ggml_new_tensor_4d(a.ctx, GGML_TYPE_F16, HEAD, n_kv, n_head, 1);
    a.v = ggml_new_tensor_4d(a.ctx, GGML_TYPE_F16, HEAD, n_kv, n_head, 1);
    for (int64_t i = 0; i < ggml_nelements(a.q); i++) ((float *) a.q->data)[i] = spread*uniform();
    for (int64_t i = 0; i < ggml_nelements(a.k); i++) ((ggml_fp16_t *) a.k->data)[i] = ggml_fp32_to_fp16(spread*uniform());
    for (int64_t i = 0; i < ggml_nelements(a.v); i++) ((ggml_fp16_t *) a.v->data)[i] = ggml_fp32_to_fp16(uniform());
    a.out = ggml_flash_attn_ext(a.ctx, a.q, a.k, a.v, NULL, 0.125f, 0.0f, 0.0f);
    ggml_flash_attn_ext_set_prec(a.out, GGML_PREC_F32);
    a.gf = ggml_new_graph(a.ctx);
    ggml_build_forward_expand(a.gf, a.out);
    return a;
}

// out[n_q][n_head][HEAD] (ggml's permuted result) with the tiled sgemm switch on or off
static float * compute(struct attention * a, int n_threads, int tiled) {
    struct ggml_cplan plan = ggml_graph_plan(a->gf, n_threads, NULL);
    plan.work_data = malloc(plan.work_size + 1);
    plan.use_tiled_gemm = tiled;
    if (ggml_graph_compute(a->gf, &plan) != GGML_STATUS_SUCCESS) { fprintf(stderr, "compute failed\n"); exit(2); }
    free(plan.work_data);
    float * got = malloc(ggml_nbytes(a->out));
    memcpy(got, a->out->data, ggml_nbytes(a->out));
    return got;
}

// the same attention in double precision from bf16-rounded Q, K, V
static double * reference(const struct attention * a) {
    const int n_q = a->q->ne[1], n_kv = a->k->ne[1], n_head = a->q->ne[2];
    double * out = malloc(sizeof(double)*n_q*n_head*HEAD);
    double * s = malloc(sizeof(double)*n_kv);
    double * kh = malloc(sizeof(double)*n_kv*HEAD);
    double * vh = malloc(sizeof(double)*n_kv*HEAD);
    for (int h = 0; h < n_head; h++) {
        for (int j = 0; j < n_kv; j++) {
            const ggml_fp16_t * kr = (const ggml_fp16_t *) ((const char *) a->k->data + j*a->k->nb[1] + h*a->k->nb[2]);
            const ggml_fp16_t * vr = (const ggml_fp16_t *) ((const char *) a->v->data + j*a->v->nb[1] + h*a->v->nb[2]);
            for (int d = 0; d < HEAD; d++) {
                kh[j*HEAD + d] = bf16_rounded(ggml_fp16_to_fp32(kr[d]));
                vh[j*HEAD + d] = bf16_rounded(ggml_fp16_to_fp32(vr[d]));
            }
        }
        for (int i = 0; i < n_q; i++) {
            const float * qr = (const float *) ((const char *) a->q->data + i*a->q->nb[1] + h*a->q->nb[2]);
            double q[HEAD], max = -INFINITY, sum = 0.0;
            for (int d = 0; d < HEAD; d++) q[d] = bf16_rounded(qr[d]);
            for (int j = 0; j < n_kv; j++) {
                double dot = 0.0;
                for (int d = 0; d < HEAD; d++) dot += q[d]*kh[j*HEAD + d];
                s[j] = 0.125*dot;
                if (s[j] > max) max = s[j];
            }
            for (int j = 0; j < n_kv; j++) sum += (s[j] = exp(s[j] - max));
            double * o = out + ((size_t) i*n_head + h)*HEAD;
            for (int d = 0; d < HEAD; d++) o[d] = 0.0;
            for (int j = 0; j < n_kv; j++) {
                for (int d = 0; d < HEAD; d++) o[d] += s[j]*vh[j*HEAD + d];
            }
            for (int d = 0; d < HEAD; d++) o[d] /= sum;
        }
    }
    free(s); free(kh); free(vh);
    return out;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9*ts.tv_nsec;
}

static int bench(void) {
    struct attention a = attention_new(1500, 1500, 6, 2.0f);
    struct ggml_cplan plan = ggml_graph_plan(a.gf, 2, NULL);
    plan.work_data = malloc(plan.work_size + 1);
    double best[2] = { 1e9, 1e9 };
    for (int round = 0; round < 10; round++) {
        for (int tiled = 0; tiled < 2; tiled++) {
            plan.use_tiled_gemm = tiled;
            const double t0 = now_s();
            for (int i = 0; i < 5; i++) ggml_graph_compute(a.gf, &plan);
            const double ms = (now_s() - t0)*1e3/5;
            if (ms < best[tiled]) best[tiled] = ms;
        }
    }
    printf("encoder self-attention, 1500 x 1500 x 6 heads, 2 threads: bf16 tiles %.2f ms, f32 tiles %.2f ms (best of 10 x 5)\n",
           best[1], best[0]);
    free(plan.work_data);
    ggml_free(a.ctx);
    return 0;
}

int main(int argc, char ** argv) {
    ggml_cpu_init();
    if (!ggml_cpu_has_avx512_bf16()) {
        printf("ggml-cpu was built without AVX512-BF16: patch 0017 is not in this build\n");
        return 77;
    }
    if (argc > 1 && strcmp(argv[1], "bench") == 0) return bench();
    // queries from one Q tile to the encoder's 1500; keys with partial last tiles
    const int n_qs[] = { 64, 130, 1500 };
    const int n_kvs[] = { 64, 100, 1500 };
    const float spreads[] = { 0.5f, 2.0f, 4.0f };
    int runs = 0, bad = 0;
    double worst = 0.0;
    for (size_t a = 0; a < sizeof n_qs/sizeof *n_qs; a++)
    for (size_t b = 0; b < sizeof n_kvs/sizeof *n_kvs; b++)
    for (size_t c = 0; c < sizeof spreads/sizeof *spreads; c++) {
        struct attention at = attention_new(n_qs[a], n_kvs[b], n_qs[a] == 1500 ? 2 : 6, spreads[c]);
        double * want = reference(&at);
        const size_t n = (size_t) ggml_nelements(at.out);
        for (int t = 1; t <= 2; t++) {
            float * f32 = compute(&at, t, 0);
            float * bf16 = compute(&at, t, 1);
            double max_abs = 0.0;
            for (size_t i = 0; i < n; i++) {
                const double d = fabs(bf16[i] - want[i]);
                if (!(d <= max_abs)) max_abs = d;  // NaN counts as the worst
            }
            if (max_abs > worst || max_abs != max_abs) worst = max_abs;
            const int same_as_f32 = memcmp(f32, bf16, n*sizeof(float)) == 0;
            runs++;
            if (!(max_abs <= TOLERANCE) || same_as_f32) {
                bad++;
                printf("FAILS: %d queries, %d keys, spread %g, %d threads: largest difference %g%s\n", n_qs[a], n_kvs[b],
                       spreads[c], t, max_abs, same_as_f32 ? ", and the same bits as the f32 tiles" : "");
            }
            free(f32); free(bf16);
        }
        free(want);
        ggml_free(at.ctx);
    }
    printf("%d of %d shapes within %g of the bf16-rounded reference and not the f32 tiles' bits (largest difference %g)\n",
           runs - bad, runs, TOLERANCE, worst);
    return bad != 0;
}
