// Exhaustive check of whispercli patch 0004's vectorised expf (and patch 0025's AVX-512 form of it)
// against the C library's expf: every negative float with |x| < 88 (glibc's fast path; larger
// inputs call expf itself). The functions below are copied from patches/0004-sampling-same-draws-
// less-work.patch and patches/0025-sampling-expf-sixteen-at-a-time.patch.
//   gcc -O2 -o /tmp/check_vexpf benchmarks/check_vexpf.c -lm && /tmp/check_vexpf
// prints the number of values checked and mismatches; exit status 1 on any mismatch.
#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static const uint64_t wcli_exp2f_tab[32] = {
0x3ff0000000000000ULL, 0x3fefd9b0d3158574ULL, 0x3fefb5586cf9890fULL, 0x3fef9301d0125b51ULL,
0x3fef72b83c7d517bULL, 0x3fef54873168b9aaULL, 0x3fef387a6e756238ULL, 0x3fef1e9df51fdee1ULL,
0x3fef06fe0a31b715ULL, 0x3feef1a7373aa9cbULL, 0x3feedea64c123422ULL, 0x3feece086061892dULL,
0x3feebfdad5362a27ULL, 0x3feeb42b569d4f82ULL, 0x3feeab07dd485429ULL, 0x3feea47eb03a5585ULL,
0x3feea09e667f3bcdULL, 0x3fee9f75e8ec5f74ULL, 0x3feea11473eb0187ULL, 0x3feea589994cce13ULL,
0x3feeace5422aa0dbULL, 0x3feeb737b0cdc5e5ULL, 0x3feec49182a3f090ULL, 0x3feed503b23e255dULL,
0x3feee89f995ad3adULL, 0x3feeff76f2fb5e47ULL, 0x3fef199bdd85529cULL, 0x3fef3720dcef9069ULL,
0x3fef5818dcfba487ULL, 0x3fef7c97337b9b5fULL, 0x3fefa4afa2a490daULL, 0x3fefd0765b6e4540ULL,
};

__attribute__((target("avx2,fma")))
static inline __m128 wcli_expf4(__m128 x) {
    const __m256d xd     = _mm256_cvtps_pd(x);
    const __m256d invln2 = _mm256_set1_pd(0x1.71547652b82fep+5);
    const __m256d shift  = _mm256_set1_pd(0x1.8p+52);
    const __m256d kd0    = _mm256_fmadd_pd(invln2, xd, shift);
    const __m256i ki     = _mm256_castpd_si256(kd0);
    const __m256d kd     = _mm256_sub_pd(kd0, shift);
    const __m256d r      = _mm256_fmsub_pd(invln2, xd, kd);
    const __m256i idx    = _mm256_and_si256(ki, _mm256_set1_epi64x(31));
    const __m256i t      = _mm256_add_epi64(_mm256_i64gather_epi64((const long long *) wcli_exp2f_tab, idx, 8), _mm256_slli_epi64(ki, 47));
    const __m256d z      = _mm256_fmadd_pd(r, _mm256_set1_pd(0x1.c6af84b912394p-20), _mm256_set1_pd(0x1.ebfce50fac4f3p-13));
    const __m256d r2     = _mm256_mul_pd(r, r);
    __m256d y            = _mm256_fmadd_pd(r, _mm256_set1_pd(0x1.62e42ff0c52d6p-6), _mm256_set1_pd(1.0));
    y = _mm256_fmadd_pd(z, r2, y);
    y = _mm256_mul_pd(y, _mm256_castsi256_pd(t));
    return _mm256_cvtpd_ps(y);
}

static inline void wcli_exp_masked_scalar(const float * a, float b, const float * c, float * y, int n) {
    for (int i = 0; i < n; ++i) {
        y[i] = c[i] > -INFINITY ? expf(a[i] - b) : 0.0f;
    }
}

__attribute__((target("avx2,fma")))
static void wcli_exp_masked_avx2(const float * a, float b, const float * c, float * y, int n) {
    const __m256  vb     = _mm256_set1_ps(b);
    const __m256  ninf   = _mm256_set1_ps(-INFINITY);
    const __m256i absmsk = _mm256_set1_epi32(0x7fffffff);
    const __m256i lim    = _mm256_set1_epi32(0x42afffff); // |x| < 88: glibc's fast path
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 x    = _mm256_sub_ps(_mm256_loadu_ps(a + i), vb);
        const __m256 keep = _mm256_cmp_ps(_mm256_loadu_ps(c + i), ninf, _CMP_GT_OQ);
        const __m256i big = _mm256_cmpgt_epi32(_mm256_and_si256(_mm256_castps_si256(x), absmsk), lim);
        if (!_mm256_testz_si256(big, _mm256_castps_si256(keep))) {
            wcli_exp_masked_scalar(a + i, b, c + i, y + i, 8);
            continue;
        }
        const __m256 e = _mm256_set_m128(wcli_expf4(_mm256_extractf128_ps(x, 1)), wcli_expf4(_mm256_castps256_ps128(x)));
        _mm256_storeu_ps(y + i, _mm256_and_ps(e, keep));
    }
    wcli_exp_masked_scalar(a + i, b, c + i, y + i, n - i);
}


// patch 0025
__attribute__((target("avx512f")))
static inline __m256 wcli_expf8(__m256 x) {
    const __m512d xd     = _mm512_cvtps_pd(x);
    const __m512d invln2 = _mm512_set1_pd(0x1.71547652b82fep+5);
    const __m512d shift  = _mm512_set1_pd(0x1.8p+52);
    const __m512d kd0    = _mm512_fmadd_pd(invln2, xd, shift);
    const __m512i ki     = _mm512_castpd_si512(kd0);
    const __m512d kd     = _mm512_sub_pd(kd0, shift);
    const __m512d r      = _mm512_fmsub_pd(invln2, xd, kd);
    const __m512i idx    = _mm512_and_si512(ki, _mm512_set1_epi64(31));
    const __m512i t      = _mm512_add_epi64(_mm512_i64gather_epi64(idx, (const long long *) wcli_exp2f_tab, 8), _mm512_slli_epi64(ki, 47));
    const __m512d z      = _mm512_fmadd_pd(r, _mm512_set1_pd(0x1.c6af84b912394p-20), _mm512_set1_pd(0x1.ebfce50fac4f3p-13));
    const __m512d r2     = _mm512_mul_pd(r, r);
    __m512d y            = _mm512_fmadd_pd(r, _mm512_set1_pd(0x1.62e42ff0c52d6p-6), _mm512_set1_pd(1.0));
    y = _mm512_fmadd_pd(z, r2, y);
    y = _mm512_mul_pd(y, _mm512_castsi512_pd(t));
    return _mm512_cvtpd_ps(y);
}

__attribute__((target("avx512f")))
static void wcli_exp_masked_avx512(const float * a, float b, const float * c, float * y, int n) {
    const __m512  vb     = _mm512_set1_ps(b);
    const __m512  ninf   = _mm512_set1_ps(-INFINITY);
    const __m512i absmsk = _mm512_set1_epi32(0x7fffffff);
    const __m512i lim    = _mm512_set1_epi32(0x42afffff); // |x| < 88: glibc's fast path
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m512 x       = _mm512_sub_ps(_mm512_loadu_ps(a + i), vb);
        const __mmask16 keep = _mm512_cmp_ps_mask(_mm512_loadu_ps(c + i), ninf, _CMP_GT_OQ);
        const __mmask16 big  = _mm512_cmpgt_epi32_mask(_mm512_and_si512(_mm512_castps_si512(x), absmsk), lim);
        if (big & keep) {
            wcli_exp_masked_scalar(a + i, b, c + i, y + i, 16);
            continue;
        }
        const __m256 lo = wcli_expf8(_mm512_castps512_ps256(x));
        const __m256 hi = wcli_expf8(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(x), 1)));
        const __m512 e  = _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castps_pd(_mm512_castps256_ps512(lo)), _mm256_castps_pd(hi), 1));
        _mm512_storeu_ps(y + i, _mm512_maskz_mov_ps(keep, e));
    }
    wcli_exp_masked_scalar(a + i, b, c + i, y + i, n - i);
}

typedef void (*exp_masked_fn)(const float *, float, const float *, float *, int);

static uint64_t check(const char * name, exp_masked_fn fn) {
    uint64_t bad = 0, n = 0;
    float x[4096], c[4096], y[4096];
    memset(c, 0, sizeof(c));
    for (uint64_t u = 0x80000000u; u < 0x80000000u + 0x42b00000u; u += 4096) {
        const int m = (int) (0x80000000u + 0x42b00000u - u < 4096 ? 0x80000000u + 0x42b00000u - u : 4096);
        for (int k = 0; k < m; ++k) {
            const uint32_t b = (uint32_t) (u + k);
            memcpy(&x[k], &b, 4);
        }
        fn(x, 0.0f, c, y, m);
        for (int k = 0; k < m; ++k) {
            const float e = expf(x[k]);
            ++n;
            if (memcmp(&e, &y[k], 4) != 0) {
                if (bad++ < 5) printf("%s: mismatch at %a: %a, expf gives %a\n", name, x[k], y[k], e);
            }
        }
    }
    printf("%s: checked %llu values, %llu mismatches\n", name, (unsigned long long) n, (unsigned long long) bad);
    return bad;
}

int main(void) {
    uint64_t bad = 0;
    int kernels = 0;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        bad += check("avx2", wcli_exp_masked_avx2);
        kernels++;
    }
    if (__builtin_cpu_supports("avx512f")) {
        bad += check("avx512", wcli_exp_masked_avx512);
        kernels++;
    }
    if (kernels == 0) {
        printf("this CPU has neither AVX2+FMA nor AVX-512F: the patch calls expf here, nothing to check\n");
    }
    return bad != 0;
}
