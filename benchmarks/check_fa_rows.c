// Patch 0012 check (x86-64 with AVX-512). Without arguments: ggml's flash attention for few queries
// (the decoder's beams against whisper's cross-attention K/V) through the patched kernel and through
// ggml's own (cplan.use_ref), compared bit for bit over 288 shapes and value ranges; exit status 1 on
// any difference. "expf": the patch's 16-wide expf (copied below) against the C library's expf for
// every negative float, NaNs included (about 20 s). "bench": both kernels timed on tiny's decoder
// cross-attention. Build against the static libraries of a patched build (tests/native/test_kernels.py
// does this):
//   B=<the patched build's directory, build/native-*>
//   gcc -O2 -march=native benchmarks/check_fa_rows.c -Iwhisper.cpp/ggml/include $B/ggml/src/libggml.a $B/ggml/src/libggml-cpu.a $B/ggml/src/libggml-base.a -lstdc++ -lgomp -lm -o /tmp/check_fa_rows
#include <immintrin.h>
#include "ggml.h"
#include "ggml-cpu.h"
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

// copied from patches/0012-flash-attn-rows-exact.patch
static const uint64_t fa_rows_exp2_tab[32] = {
    0x3ff0000000000000, 0x3fefd9b0d3158574, 0x3fefb5586cf9890f, 0x3fef9301d0125b51,
    0x3fef72b83c7d517b, 0x3fef54873168b9aa, 0x3fef387a6e756238, 0x3fef1e9df51fdee1,
    0x3fef06fe0a31b715, 0x3feef1a7373aa9cb, 0x3feedea64c123422, 0x3feece086061892d,
    0x3feebfdad5362a27, 0x3feeb42b569d4f82, 0x3feeab07dd485429, 0x3feea47eb03a5585,
    0x3feea09e667f3bcd, 0x3fee9f75e8ec5f74, 0x3feea11473eb0187, 0x3feea589994cce13,
    0x3feeace5422aa0db, 0x3feeb737b0cdc5e5, 0x3feec49182a3f090, 0x3feed503b23e255d,
    0x3feee89f995ad3ad, 0x3feeff76f2fb5e47, 0x3fef199bdd85529c, 0x3fef3720dcef9069,
    0x3fef5818dcfba487, 0x3fef7c97337b9b5f, 0x3fefa4afa2a490da, 0x3fefd0765b6e4540,
};

static inline __m256 fa_rows_expf8(__m256 x) {
    const __m512d inv_ln2_n = _mm512_castsi512_pd(_mm512_set1_epi64(0x40471547652b82fe));  // 32/ln 2
    const __m512d shift     = _mm512_castsi512_pd(_mm512_set1_epi64(0x4338000000000000));  // 0x1.8p52
    const __m512d c0        = _mm512_castsi512_pd(_mm512_set1_epi64(0x3ebc6af84b912394));
    const __m512d c1        = _mm512_castsi512_pd(_mm512_set1_epi64(0x3f2ebfce50fac4f3));
    const __m512d c2        = _mm512_castsi512_pd(_mm512_set1_epi64(0x3f962e42ff0c52d6));
    const __m512i tab_lo    = _mm512_loadu_si512(fa_rows_exp2_tab);
    const __m512i tab_hi    = _mm512_loadu_si512(fa_rows_exp2_tab + 8);
    const __m512i tab_lo2   = _mm512_loadu_si512(fa_rows_exp2_tab + 16);
    const __m512i tab_hi2   = _mm512_loadu_si512(fa_rows_exp2_tab + 24);

    const __m512d xd  = _mm512_cvtps_pd(x);
    const __m512d kds = _mm512_fmadd_pd(inv_ln2_n, xd, shift);   // z + shift, z = x*N/ln 2
    const __m512i ki  = _mm512_castpd_si512(kds);
    const __m512d kd  = _mm512_sub_pd(kds, shift);
    const __m512d r   = _mm512_fmsub_pd(inv_ln2_n, xd, kd);      // z - kd, fused
    const __m512i idx = _mm512_and_si512(ki, _mm512_set1_epi64(31));
    const __mmask8 upper = _mm512_test_epi64_mask(ki, _mm512_set1_epi64(16));
    __m512i t = _mm512_mask_blend_epi64(upper, _mm512_permutex2var_epi64(tab_lo, idx, tab_hi),
                                               _mm512_permutex2var_epi64(tab_lo2, idx, tab_hi2));
    t = _mm512_add_epi64(t, _mm512_slli_epi64(ki, 47));
    const __m512d z  = _mm512_fmadd_pd(r, c0, c1);
    const __m512d r2 = _mm512_mul_pd(r, r);
    __m512d y = _mm512_fmadd_pd(r, c2, _mm512_set1_pd(1.0));
    y = _mm512_fmadd_pd(z, r2, y);
    y = _mm512_mul_pd(y, _mm512_castsi512_pd(t));
    return _mm512_cvtpd_ps(y);
}

static inline void fa_rows_expf16(float * y, const float * x) {
    const __m512 v = _mm512_loadu_ps(x);
    const __m256 lo = fa_rows_expf8(_mm512_castps512_ps256(v));
    const __m256 hi = fa_rows_expf8(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
    _mm512_storeu_ps(y, _mm512_insertf32x8(_mm512_castps256_ps512(lo), hi, 1));
    const __m512i abstop = _mm512_and_si512(_mm512_srli_epi32(_mm512_castps_si512(v), 20), _mm512_set1_epi32(0x7ff));
    __mmask16 slow = _mm512_cmpge_epu32_mask(abstop, _mm512_set1_epi32(0x42b));  // |x| >= 88 or NaN
    while (slow) {
        const int i = __builtin_ctz(slow);
        y[i] = expf(x[i]);
        slow &= slow - 1;
    }
}

static int check_expf(void) {
    float x[16], y[16];
    uint32_t n = 0;
    uint64_t checked = 0, bad = 0;
    for (uint64_t bits = 0x80000000u; bits <= 0xffffffffu; bits++) {
        const uint32_t b = (uint32_t) bits;
        memcpy(&x[n++], &b, sizeof b);
        if (n == 16) {
            fa_rows_expf16(y, x);
            for (int i = 0; i < 16; i++) {
                const float want = expf(x[i]);
                if (memcmp(&want, &y[i], sizeof want) != 0 && bad++ < 5) {
                    printf("expf(%a): %a, the C library says %a\n", x[i], y[i], want);
                }
            }
            checked += 16;
            n = 0;
        }
    }
    printf("%llu negative floats: %llu differ from expf\n", (unsigned long long) checked, (unsigned long long) bad);
    return bad != 0;
}

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static float uniform(void) {  // xorshift64*, [-1, 1)
    rng ^= rng >> 12; rng ^= rng << 25; rng ^= rng >> 27;
    return (float) ((rng * 2685821657736338717ull) >> 40) / (float) (1 << 23) - 1.0f;
}

static int run(int n_q, int n_kv, int n_head, float spread, int n_threads, double * max_abs) {
    struct ggml_init_params ip = { 64u << 20, NULL, false };
    struct ggml_context * ctx = ggml_init(ip);
    struct ggml_tensor * q = ggml_new_tensor_4d(ctx, GGML_TYPE_F32, 64, n_q, n_head, 1);
    struct ggml_tensor * k = ggml_new_tensor_4d(ctx, GGML_TYPE_F16, 64, n_kv, n_head, 1);
    struct ggml_tensor * v = ggml_new_tensor_4d(ctx, GGML_TYPE_F16, 64, n_kv, n_head, 1);
    for (int64_t i = 0; i < ggml_nelements(q); i++) ((float *) q->data)[i] = spread*uniform();
    for (int64_t i = 0; i < ggml_nelements(k); i++) ((ggml_fp16_t *) k->data)[i] = ggml_fp32_to_fp16(spread*uniform());
    for (int64_t i = 0; i < ggml_nelements(v); i++) ((ggml_fp16_t *) v->data)[i] = ggml_fp32_to_fp16(uniform());
    struct ggml_tensor * out = ggml_flash_attn_ext(ctx, q, k, v, NULL, 0.125f, 0.0f, 0.0f);
    ggml_flash_attn_ext_set_prec(out, GGML_PREC_F32);
    struct ggml_cgraph * gf = ggml_new_graph(ctx);
    ggml_build_forward_expand(gf, out);

    const size_t n_out = (size_t) ggml_nbytes(out);
    float * got[2];
    for (int ref = 0; ref < 2; ref++) {
        struct ggml_cplan plan = ggml_graph_plan(gf, n_threads, NULL);
        plan.work_data = malloc(plan.work_size + 1);
        plan.use_ref = ref;
        if (ggml_graph_compute(gf, &plan) != GGML_STATUS_SUCCESS) { fprintf(stderr, "compute failed\n"); exit(2); }
        free(plan.work_data);
        got[ref] = malloc(n_out);
        memcpy(got[ref], out->data, n_out);
    }
    const int same = memcmp(got[0], got[1], n_out) == 0;
    for (size_t i = 0; i < n_out/sizeof(float); i++) {
        const double d = fabs((double) got[0][i] - got[1][i]);
        if (d > *max_abs) *max_abs = d;
    }
    free(got[0]); free(got[1]);
    ggml_free(ctx);
    return same;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9*ts.tv_nsec;
}

// "bench": ms per call of whisper tiny's decoder cross-attention (5 beams, 1500 frames, 6 heads,
// 2 threads), patched kernel and ggml's, alternating
static int bench(void) {
    struct ggml_init_params ip = { 64u << 20, NULL, false };
    struct ggml_context * ctx = ggml_init(ip);
    struct ggml_tensor * q = ggml_new_tensor_4d(ctx, GGML_TYPE_F32, 64, 5, 6, 1);
    struct ggml_tensor * k = ggml_new_tensor_4d(ctx, GGML_TYPE_F16, 64, 1500, 6, 1);
    struct ggml_tensor * v = ggml_new_tensor_4d(ctx, GGML_TYPE_F16, 64, 1500, 6, 1);
    for (int64_t i = 0; i < ggml_nelements(q); i++) ((float *) q->data)[i] = 2.0f*uniform();
    for (int64_t i = 0; i < ggml_nelements(k); i++) ((ggml_fp16_t *) k->data)[i] = ggml_fp32_to_fp16(2.0f*uniform());
    for (int64_t i = 0; i < ggml_nelements(v); i++) ((ggml_fp16_t *) v->data)[i] = ggml_fp32_to_fp16(uniform());
    struct ggml_tensor * out = ggml_flash_attn_ext(ctx, q, k, v, NULL, 0.125f, 0.0f, 0.0f);
    struct ggml_cgraph * gf = ggml_new_graph(ctx);
    ggml_build_forward_expand(gf, out);
    struct ggml_cplan plan = ggml_graph_plan(gf, 2, NULL);
    plan.work_data = malloc(plan.work_size + 1);
    double best[2] = { 1e9, 1e9 };
    for (int round = 0; round < 20; round++) {
        for (int ref = 0; ref < 2; ref++) {
            plan.use_ref = ref;
            const double t0 = now_s();
            for (int i = 0; i < 50; i++) ggml_graph_compute(gf, &plan);
            const double ms = (now_s() - t0)*1e3/50;
            if (ms < best[ref]) best[ref] = ms;
        }
    }
    printf("cross-attention, 5 queries x 1500 keys x 6 heads, 2 threads: patched %.3f ms, ggml %.3f ms (best of 20 x 50)\n", best[0], best[1]);
    free(plan.work_data);
    ggml_free(ctx);
    return 0;
}

int main(int argc, char ** argv) {
    ggml_cpu_init();
    if (argc > 1 && strcmp(argv[1], "bench") == 0) return bench();
    if (argc > 1 && strcmp(argv[1], "expf") == 0) return check_expf();
    const int n_qs[] = { 1, 2, 3, 5, 7, 17, 63 };
    const int n_kvs[] = { 1, 15, 16, 17, 100, 448, 1500 };
    const float spreads[] = { 0.5f, 2.0f, 8.0f };
    int runs = 0, bad = 0;
    double max_abs = 0.0;
    for (size_t a = 0; a < sizeof n_qs/sizeof *n_qs; a++)
    for (size_t b = 0; b < sizeof n_kvs/sizeof *n_kvs; b++)
    for (size_t c = 0; c < sizeof spreads/sizeof *spreads; c++) {
        for (int t = 1; t <= 2; t++) {
            // one query against 512 or more keys takes ggml's split-KV path, not either kernel
            if (n_qs[a] == 1 && n_kvs[b] >= 512) continue;
            runs++;
            if (!run(n_qs[a], n_kvs[b], 6, spreads[c], t, &max_abs)) {
                bad++;
                printf("DIFFERS: %d queries, %d keys, spread %g, %d threads\n", n_qs[a], n_kvs[b], spreads[c], t);
            }
        }
    }
    printf("%d of %d shapes bit-identical to ggml's kernel (largest difference %g)\n", runs - bad, runs, max_abs);
    return bad != 0;
}
