// The paper's Table 3 kernels through ggml's CPU backend, for the side by
// side with haqa-bench (bench/compare_ggml_kernels.py builds this against
// the llama.cpp that bench/build_llamacpp.sh built; nothing of ggml is in
// this repository). Same shapes in ggml order, same computation as
// haqa-bench's kernels: softmax over rows, silu, rms_norm times an f32
// weight, interleaved RoPE (ggml mode 0, theta 1e4) and y = x W^T with W in
// f16 / q8_0 / q4_0. Prints one JSON object per kernel:
//   {"kernel": "matmul", "shape": [2048, 1, 2048], "weights": "q8_0",
//    "median_ms": ..., "q1_ms": ..., "q3_ms": ..., "repeats": ...}
//
//   ggml_kernels [threads] [tokens,...] [min-repeats]
#include "ggml-cpu.h"
#include "ggml.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double nowMs(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmpDouble(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static uint64_t rngState = 0x9E3779B97F4A7C15ull;
static float uniform(void) { // [-1, 1)
  rngState ^= rngState << 13;
  rngState ^= rngState >> 7;
  rngState ^= rngState << 17;
  return (float)((rngState >> 40) * (2.0 / 16777216.0) - 1.0);
}

static void fillF32(struct ggml_tensor *t, float scale) {
  float *d = (float *)t->data;
  for (int64_t i = 0; i < ggml_nelements(t); ++i)
    d[i] = scale * uniform();
}

/// Times `out` over repeats after warm-up; prints the JSON line.
static void run(struct ggml_context *ctx, struct ggml_tensor *out,
                const char *kernel, const int64_t ne[3], const char *weights,
                int threads, int minRepeats) {
  struct ggml_cgraph *gf = ggml_new_graph(ctx);
  ggml_build_forward_expand(gf, out);
  struct ggml_cplan plan = ggml_graph_plan(gf, threads, NULL);
  uint8_t *work = plan.work_size ? malloc(plan.work_size) : NULL;
  plan.work_data = work;
  for (int i = 0; i < 3; ++i)
    ggml_graph_compute(gf, &plan);
  int cap = 10000, n = 0;
  double *ms = malloc(sizeof(double) * cap);
  double start = nowMs();
  while (n < cap && (n < minRepeats || nowMs() - start < 300.0)) {
    double t0 = nowMs();
    if (ggml_graph_compute(gf, &plan) != GGML_STATUS_SUCCESS) {
      fprintf(stderr, "ggml_kernels: %s failed\n", kernel);
      exit(1);
    }
    ms[n++] = nowMs() - t0;
  }
  qsort(ms, n, sizeof(double), cmpDouble);
  printf("{\"kernel\": \"%s\", \"shape\": [%lld, %lld, %lld], "
         "\"weights\": \"%s\", \"threads\": %d, \"median_ms\": %.6f, "
         "\"q1_ms\": %.6f, \"q3_ms\": %.6f, \"repeats\": %d}\n",
         kernel, (long long)ne[0], (long long)ne[1], (long long)ne[2],
         weights, threads, ms[n / 2], ms[n / 4], ms[(3 * n) / 4], n);
  fflush(stdout);
  free(ms);
  free(work);
}

static struct ggml_context *newContext(size_t bytes) {
  struct ggml_init_params p = {bytes, NULL, false};
  struct ggml_context *ctx = ggml_init(p);
  if (!ctx) {
    fprintf(stderr, "ggml_kernels: cannot allocate %zu bytes\n", bytes);
    exit(1);
  }
  return ctx;
}

static void benchTokens(int64_t t, int threads, int minRepeats) {
  const size_t mib = 1024 * 1024;
  { // softmax [1024, T, 32]
    int64_t ne[3] = {1024, t, 32};
    struct ggml_context *ctx = newContext(3 * 4 * ne[0] * t * 32 + 16 * mib);
    struct ggml_tensor *x =
        ggml_new_tensor_3d(ctx, GGML_TYPE_F32, ne[0], ne[1], ne[2]);
    fillF32(x, 5.0f);
    run(ctx, ggml_soft_max(ctx, x), "softmax", ne, "f32", threads,
        minRepeats);
    ggml_free(ctx);
  }
  { // silu [11008, T, 1]
    int64_t ne[3] = {11008, t, 1};
    struct ggml_context *ctx = newContext(3 * 4 * ne[0] * t + 16 * mib);
    struct ggml_tensor *x = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, ne[0], t);
    fillF32(x, 1.0f);
    run(ctx, ggml_silu(ctx, x), "silu", ne, "f32", threads, minRepeats);
    ggml_free(ctx);
  }
  { // rms_norm [4096, T, 1], times an f32 weight
    int64_t ne[3] = {4096, t, 1};
    struct ggml_context *ctx = newContext(4 * 4 * ne[0] * t + 16 * mib);
    struct ggml_tensor *x = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, ne[0], t);
    struct ggml_tensor *w = ggml_new_tensor_1d(ctx, GGML_TYPE_F32, ne[0]);
    fillF32(x, 1.0f);
    fillF32(w, 1.0f);
    struct ggml_tensor *y = ggml_mul(ctx, ggml_rms_norm(ctx, x, 1e-5f), w);
    run(ctx, y, "rms_norm", ne, "f32", threads, minRepeats);
    ggml_free(ctx);
  }
  { // rope [128, T, 1]: head_dim 128, one head, T positions
    int64_t ne[3] = {128, t, 1};
    struct ggml_context *ctx = newContext(3 * 4 * ne[0] * t + 16 * mib);
    struct ggml_tensor *x =
        ggml_new_tensor_3d(ctx, GGML_TYPE_F32, ne[0], 1, t);
    struct ggml_tensor *pos = ggml_new_tensor_1d(ctx, GGML_TYPE_I32, t);
    fillF32(x, 1.0f);
    for (int64_t i = 0; i < t; ++i)
      ((int32_t *)pos->data)[i] = (int32_t)i;
    struct ggml_tensor *y = ggml_rope_ext(ctx, x, pos, NULL, 128, 0, 4096,
                                          1e4f, 1.0f, 0.0f, 1.0f, 0.0f, 0.0f);
    run(ctx, y, "rope", ne, "f32", threads, minRepeats);
    ggml_free(ctx);
  }
  // matmul [K = 2048, T, N = 2048]: y[T, N] = x[T, K] W[N, K]^T.
  const enum ggml_type types[3] = {GGML_TYPE_F16, GGML_TYPE_Q8_0,
                                   GGML_TYPE_Q4_0};
  const char *names[3] = {"f16", "q8_0", "q4_0"};
  for (int i = 0; i < 3; ++i) {
    int64_t k = 2048, n = 2048, ne[3] = {k, t, n};
    struct ggml_context *ctx =
        newContext(4 * k * n + 2 * 4 * (k + n) * t + 64 * mib);
    struct ggml_tensor *w = ggml_new_tensor_2d(ctx, types[i], k, n);
    struct ggml_tensor *x = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, k, t);
    fillF32(x, 1.0f);
    float *src = malloc(sizeof(float) * k * n);
    for (int64_t j = 0; j < k * n; ++j)
      src[j] = 0.05f * uniform();
    if (types[i] == GGML_TYPE_F16)
      ggml_fp32_to_fp16_row(src, (ggml_fp16_t *)w->data, k * n);
    else
      ggml_quantize_chunk(types[i], src, w->data, 0, n, k, NULL);
    free(src);
    run(ctx, ggml_mul_mat(ctx, w, x), "matmul", ne, names[i], threads,
        minRepeats);
    ggml_free(ctx);
  }
}

int main(int argc, char **argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 2;
  const char *tokens = argc > 2 ? argv[2] : "1,64,128";
  int minRepeats = argc > 3 ? atoi(argv[3]) : 20;
  if (threads < 1 || minRepeats < 1) {
    fprintf(stderr, "usage: ggml_kernels [threads] [tokens,...] "
                    "[min-repeats]\n");
    return 1;
  }
  ggml_cpu_init();
  char *list = strdup(tokens);
  for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
    long t = strtol(tok, NULL, 10);
    if (t < 1) {
      fprintf(stderr, "ggml_kernels: bad token count '%s'\n", tok);
      return 1;
    }
    benchTokens(t, threads, minRepeats);
  }
  free(list);
  ggml_quantize_free();
  return 0;
}
