// Patch 0019 check. Without arguments: ggml_im2col of f32 data into f16 columns (whisper's two
// convolutions, and 1D/2D shapes with padding, strides and dilations around the tile edges) with 1-3
// threads, every output element compared bit for bit with a plain loop over the same indices that
// converts with ggml_fp32_to_fp16 - what ggml's kernel stored before the patch. The data hold NaNs,
// infinities, subnormals and values that round to them. Exit status 1 on any difference.
// "round": vcvtps2ph (round to nearest even) against ggml_fp32_to_fp16 for every float that is not a
// NaN - the claim the patch's vector conversion rests on. Build against a patched build
// (tests/native/test_kernels.py does this):
//   B=<the patched build's directory, build/native-*>, S=<its patched source, build/src-*>
//   gcc -O2 -march=native benchmarks/check_im2col.c -I$S/ggml/include $B/ggml/src/libggml.a $B/ggml/src/libggml-cpu.a $B/ggml/src/libggml-base.a -lstdc++ -lgomp -lm -o /tmp/check_im2col
#include "ggml.h"
#include "ggml-cpu.h"
#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct shape {
    int is_2d, n, ic, ih, iw, kh, kw, s0, s1, p0, p1, d0, d1;
};

static uint32_t rng_state = 12345;

static uint32_t rnd(void) {
    rng_state = rng_state * 1664525u + 1013904223u;
    return rng_state >> 8;
}

static float value(void) {
    switch (rnd() % 64) {
        case 0: return NAN;
        case 1: return -INFINITY;
        case 2: return 1e-7f;      // an f16 subnormal
        case 3: return -70000.0f;  // past f16's range
        case 4: return 65519.0f;   // rounds to f16's largest
        case 5: {                  // a NaN with a payload, which vcvtps2ph would keep and ggml drops
            const uint32_t bits = 0xffc12345u;
            float f;
            memcpy(&f, &bits, sizeof f);
            return f;
        }
        default: return ((float) (rnd() % 2000001) - 1000000.0f) / 37.0f;
    }
}

// [N, IC, IH, IW] -> [N, OH, OW, IC*KH*KW], as ggml's im2col indexes it
static int check(const struct shape * s, int threads) {
    const int oh = s->is_2d ? (s->ih + 2*s->p1 - s->d1*(s->kh - 1) - 1)/s->s1 + 1 : 1;
    const int ow = (s->iw + 2*s->p0 - s->d0*(s->kw - 1) - 1)/s->s0 + 1;
    const size_t n_in = (size_t) s->n*s->ic*s->ih*s->iw;
    const size_t n_out = (size_t) s->n*oh*ow*s->ic*s->kh*s->kw;
    struct ggml_init_params ip = { n_in*4 + n_out*2 + (size_t) s->kw*s->kh*s->ic*2 + (16u << 20), NULL, false };
    struct ggml_context * ctx = ggml_init(ip);
    struct ggml_tensor * kernel = s->is_2d ? ggml_new_tensor_4d(ctx, GGML_TYPE_F16, s->kw, s->kh, s->ic, 1)
                                           : ggml_new_tensor_3d(ctx, GGML_TYPE_F16, s->kw, s->ic, 1);
    struct ggml_tensor * data = s->is_2d ? ggml_new_tensor_4d(ctx, GGML_TYPE_F32, s->iw, s->ih, s->ic, s->n)
                                         : ggml_new_tensor_3d(ctx, GGML_TYPE_F32, s->iw, s->ic, s->n);
    float * x = (float *) data->data;
    for (size_t i = 0; i < n_in; i++) {
        x[i] = value();
    }
    struct ggml_tensor * cols = ggml_im2col(ctx, kernel, data, s->s0, s->s1, s->p0, s->p1, s->d0, s->d1,
                                            s->is_2d, GGML_TYPE_F16);
    struct ggml_cgraph * gf = ggml_new_graph(ctx);
    ggml_build_forward_expand(gf, cols);
    if (ggml_graph_compute_with_ctx(ctx, gf, threads) != GGML_STATUS_SUCCESS) {
        printf("compute failed\n");
        ggml_free(ctx);
        return 0;
    }
    const ggml_fp16_t * got = (const ggml_fp16_t *) cols->data;
    int ok = (size_t) ggml_nelements(cols) == n_out;
    for (int in = 0; in < s->n && ok; in++)
    for (int ioh = 0; ioh < oh && ok; ioh++)
    for (int iow = 0; iow < ow && ok; iow++)
    for (int iic = 0; iic < s->ic && ok; iic++)
    for (int ikh = 0; ikh < s->kh && ok; ikh++)
    for (int ikw = 0; ikw < s->kw && ok; ikw++) {
        const int iiw = iow*s->s0 + ikw*s->d0 - s->p0;
        const int iih = s->is_2d ? ioh*s->s1 + ikh*s->d1 - s->p1 : 0;
        ggml_fp16_t want = 0;
        if (iih >= 0 && iih < s->ih && iiw >= 0 && iiw < s->iw) {
            want = ggml_fp32_to_fp16(x[(((size_t) in*s->ic + iic)*s->ih + iih)*s->iw + iiw]);
        }
        const size_t at = (((size_t) in*oh + ioh)*ow + iow)*(s->ic*s->kh*s->kw) + (iic*s->kh + ikh)*s->kw + ikw;
        if (memcmp(&got[at], &want, sizeof want) != 0) {
            printf("differs: shape %dD ic %d iw %d kw %d s0 %d p0 %d d0 %d, %d threads, at %zu: %04x, want %04x\n",
                   s->is_2d ? 2 : 1, s->ic, s->iw, s->kw, s->s0, s->p0, s->d0, threads, at, got[at], want);
            ok = 0;
        }
    }
    ggml_free(ctx);
    return ok;
}

static int check_rounding(void) {
#if !defined(__AVX512F__)
    printf("built without AVX-512: nothing to compare\n");
    return 0;
#else
    uint64_t checked = 0, differ = 0;
    for (uint64_t b = 0; b < (1ull << 32); b += 16) {
        uint32_t in[16];
        uint16_t out[16];
        for (int i = 0; i < 16; i++) {
            in[i] = (uint32_t) (b + i);
        }
        __m512 v;
        memcpy(&v, in, sizeof v);
        const __m256i h = _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        memcpy(out, &h, sizeof out);
        for (int i = 0; i < 16; i++) {
            float f;
            memcpy(&f, &in[i], sizeof f);
            if (isnan(f)) {
                continue;
            }
            checked++;
            if (out[i] != ggml_fp32_to_fp16(f)) {
                differ++;
            }
        }
    }
    printf("%llu floats (all but NaNs): %llu differ\n", (unsigned long long) checked, (unsigned long long) differ);
    return differ == 0;
#endif
}

int main(int argc, char ** argv) {
    if (argc > 1 && strcmp(argv[1], "round") == 0) {
        return check_rounding() ? 0 : 1;
    }
    const struct shape shapes[] = {
        // whisper's convolutions: 80 mel bins x 3000 frames, kernel 3, pad 1; then stride 2
        { 0, 1, 80, 1, 3000, 1, 3, 1, 0, 1, 0, 1, 1 },
        { 0, 1, 384, 1, 3000, 1, 3, 2, 0, 1, 0, 1, 1 },
        // tile edges, wider spans, dilation, no padding, more padding, several batches
        { 0, 2, 7, 1, 33, 1, 3, 1, 0, 1, 0, 1, 1 },
        { 0, 1, 5, 1, 100, 1, 5, 3, 0, 2, 0, 2, 1 },
        { 0, 1, 3, 1, 1000, 1, 9, 8, 0, 4, 0, 1, 1 },
        { 0, 3, 4, 1, 65, 1, 1, 1, 0, 0, 0, 1, 1 },
        { 0, 1, 6, 1, 500, 1, 7, 1, 0, 9, 0, 3, 1 },
        // 2D (the loop the patch leaves as it was)
        { 1, 1, 3, 17, 19, 3, 3, 1, 2, 1, 1, 1, 1 },
        { 1, 2, 2, 9, 40, 2, 4, 2, 1, 0, 2, 1, 2 },
    };
    const int n_shapes = (int) (sizeof shapes / sizeof shapes[0]);
    int passed = 0, total = 0;
    for (int i = 0; i < n_shapes; i++) {
        for (int threads = 1; threads <= 3; threads++) {
            total++;
            passed += check(&shapes[i], threads);
        }
    }
    printf("%d of %d im2col runs bit-identical\n", passed, total);
    return passed == total ? 0 : 1;
}
