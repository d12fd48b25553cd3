// Convolution gradient kernels for Pawprint's WebAssembly training backend (issue 16), in C with WebAssembly
// SIMD (128-bit), compiled by scripts/build-native.mjs with clang + wasm-ld into native/build/conv-kernels.wasm
// and, with relaxed SIMD, conv-kernels-relaxed.wasm (see MADD).
//
// The module has no memory of its own: it imports tfjs-backend-wasm's memory, so it reads and writes tensors
// where the backend keeps them (no copies). For that it must never touch memory it does not own: no data
// segments, no shadow stack (no arrays on the stack), no libc. Pointers are byte offsets into that heap.
// All layouts are NHWC / HWIO (tfjs's defaults).
#include <wasm_simd128.h>

typedef int i32;

#define EXPORT(name) __attribute__((export_name(name)))
#define INLINE static inline __attribute__((always_inline))

// acc + x * y. Built twice (scripts/build-native.mjs): with plain SIMD a multiply then an add, rounded twice, the
// same on every machine; with relaxed SIMD (-mrelaxed-simd, conv-kernels-relaxed.wasm) one f32x4.relaxed_madd, which
// V8 turns into a fused multiply-add where the CPU has one: half the arithmetic instructions of the inner loops
// (about 1.2x per training step here), rounded once, so its last bits may differ between machines with and without FMA.
#ifdef __wasm_relaxed_simd__
#define MADD(x, y, acc) ((v128_t)__builtin_wasm_relaxed_madd_f32x4((__f32x4)(x), (__f32x4)(y), (__f32x4)(acc)))
#else
#define MADD(x, y, acc) wasm_f32x4_add((acc), wasm_f32x4_mul((x), (y)))
#endif

INLINE i32 max_i(i32 a, i32 b) { return a > b ? a : b; }
INLINE i32 min_i(i32 a, i32 b) { return a < b ? a : b; }
/** floor(a / b) for b > 0 and any sign of a. */
INLINE i32 floor_div(i32 a, i32 b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

// One strip: `count` output columns of one output row against one filter tap (kh, kw). For TC input channels
// starting at ci and 8 output channels starting at co, sums x[ow][ci+j] * dy[ow][co..co+7] over the strip in
// registers (TC x 2 vectors), then adds the sums into dw once. TC is a compile-time constant (1..4).
INLINE void strip_tile8(i32 tc, const float *xs, i32 xstep, const float *ds, i32 dstep, i32 count, float *dwk, i32 ci, i32 co, i32 CO) {
  v128_t a00 = wasm_f32x4_splat(0), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
  const float *xp = xs + ci;
  const float *dp = ds + co;
  for (i32 i = 0; i < count; i++, xp += xstep, dp += dstep) {
    v128_t d0 = wasm_v128_load(dp);
    v128_t d1 = wasm_v128_load(dp + 4);
    v128_t x0 = wasm_f32x4_splat(xp[0]);
    a00 = MADD(x0, d0, a00);
    a01 = MADD(x0, d1, a01);
    if (tc > 1) {
      v128_t x1 = wasm_f32x4_splat(xp[1]);
      a10 = MADD(x1, d0, a10);
      a11 = MADD(x1, d1, a11);
    }
    if (tc > 2) {
      v128_t x2 = wasm_f32x4_splat(xp[2]);
      a20 = MADD(x2, d0, a20);
      a21 = MADD(x2, d1, a21);
    }
    if (tc > 3) {
      v128_t x3 = wasm_f32x4_splat(xp[3]);
      a30 = MADD(x3, d0, a30);
      a31 = MADD(x3, d1, a31);
    }
  }
  float *o = dwk + ci * CO + co;
  wasm_v128_store(o, wasm_f32x4_add(wasm_v128_load(o), a00));
  wasm_v128_store(o + 4, wasm_f32x4_add(wasm_v128_load(o + 4), a01));
  if (tc > 1) {
    o += CO;
    wasm_v128_store(o, wasm_f32x4_add(wasm_v128_load(o), a10));
    wasm_v128_store(o + 4, wasm_f32x4_add(wasm_v128_load(o + 4), a11));
  }
  if (tc > 2) {
    o += CO;
    wasm_v128_store(o, wasm_f32x4_add(wasm_v128_load(o), a20));
    wasm_v128_store(o + 4, wasm_f32x4_add(wasm_v128_load(o + 4), a21));
  }
  if (tc > 3) {
    o += CO;
    wasm_v128_store(o, wasm_f32x4_add(wasm_v128_load(o), a30));
    wasm_v128_store(o + 4, wasm_f32x4_add(wasm_v128_load(o + 4), a31));
  }
}

/** Output channels co..CO-1 that do not fill a group of 8: plain scalar sums. */
static void strip_scalar(const float *xs, i32 xstep, const float *ds, i32 dstep, i32 count, float *dwk, i32 C, i32 co0, i32 CO) {
  for (i32 ci = 0; ci < C; ci++) {
    for (i32 co = co0; co < CO; co++) {
      float acc = 0;
      const float *xp = xs + ci;
      const float *dp = ds + co;
      for (i32 i = 0; i < count; i++, xp += xstep, dp += dstep) acc += xp[0] * dp[0];
      dwk[ci * CO + co] += acc;
    }
  }
}

/**
 * dW[kh][kw][ci][co] = sum over n, oh, ow of x[n][oh*SH+kh-PT][ow*SW+kw-PL][ci] * dy[n][oh][ow][co]
 * (taps outside the input are zero padding). x: [N,H,W,C], dy: [N,OH,OW,CO], dw: [FH,FW,C,CO], undilated.
 * Walks one output row at a time so the row of dy and the input rows it meets stay in L1 while every tap and
 * channel tile reuses them; sums over a row are kept in registers and added to dw once per row.
 */
EXPORT("conv2d_backprop_filter")
void conv2d_backprop_filter(const float *x, const float *dy, float *dw, i32 N, i32 H, i32 W, i32 C, i32 OH, i32 OW,
                            i32 CO, i32 FH, i32 FW, i32 SH, i32 SW, i32 PT, i32 PL) {
  const i32 total = FH * FW * C * CO;
  for (i32 i = 0; i < total; i++) dw[i] = 0;
  const i32 co8 = CO - CO % 8;
  for (i32 n = 0; n < N; n++) {
    for (i32 oh = 0; oh < OH; oh++) {
      const float *dyrow = dy + ((n * OH + oh) * OW) * CO;
      for (i32 kh = 0; kh < FH; kh++) {
        const i32 ih = oh * SH + kh - PT;
        if (ih < 0 || ih >= H) continue;
        const float *xrow = x + ((n * H + ih) * W) * C;
        for (i32 kw = 0; kw < FW; kw++) {
          // Output columns whose input column ow*SW + kw - PL lies inside the image.
          const i32 lo = max_i(0, floor_div(PL - kw + SW - 1, SW));
          const i32 hi = min_i(OW, floor_div(W - 1 + PL - kw, SW) + 1);
          if (lo >= hi) continue;
          const i32 count = hi - lo;
          const float *xs = xrow + (lo * SW + kw - PL) * C;
          const float *ds = dyrow + lo * CO;
          float *dwk = dw + (kh * FW + kw) * C * CO;
          const i32 xstep = SW * C;
          for (i32 co = 0; co < co8; co += 8) {
            i32 ci = 0;
            for (; ci + 4 <= C; ci += 4) strip_tile8(4, xs, xstep, ds, CO, count, dwk, ci, co, CO);
            switch (C - ci) {
              case 3: strip_tile8(3, xs, xstep, ds, CO, count, dwk, ci, co, CO); break;
              case 2: strip_tile8(2, xs, xstep, ds, CO, count, dwk, ci, co, CO); break;
              case 1: strip_tile8(1, xs, xstep, ds, CO, count, dwk, ci, co, CO); break;
              default: break;
            }
          }
          if (co8 < CO) strip_scalar(xs, xstep, ds, CO, count, dwk, C, co8, CO);
        }
      }
    }
  }
}

// Forward: register tiles of 4 output columns x 8 output channels (8 accumulators) summed over every filter
// tap and input channel, then stored once. With stride 1 a tap row's (kw, ci) pairs are contiguous in both x and
// w, so they run as one loop of FW*C; otherwise kw and ci loop separately. Columns whose taps all lie inside
// the image go through fwd_block4; the few at the padded borders through fwd_column (bounds-checked).
INLINE void fwd_block4(const float *x, const float *w, float *y, i32 n, i32 oh, i32 ow, i32 co,
                       i32 H, i32 W, i32 C, i32 OH, i32 OW, i32 CO, i32 FH, i32 FW, i32 SH, i32 SW, i32 PT, i32 PL) {
  (void)OH;
  v128_t a00 = wasm_f32x4_splat(0), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
  const i32 merged = SW == 1;
  const i32 K = merged ? FW * C : C;
  const i32 groups = merged ? 1 : FW;
  const i32 xcol = SW * C;
  for (i32 kh = 0; kh < FH; kh++) {
    const i32 ih = oh * SH + kh - PT;
    if (ih < 0 || ih >= H) continue;
    const float *xrow = x + ((n * H + ih) * W) * C;
    for (i32 g = 0; g < groups; g++) {
      const float *x0 = xrow + (ow * SW + g - PL) * C;
      const float *x1 = x0 + xcol, *x2 = x1 + xcol, *x3 = x2 + xcol;
      const float *wp = w + ((kh * FW + g) * C) * CO + co;
      for (i32 k = 0; k < K; k++, wp += CO) {
        const v128_t w0 = wasm_v128_load(wp), w1 = wasm_v128_load(wp + 4);
        v128_t s = wasm_f32x4_splat(x0[k]);
        a00 = MADD(s, w0, a00);
        a01 = MADD(s, w1, a01);
        s = wasm_f32x4_splat(x1[k]);
        a10 = MADD(s, w0, a10);
        a11 = MADD(s, w1, a11);
        s = wasm_f32x4_splat(x2[k]);
        a20 = MADD(s, w0, a20);
        a21 = MADD(s, w1, a21);
        s = wasm_f32x4_splat(x3[k]);
        a30 = MADD(s, w0, a30);
        a31 = MADD(s, w1, a31);
      }
    }
  }
  float *yp = y + ((n * OH + oh) * OW + ow) * CO + co;
  wasm_v128_store(yp, a00);
  wasm_v128_store(yp + 4, a01);
  wasm_v128_store(yp + CO, a10);
  wasm_v128_store(yp + CO + 4, a11);
  wasm_v128_store(yp + 2 * CO, a20);
  wasm_v128_store(yp + 2 * CO + 4, a21);
  wasm_v128_store(yp + 3 * CO, a30);
  wasm_v128_store(yp + 3 * CO + 4, a31);
}

static void fwd_column(const float *x, const float *w, float *y, i32 n, i32 oh, i32 ow, i32 co,
                       i32 H, i32 W, i32 C, i32 OH, i32 OW, i32 CO, i32 FH, i32 FW, i32 SH, i32 SW, i32 PT, i32 PL) {
  v128_t a0 = wasm_f32x4_splat(0), a1 = a0;
  for (i32 kh = 0; kh < FH; kh++) {
    const i32 ih = oh * SH + kh - PT;
    if (ih < 0 || ih >= H) continue;
    for (i32 kw = 0; kw < FW; kw++) {
      const i32 iw = ow * SW + kw - PL;
      if (iw < 0 || iw >= W) continue;
      const float *xp = x + ((n * H + ih) * W + iw) * C;
      const float *wp = w + ((kh * FW + kw) * C) * CO + co;
      for (i32 ci = 0; ci < C; ci++, wp += CO) {
        const v128_t s = wasm_f32x4_splat(xp[ci]);
        a0 = MADD(s, wasm_v128_load(wp), a0);
        a1 = MADD(s, wasm_v128_load(wp + 4), a1);
      }
    }
  }
  float *yp = y + ((n * OH + oh) * OW + ow) * CO + co;
  wasm_v128_store(yp, a0);
  wasm_v128_store(yp + 4, a1);
}

/**
 * y[n][oh][ow][co] = sum over kh, kw, ci of x[n][oh*SH+kh-PT][ow*SW+kw-PL][ci] * w[kh][kw][ci][co], taps outside
 * the input being zero padding. x: [N,H,W,C], w: [FH,FW,C,CO], y: [N,OH,OW,CO] (OH, OW given by the caller, so a
 * "full" correlation for the input gradient works too), undilated, CO a multiple of 8 (callers check).
 */
EXPORT("conv2d_forward")
void conv2d_forward(const float *x, const float *w, float *y, i32 N, i32 H, i32 W, i32 C, i32 OH, i32 OW, i32 CO,
                    i32 FH, i32 FW, i32 SH, i32 SW, i32 PT, i32 PL) {
  // Interior columns: ow*SW - PL >= 0 and ow*SW - PL + FW - 1 <= W - 1.
  const i32 first = min_i(OW, max_i(0, floor_div(PL + SW - 1, SW)));
  const i32 last = min_i(OW, max_i(first, floor_div(W - FW + PL, SW) + 1));
  for (i32 n = 0; n < N; n++) {
    for (i32 oh = 0; oh < OH; oh++) {
      for (i32 co = 0; co + 8 <= CO; co += 8) {
        i32 ow = 0;
        for (; ow < first; ow++) fwd_column(x, w, y, n, oh, ow, co, H, W, C, OH, OW, CO, FH, FW, SH, SW, PT, PL);
        for (; ow + 4 <= last; ow += 4) fwd_block4(x, w, y, n, oh, ow, co, H, W, C, OH, OW, CO, FH, FW, SH, SW, PT, PL);
        for (; ow < OW; ow++) fwd_column(x, w, y, n, oh, ow, co, H, W, C, OH, OW, CO, FH, FW, SH, SW, PT, PL);
      }
    }
  }
}

/**
 * Gradient of a 2x2, stride 2, unpadded max pool: each window's dy goes to its first maximum in row-major
 * order with a strict '>' from -Infinity (the CPU backend's rule: ties go to the first, NaN is never a maximum,
 * an all -Infinity window gets nothing). x, dx: [N,H,W,C], dy: [N,OH,OW,C], C a multiple of 4 (callers check).
 * Every dx element is written (zeros where no gradient goes), four channels at a time.
 */
EXPORT("max_pool_grad_2x2")
void max_pool_grad_2x2(const float *x, const float *dy, float *dx, i32 N, i32 H, i32 W, i32 C, i32 OH, i32 OW) {
  const v128_t zero = wasm_f32x4_splat(0);
  const v128_t none = wasm_i32x4_splat(-1);
  const i32 row = W * C;
  for (i32 i = 0; i < N * H * W * C; i += 4) wasm_v128_store(dx + i, zero);
  for (i32 n = 0; n < N; n++) {
    for (i32 oh = 0; oh < OH; oh++) {
      for (i32 ow = 0; ow < OW; ow++) {
        const i32 p00 = ((n * H + 2 * oh) * W + 2 * ow) * C;
        const float *g = dy + ((n * OH + oh) * OW + ow) * C;
        for (i32 c = 0; c < C; c += 4) {
          const v128_t a = wasm_v128_load(x + p00 + c), b = wasm_v128_load(x + p00 + C + c);
          const v128_t d = wasm_v128_load(x + p00 + row + c), e = wasm_v128_load(x + p00 + row + C + c);
          v128_t best = wasm_f32x4_splat(-__builtin_inff());
          v128_t which = none;
          v128_t m = wasm_f32x4_gt(a, best);
          best = wasm_v128_bitselect(a, best, m);
          which = wasm_v128_bitselect(wasm_i32x4_splat(0), which, m);
          m = wasm_f32x4_gt(b, best);
          best = wasm_v128_bitselect(b, best, m);
          which = wasm_v128_bitselect(wasm_i32x4_splat(1), which, m);
          m = wasm_f32x4_gt(d, best);
          best = wasm_v128_bitselect(d, best, m);
          which = wasm_v128_bitselect(wasm_i32x4_splat(2), which, m);
          m = wasm_f32x4_gt(e, best);
          which = wasm_v128_bitselect(wasm_i32x4_splat(3), which, m);
          const v128_t gv = wasm_v128_load(g + c);
          wasm_v128_store(dx + p00 + c, wasm_v128_and(gv, wasm_i32x4_eq(which, wasm_i32x4_splat(0))));
          wasm_v128_store(dx + p00 + C + c, wasm_v128_and(gv, wasm_i32x4_eq(which, wasm_i32x4_splat(1))));
          wasm_v128_store(dx + p00 + row + c, wasm_v128_and(gv, wasm_i32x4_eq(which, wasm_i32x4_splat(2))));
          wasm_v128_store(dx + p00 + row + C + c, wasm_v128_and(gv, wasm_i32x4_eq(which, wasm_i32x4_splat(3))));
        }
      }
    }
  }
}

// Dense layers (issue 16): the cnn presets' first Dense layer multiplies [batch, 10,368..36,992] by
// [inputs, 128..256]. tfjs-backend-wasm's BatchMatMul re-packs the weights on every call (~0.2 s at 16x10368x128
// where the arithmetic is ~5 ms), so its three products run here instead:
//   forward      y  = x . W       matmul_nn with A = x   (A[m][k] at m*K + k)
//   kernel grad  dW = x^T . dy    matmul_nn with A = x^T (A[m][k] at k*M + m, i.e. read x transposed)
//   input grad   dx = dy . W^T    matmul_nt (dot products of contiguous rows)

// Rows m0..m0+1 (or just m0 when `two` is 0) x 16 columns n..n+15 of C += A . B over k in [k0, k1), in registers.
INLINE void nn_tile2x16(i32 two, const float *A, i32 sam, i32 sak, const float *B, float *C, i32 N, i32 m0, i32 n, i32 k0, i32 k1) {
  float *c0 = C + m0 * N + n;
  float *c1 = c0 + N;
  v128_t a00 = wasm_v128_load(c0), a01 = wasm_v128_load(c0 + 4), a02 = wasm_v128_load(c0 + 8), a03 = wasm_v128_load(c0 + 12);
  v128_t a10 = a00, a11 = a01, a12 = a02, a13 = a03;
  if (two) {
    a10 = wasm_v128_load(c1); a11 = wasm_v128_load(c1 + 4); a12 = wasm_v128_load(c1 + 8); a13 = wasm_v128_load(c1 + 12);
  }
  const float *ap0 = A + m0 * sam + k0 * sak;
  const float *ap1 = ap0 + sam;
  const float *bp = B + k0 * N + n;
  for (i32 k = k0; k < k1; k++, ap0 += sak, ap1 += sak, bp += N) {
    const v128_t b0 = wasm_v128_load(bp), b1 = wasm_v128_load(bp + 4), b2 = wasm_v128_load(bp + 8), b3 = wasm_v128_load(bp + 12);
    const v128_t s0 = wasm_f32x4_splat(ap0[0]);
    a00 = MADD(s0, b0, a00);
    a01 = MADD(s0, b1, a01);
    a02 = MADD(s0, b2, a02);
    a03 = MADD(s0, b3, a03);
    if (two) {
      const v128_t s1 = wasm_f32x4_splat(ap1[0]);
      a10 = MADD(s1, b0, a10);
      a11 = MADD(s1, b1, a11);
      a12 = MADD(s1, b2, a12);
      a13 = MADD(s1, b3, a13);
    }
  }
  wasm_v128_store(c0, a00); wasm_v128_store(c0 + 4, a01); wasm_v128_store(c0 + 8, a02); wasm_v128_store(c0 + 12, a03);
  if (two) {
    wasm_v128_store(c1, a10); wasm_v128_store(c1 + 4, a11); wasm_v128_store(c1 + 8, a12); wasm_v128_store(c1 + 12, a13);
  }
}

/**
 * C[M][N] = A . B with B: [K][N] row-major and A read as A[m][k] = A[m*sam + k*sak] (sam = K, sak = 1 for A
 * row-major; sam = 1, sak = M for A stored transposed as [K][M]). Walks K in blocks so a block of B stays in
 * L2 while every row pair of A passes over it; 2 rows x 16 columns per register tile, scalar columns past
 * the last multiple of 16.
 */
EXPORT("matmul_nn")
void matmul_nn(const float *A, const float *B, float *C, i32 M, i32 K, i32 N, i32 sam, i32 sak) {
  const i32 KB = 256;
  const i32 n16 = N - N % 16;
  for (i32 i = 0; i < M * N; i++) C[i] = 0;
  for (i32 k0 = 0; k0 < K; k0 += KB) {
    const i32 k1 = min_i(K, k0 + KB);
    i32 m = 0;
    for (; m + 2 <= M; m += 2) {
      for (i32 n = 0; n < n16; n += 16) nn_tile2x16(1, A, sam, sak, B, C, N, m, n, k0, k1);
    }
    if (m < M) {
      for (i32 n = 0; n < n16; n += 16) nn_tile2x16(0, A, sam, sak, B, C, N, m, n, k0, k1);
    }
    for (i32 mm = 0; mm < M; mm++) {
      for (i32 n = n16; n < N; n++) {
        float acc = 0;
        for (i32 k = k0; k < k1; k++) acc += A[mm * sam + k * sak] * B[k * N + n];
        C[mm * N + n] += acc;
      }
    }
  }
}

INLINE float hsum(v128_t v) {
  return wasm_f32x4_extract_lane(v, 0) + wasm_f32x4_extract_lane(v, 1) + wasm_f32x4_extract_lane(v, 2) + wasm_f32x4_extract_lane(v, 3);
}

/**
 * C[M][N] = A . B^T with A: [M][K] and B: [N][K] row-major: every entry a dot product of two contiguous rows,
 * 2 rows of A x 4 rows of B per register tile (each A vector load serves 4 products, each B load 2).
 */
EXPORT("matmul_nt")
void matmul_nt(const float *A, const float *B, float *C, i32 M, i32 K, i32 N) {
  const i32 k4 = K - K % 4;
  for (i32 m = 0; m < M; m += 2) {
    const i32 two = m + 1 < M;
    const float *a0 = A + m * K;
    const float *a1 = two ? a0 + K : a0;
    i32 n = 0;
    for (; n + 4 <= N; n += 4) {
      const float *b0 = B + n * K, *b1 = b0 + K, *b2 = b1 + K, *b3 = b2 + K;
      v128_t s00 = wasm_f32x4_splat(0), s01 = s00, s02 = s00, s03 = s00, s10 = s00, s11 = s00, s12 = s00, s13 = s00;
      for (i32 k = 0; k < k4; k += 4) {
        const v128_t x0 = wasm_v128_load(a0 + k), x1 = wasm_v128_load(a1 + k);
        v128_t w = wasm_v128_load(b0 + k);
        s00 = MADD(x0, w, s00);
        s10 = MADD(x1, w, s10);
        w = wasm_v128_load(b1 + k);
        s01 = MADD(x0, w, s01);
        s11 = MADD(x1, w, s11);
        w = wasm_v128_load(b2 + k);
        s02 = MADD(x0, w, s02);
        s12 = MADD(x1, w, s12);
        w = wasm_v128_load(b3 + k);
        s03 = MADD(x0, w, s03);
        s13 = MADD(x1, w, s13);
      }
      float r00 = hsum(s00), r01 = hsum(s01), r02 = hsum(s02), r03 = hsum(s03);
      float r10 = hsum(s10), r11 = hsum(s11), r12 = hsum(s12), r13 = hsum(s13);
      for (i32 k = k4; k < K; k++) {
        r00 += a0[k] * b0[k]; r01 += a0[k] * b1[k]; r02 += a0[k] * b2[k]; r03 += a0[k] * b3[k];
        r10 += a1[k] * b0[k]; r11 += a1[k] * b1[k]; r12 += a1[k] * b2[k]; r13 += a1[k] * b3[k];
      }
      float *c0 = C + m * N + n;
      c0[0] = r00; c0[1] = r01; c0[2] = r02; c0[3] = r03;
      if (two) {
        float *c1 = c0 + N;
        c1[0] = r10; c1[1] = r11; c1[2] = r12; c1[3] = r13;
      }
    }
    for (; n < N; n++) {
      const float *b = B + n * K;
      float r0 = 0, r1 = 0;
      for (i32 k = 0; k < K; k++) { r0 += a0[k] * b[k]; r1 += a1[k] * b[k]; }
      C[m * N + n] = r0;
      if (two) C[(m + 1) * N + n] = r1;
    }
  }
}

/**
 * y[r][c] = x[r][c] + b[c] for r < rows, c < C (C a multiple of 4; callers check): a layer's bias added to
 * every pixel of an NHWC activation. tfjs-backend-wasm's general broadcasting Add takes about two memory passes
 * of time for this (~25 ms CPU for 16x158x158x32); one streaming pass here.
 */
EXPORT("add_channel_bias")
void add_channel_bias(const float *x, const float *b, float *y, i32 rows, i32 C) {
  if (C == 32) {
    // The presets' convolutions: the bias in eight registers for the whole tensor.
    const v128_t b0 = wasm_v128_load(b), b1 = wasm_v128_load(b + 4), b2 = wasm_v128_load(b + 8), b3 = wasm_v128_load(b + 12);
    const v128_t b4 = wasm_v128_load(b + 16), b5 = wasm_v128_load(b + 20), b6 = wasm_v128_load(b + 24), b7 = wasm_v128_load(b + 28);
    for (i32 r = 0; r < rows; r++, x += 32, y += 32) {
      wasm_v128_store(y, wasm_f32x4_add(wasm_v128_load(x), b0));
      wasm_v128_store(y + 4, wasm_f32x4_add(wasm_v128_load(x + 4), b1));
      wasm_v128_store(y + 8, wasm_f32x4_add(wasm_v128_load(x + 8), b2));
      wasm_v128_store(y + 12, wasm_f32x4_add(wasm_v128_load(x + 12), b3));
      wasm_v128_store(y + 16, wasm_f32x4_add(wasm_v128_load(x + 16), b4));
      wasm_v128_store(y + 20, wasm_f32x4_add(wasm_v128_load(x + 20), b5));
      wasm_v128_store(y + 24, wasm_f32x4_add(wasm_v128_load(x + 24), b6));
      wasm_v128_store(y + 28, wasm_f32x4_add(wasm_v128_load(x + 28), b7));
    }
    return;
  }
  for (i32 r = 0; r < rows; r++, x += C, y += C) {
    for (i32 c = 0; c < C; c += 4) wasm_v128_store(y + c, wasm_f32x4_add(wasm_v128_load(x + c), wasm_v128_load(b + c)));
  }
}

// Fused pointwise convolution (issue 16, the frozen MobileNetV2 forward): a 1x1, stride-1 conv is the product of
// the [pixels, C] input and the [C, CO] filter, with the bias and the activation applied in registers before the
// one store. Most of MobileNetV2's arithmetic is here (its expand and project layers), where XNNPACK's fused conv
// ran at 19-26 GFLOP/s and this at 28-39. Tiles of 2 pixels x 16 output channels (8 accumulators; 3 pixels, 12
// accumulators, spilled registers and measured slower), 2 x 8 for a last group of 8 channels.
// act: 0 none, 1 relu, 2 relu6 (tfjs's clip to [0, 6]); pmax / pmin keep a NaN, as the CPU backend does.
INLINE v128_t activate(v128_t v, i32 act) {
  if (act >= 1) v = wasm_f32x4_pmax(v, wasm_f32x4_splat(0));
  if (act == 2) v = wasm_f32x4_pmin(v, wasm_f32x4_splat(6));
  return v;
}

// Pixels m, m + 1 (just m when `two` is 0) x 4V output channels from co (V = 2 or 4, a compile-time constant).
INLINE void pw_tile(i32 two, i32 V, const float *x, const float *w, const float *b, float *y, i32 K, i32 CO, i32 m, i32 co, i32 act) {
  const v128_t zero = wasm_f32x4_splat(0);
  v128_t b0 = zero, b1 = zero, b2 = zero, b3 = zero;
  if (b) {
    b0 = wasm_v128_load(b + co);
    b1 = wasm_v128_load(b + co + 4);
    if (V > 2) { b2 = wasm_v128_load(b + co + 8); b3 = wasm_v128_load(b + co + 12); }
  }
  v128_t a00 = b0, a01 = b1, a02 = b2, a03 = b3;
  v128_t a10 = b0, a11 = b1, a12 = b2, a13 = b3;
  const float *x0 = x + m * K, *x1 = two ? x0 + K : x0;
  const float *wp = w + co;
  for (i32 k = 0; k < K; k++, wp += CO) {
    const v128_t w0 = wasm_v128_load(wp), w1 = wasm_v128_load(wp + 4);
    v128_t w2 = zero, w3 = zero;
    if (V > 2) { w2 = wasm_v128_load(wp + 8); w3 = wasm_v128_load(wp + 12); }
    const v128_t s0 = wasm_f32x4_splat(x0[k]);
    a00 = MADD(s0, w0, a00);
    a01 = MADD(s0, w1, a01);
    if (V > 2) { a02 = MADD(s0, w2, a02); a03 = MADD(s0, w3, a03); }
    if (two) {
      const v128_t s1 = wasm_f32x4_splat(x1[k]);
      a10 = MADD(s1, w0, a10);
      a11 = MADD(s1, w1, a11);
      if (V > 2) { a12 = MADD(s1, w2, a12); a13 = MADD(s1, w3, a13); }
    }
  }
  float *y0 = y + m * CO + co;
  wasm_v128_store(y0, activate(a00, act));
  wasm_v128_store(y0 + 4, activate(a01, act));
  if (V > 2) { wasm_v128_store(y0 + 8, activate(a02, act)); wasm_v128_store(y0 + 12, activate(a03, act)); }
  if (two) {
    float *y1 = y0 + CO;
    wasm_v128_store(y1, activate(a10, act));
    wasm_v128_store(y1 + 4, activate(a11, act));
    if (V > 2) { wasm_v128_store(y1 + 8, activate(a12, act)); wasm_v128_store(y1 + 12, activate(a13, act)); }
  }
}

/**
 * y[m][co] = act(b[co] + sum over c of x[m][c] * w[c][co]) for M pixels: x [M, K], w [K, CO], y [M, CO], b [CO] or
 * null (no bias). CO a multiple of 8 (callers check). Pixels go in blocks of about 24 KB of input, which stay in L1
 * while every group of output channels passes over them.
 */
EXPORT("conv2d_pointwise")
void conv2d_pointwise(const float *x, const float *w, const float *b, float *y, i32 M, i32 K, i32 CO, i32 act) {
  const i32 co16 = CO - CO % 16;
  const i32 MB = max_i(2, (6144 / max_i(K, 1)) & ~1);
  for (i32 m0 = 0; m0 < M; m0 += MB) {
    const i32 m1 = min_i(M, m0 + MB);
    for (i32 co = 0; co < co16; co += 16) {
      i32 m = m0;
      for (; m + 2 <= m1; m += 2) pw_tile(1, 4, x, w, b, y, K, CO, m, co, act);
      if (m < m1) pw_tile(0, 4, x, w, b, y, K, CO, m, co, act);
    }
    if (co16 < CO) {
      i32 m = m0;
      for (; m + 2 <= m1; m += 2) pw_tile(1, 2, x, w, b, y, K, CO, m, co16, act);
      if (m < m1) pw_tile(0, 2, x, w, b, y, K, CO, m, co16, act);
    }
  }
}
