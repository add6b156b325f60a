// Patch 0011 check: every float bit pattern through the vector GELU lookup and through ggml's scalar loop
// (x86-64 with AVX-512): gcc -O2 -march=native benchmarks/check_gelu.c -o /tmp/check_gelu && /tmp/check_gelu
#include <immintrin.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
static uint16_t table[1 << 16];
static void scalar(int n, float *y, const float *x) {
    for (int i = 0; i < n; ++i) {
        if (x[i] <= -10.0f) y[i] = 0.0f;
        else if (x[i] >= 10.0f) y[i] = x[i];
        else { uint16_t t = _cvtss_sh(x[i], 0); y[i] = _cvtsh_ss(table[t]); }
    }
}
static void vector(int n, float *y, const float *x) {
    int i = 0;
    const __m512 lo = _mm512_set1_ps(-10.0f), hi = _mm512_set1_ps(10.0f);
    for (; i + 16 <= n; i += 16) {
        const __m512 v = _mm512_loadu_ps(x + i);
        if (_mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q)) break;
        const __mmask16 small = _mm512_cmp_ps_mask(v, lo, _CMP_LE_OQ);
        const __mmask16 big = _mm512_cmp_ps_mask(v, hi, _CMP_GE_OQ);
        const __mmask16 mid = (__mmask16) ~(small | big);
        const __m512i idx = _mm512_cvtepu16_epi32(_mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT));
        const __m512i g = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), mid, idx, table, 2);
        __m512 r = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(g));
        r = _mm512_mask_mov_ps(r, big, v);
        r = _mm512_mask_mov_ps(r, small, _mm512_setzero_ps());
        _mm512_storeu_ps(y + i, r);
    }
    scalar(n - i, y + i, x + i);
}
int main(void) {
    for (uint32_t i = 0; i < (1u << 16); i++) table[i] = (uint16_t)(i * 40503u ^ 0x3c00);  // any content: lookups must agree
    enum { N = 4096 };
    static float x[N], a[N], b[N];
    uint64_t bad = 0;
    for (uint64_t base = 0; base < (1ull << 32); base += N) {
        for (int j = 0; j < N; j++) { uint32_t u = (uint32_t)(base + j); memcpy(&x[j], &u, 4); }
        scalar(N, a, x); vector(N, b, x);
        if (memcmp(a, b, sizeof a)) {
            for (int j = 0; j < N; j++) if (memcmp(&a[j], &b[j], 4)) { if (bad < 5) printf("differs at %08x\n", (uint32_t)(base + j)); bad++; }
        }
    }
    printf("%llu of 2^32 differ\n", (unsigned long long)bad);
    return bad != 0;
}
