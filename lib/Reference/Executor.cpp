//===- Executor.cpp - the reference interpreter of haqa IR ------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// Each op is evaluated by the textbook formula with double accumulation;
// weights are dequantized once to float. Only matmul output columns and
// attention heads are spread over threads (each output is computed by one
// thread in a fixed order, so results do not depend on the thread count).
//
//===----------------------------------------------------------------------===//

#include "haqa/Reference/Executor.h"
#include "haqa/Weights/Codecs.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/Parallel.h"
#include "llvm/Support/Path.h"

#include <cmath>
#include <cstring>

using namespace mlir;
using namespace mlir::haqa;
using llvm::Error;
using llvm::Expected;
using llvm::StringRef;

HostTensor HostTensor::floats(llvm::ArrayRef<int64_t> shape, float fill) {
  HostTensor t;
  t.shape.assign(shape.begin(), shape.end());
  t.f.assign(t.numElements(), fill);
  return t;
}

HostTensor HostTensor::ints(llvm::ArrayRef<int64_t> shape,
                            llvm::ArrayRef<int64_t> values) {
  HostTensor t;
  t.shape.assign(shape.begin(), shape.end());
  t.isInt = true;
  t.i.assign(values.begin(), values.end());
  return t;
}

int64_t HostTensor::numElements() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

//===----------------------------------------------------------------------===//
// Kernels
//===----------------------------------------------------------------------===//

namespace {

/// Rows of length `shape.back()`.
int64_t rowsOf(const HostTensor &t) { return t.numElements() / t.shape.back(); }

void rmsNorm(const HostTensor &x, const std::vector<float> &w, float eps,
             HostTensor &y) {
  int64_t d = x.shape.back();
  for (int64_t r = 0; r < rowsOf(x); ++r) {
    const float *xr = &x.f[r * d];
    double ss = 0;
    for (int64_t j = 0; j < d; ++j)
      ss += static_cast<double>(xr[j]) * xr[j];
    double inv = 1.0 / std::sqrt(ss / d + eps);
    for (int64_t j = 0; j < d; ++j)
      y.f[r * d + j] = static_cast<float>(xr[j] * inv * w[j]);
  }
}

/// y[m, n] = sum_k x[m, k] * w[n, k].
void matmul(const HostTensor &x, const std::vector<float> &w, int64_t n,
            HostTensor &y) {
  int64_t m = x.shape[0], k = x.shape[1];
  llvm::parallelFor(0, n, [&](size_t col) {
    const float *wr = &w[col * k];
    for (int64_t row = 0; row < m; ++row) {
      const float *xr = &x.f[row * k];
      // Eight independent partial sums in a fixed order: the same result
      // on every run and thread count, and room for the CPU to overlap.
      double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
      int64_t j = 0;
      for (; j + 8 <= k; j += 8)
        for (int u = 0; u < 8; ++u)
          acc[u] += static_cast<double>(xr[j + u]) * wr[j + u];
      for (; j < k; ++j)
        acc[0] += static_cast<double>(xr[j]) * wr[j];
      double sum = ((acc[0] + acc[1]) + (acc[2] + acc[3])) +
                   ((acc[4] + acc[5]) + (acc[6] + acc[7]));
      y.f[row * n + col] = static_cast<float>(sum);
    }
  });
}

/// Activations of one row quantized as ggml's quantize_row_q8_0 / _q8_1:
/// per 32 values d = amax / 127 (stored as half), q = roundf(x / d), and for
/// Q8_1 s = d * sum(q) (stored as half).
struct Q8Row {
  std::vector<int8_t> q;
  std::vector<float> d, s;
};

Q8Row quantizeQ8(const float *x, int64_t k) {
  Q8Row r;
  r.q.resize(k);
  for (int64_t b = 0; b < k; b += 32) {
    float amax = 0;
    for (int j = 0; j < 32; ++j)
      amax = std::max(amax, std::fabs(x[b + j]));
    const float d = amax / 127;
    const float id = d ? 1.0f / d : 0.0f;
    int sum = 0;
    for (int j = 0; j < 32; ++j) {
      r.q[b + j] = static_cast<int8_t>(roundf(x[b + j] * id));
      sum += r.q[b + j];
    }
    r.d.push_back(halfToFloat(floatToHalf(d)));
    r.s.push_back(halfToFloat(floatToHalf(d * sum)));
  }
  return r;
}

/// y[m, n] with Q8_0 / Q4_0 / Q4_1 weight blocks against Q8 activations, as
/// ggml_vec_dot_{q8_0_q8_0, q4_0_q8_0, q4_1_q8_1}.
/// matmulGGML for the K-quants: each 32-value activation block meets one
/// Q4_K sub-block (scale d * sc, min dmin * m) or two 16-value Q6_K groups
/// (scales d * sc_a, d * sc_b):
///   Q4_K: acc += (d * sc) * x.d * sum(q * xq) - (dmin * m) * x.s
///   Q6_K: acc += d * x.d * (sc_a * sum_a((q - 32) * xq) +
///                           sc_b * sum_b((q - 32) * xq))
void matmulGGMLK(const HostTensor &x, GGMLType t, llvm::ArrayRef<uint8_t> w,
                 int64_t n, HostTensor &y) {
  int64_t m = x.shape[0], k = x.shape[1], supers = k / 256;
  uint64_t superBytes = t == GGMLType::Q4_K ? 144 : 210;
  for (int64_t row = 0; row < m; ++row) {
    Q8Row a = quantizeQ8(&x.f[row * k], k);
    llvm::parallelFor(0, n, [&](size_t col) {
      float acc = 0;
      for (int64_t s = 0; s < supers; ++s) {
        const uint8_t *sb = w.data() + (col * supers + s) * superBytes;
        for (int64_t j = 0; j < 8; ++j) {
          int64_t b = 8 * s + j;
          const int8_t *qa = &a.q[b * 32];
          if (t == GGMLType::Q4_K) {
            const uint8_t *sc = sb + 4;
            int scale, min;
            if (j < 4) {
              scale = sc[j] & 63;
              min = sc[j + 4] & 63;
            } else {
              scale = (sc[j + 4] & 0xF) | ((sc[j - 4] >> 6) << 4);
              min = (sc[j + 4] >> 4) | ((sc[j] >> 6) << 4);
            }
            const uint8_t *qs = sb + 16 + 32 * (j / 2);
            int shift = 4 * (j % 2), sumi = 0;
            for (int l = 0; l < 32; ++l)
              sumi += ((qs[l] >> shift) & 0xF) * qa[l];
            uint16_t dh, mh;
            std::memcpy(&dh, sb, 2);
            std::memcpy(&mh, sb + 2, 2);
            acc += halfToFloat(dh) * scale * a.d[b] * sumi -
                   halfToFloat(mh) * min * a.s[b];
          } else {
            int64_t h = j / 4, c = j % 4;
            const uint8_t *ql = sb + 64 * h + 32 * (c & 1);
            const uint8_t *qh = sb + 128 + 32 * h;
            const int8_t *scales = reinterpret_cast<const int8_t *>(sb + 192);
            int sums[2] = {0, 0};
            for (int l = 0; l < 32; ++l) {
              int q = ((ql[l] >> (4 * (c >> 1))) & 0xF) |
                      (((qh[l] >> (2 * c)) & 3) << 4);
              sums[l / 16] += (q - 32) * qa[l];
            }
            uint16_t dh;
            std::memcpy(&dh, sb + 208, 2);
            acc += halfToFloat(dh) * a.d[b] *
                   (scales[8 * h + 2 * c] * sums[0] +
                    scales[8 * h + 2 * c + 1] * sums[1]);
          }
        }
      }
      y.f[row * n + col] = acc;
    });
  }
}

void matmulGGML(const HostTensor &x, uint32_t type, llvm::ArrayRef<uint8_t> w,
                int64_t n, HostTensor &y) {
  int64_t m = x.shape[0], k = x.shape[1], blocks = k / 32;
  auto t = static_cast<GGMLType>(type);
  uint64_t blockBytes = getGGMLTypeInfo(type)->blockBytes;
  if (t == GGMLType::Q4_K || t == GGMLType::Q6_K) {
    matmulGGMLK(x, t, w, n, y);
    return;
  }
  for (int64_t row = 0; row < m; ++row) {
    Q8Row a = quantizeQ8(&x.f[row * k], k);
    llvm::parallelFor(0, n, [&](size_t col) {
      const uint8_t *wr = w.data() + col * blocks * blockBytes;
      float acc = 0;
      for (int64_t b = 0; b < blocks; ++b, wr += blockBytes) {
        uint16_t dh, mh;
        std::memcpy(&dh, wr, 2);
        const int8_t *qa = &a.q[b * 32];
        int sumi = 0;
        if (t == GGMLType::Q8_0) {
          for (int j = 0; j < 32; ++j)
            sumi += static_cast<int8_t>(wr[2 + j]) * qa[j];
          acc += halfToFloat(dh) * a.d[b] * sumi;
        } else if (t == GGMLType::Q4_0) {
          for (int j = 0; j < 16; ++j)
            sumi += ((wr[2 + j] & 0xF) - 8) * qa[j] +
                    ((wr[2 + j] >> 4) - 8) * qa[j + 16];
          acc += halfToFloat(dh) * a.d[b] * sumi;
        } else { // Q4_1
          std::memcpy(&mh, wr + 2, 2);
          for (int j = 0; j < 16; ++j)
            sumi += (wr[4 + j] & 0xF) * qa[j] + (wr[4 + j] >> 4) * qa[j + 16];
          acc += halfToFloat(dh) * a.d[b] * sumi + halfToFloat(mh) * a.s[b];
        }
      }
      y.f[row * n + col] = acc;
    });
  }
}

/// `factors`: the op's freq_factors (divisors per pair), or null.
void rope(RoPEOp op, const HostTensor &x, const HostTensor &pos,
          const std::vector<float> *factors, HostTensor &y) {
  int64_t t = x.shape[0], h = x.shape[1], hd = x.shape[2];
  bool interleaved = op.getStyle() == RoPEStyle::interleaved;
  std::vector<double> freqs(hd / 2);
  for (int64_t i = 0; i < hd / 2; ++i)
    freqs[i] = getRoPEFrequency(op, i, hd) / (factors ? (*factors)[i] : 1.0);
  for (int64_t a = 0; a < t; ++a)
    for (int64_t i = 0; i < hd / 2; ++i) {
      double angle = static_cast<double>(pos.i[a]) * freqs[i];
      double c = std::cos(angle), s = std::sin(angle);
      for (int64_t b = 0; b < h; ++b) {
        int64_t base = (a * h + b) * hd;
        int64_t i0 = interleaved ? base + 2 * i : base + i;
        int64_t i1 = interleaved ? i0 + 1 : i0 + hd / 2;
        double x0 = x.f[i0], x1 = x.f[i1];
        y.f[i0] = static_cast<float>(x0 * c - x1 * s);
        y.f[i1] = static_cast<float>(x0 * s + x1 * c);
      }
    }
}

void softmaxRows(const float *x, float *y, int64_t n) {
  float mx = -INFINITY;
  for (int64_t j = 0; j < n; ++j)
    mx = std::max(mx, x[j]);
  double sum = 0;
  for (int64_t j = 0; j < n; ++j)
    sum += std::exp(static_cast<double>(x[j]) - mx);
  for (int64_t j = 0; j < n; ++j)
    y[j] = static_cast<float>(std::exp(static_cast<double>(x[j]) - mx) / sum);
}

double silu(double v) { return v / (1.0 + std::exp(-v)); }

Error attention(AttentionOp op, const HostTensor &q, const HostTensor &k,
                const HostTensor &v, const HostTensor &pos, HostTensor &out) {
  int64_t t = q.shape[0], hq = q.shape[1], hd = q.shape[2];
  int64_t len = k.shape[0], hkv = k.shape[1];
  int64_t group = hq / hkv;
  double scale = op.getScale().convertToDouble();
  for (int64_t a = 0; a < t; ++a)
    if (pos.i[a] < 0 || pos.i[a] >= len)
      return llvm::createStringError(
          "haqa.attention: position " + llvm::Twine(pos.i[a]) +
          " outside the KV cache of " + llvm::Twine(len) + " rows");
  llvm::parallelFor(0, hq, [&](size_t h) {
    int64_t kvh = h / group;
    std::vector<double> scores;
    for (int64_t a = 0; a < t; ++a) {
      int64_t n = pos.i[a] + 1;
      scores.assign(n, 0);
      const float *qr = &q.f[(a * hq + h) * hd];
      double mx = -INFINITY;
      for (int64_t j = 0; j < n; ++j) {
        const float *kr = &k.f[(j * hkv + kvh) * hd];
        double dot = 0;
        for (int64_t d = 0; d < hd; ++d)
          dot += static_cast<double>(qr[d]) * kr[d];
        scores[j] = dot * scale;
        mx = std::max(mx, scores[j]);
      }
      double sum = 0;
      for (double &s : scores)
        sum += (s = std::exp(s - mx));
      float *o = &out.f[(a * hq + h) * hd];
      for (int64_t d = 0; d < hd; ++d) {
        double acc = 0;
        for (int64_t j = 0; j < n; ++j)
          acc += scores[j] * v.f[(j * hkv + kvh) * hd + d];
        o[d] = static_cast<float>(acc / sum);
      }
    }
  });
  return Error::success();
}

} // namespace

//===----------------------------------------------------------------------===//
// Interpreter
//===----------------------------------------------------------------------===//

Expected<std::vector<HostTensor>>
ReferenceExecutor::run(StringRef name, std::vector<HostTensor> args) {
  auto func = module.lookupSymbol<func::FuncOp>(name);
  if (!func || func.isExternal())
    return llvm::createStringError("no function @" + name +
                                   " with a body in the module");
  if (args.size() != func.getNumArguments())
    return llvm::createStringError(
        "@" + name + " takes " + llvm::Twine(func.getNumArguments()) +
        " arguments, got " + llvm::Twine(args.size()));
  llvm::DenseMap<Value, HostTensor> env;
  llvm::DenseMap<Value, const std::vector<float> *> weightValues;
  for (auto [arg, value] : llvm::zip(func.getArguments(), args)) {
    auto type = cast<RankedTensorType>(arg.getType());
    bool ok = type.getRank() == static_cast<int64_t>(value.shape.size());
    for (int64_t d = 0; ok && d < type.getRank(); ++d)
      ok = type.isDynamicDim(d) || type.getDimSize(d) == value.shape[d];
    if (!ok)
      return llvm::createStringError("@" + name + " argument " +
                                     llvm::Twine(arg.getArgNumber()) +
                                     ": shape does not match its type");
    env[arg] = std::move(value);
  }
  // An operand's tensor, moved out on its last use so that kv_write updates
  // a cache in place.
  auto take = [&](Value v) -> HostTensor {
    if (v.hasOneUse())
      return std::move(env[v]);
    return env[v];
  };

  for (Operation &op : func.getBody().front()) {
    Error err = Error::success();
    auto fail = [&](const llvm::Twine &msg) {
      err = llvm::createStringError(op.getName().getStringRef() + ": " + msg);
    };
    llvm::TypeSwitch<Operation *>(&op)
        .Case([&](WeightOp w) {
          auto values = weights.getValues(w.getName(), w.getResult().getType());
          if (!values)
            err = values.takeError();
          else
            weightValues[w.getResult()] = *values;
        })
        .Case([&](EmbeddingOp e) {
          const HostTensor &ids = env[e.getTokens()];
          const std::vector<float> &table = *weightValues[e.getTable()];
          int64_t vocab = e.getTable().getType().getShape()[0];
          int64_t d = e.getTable().getType().getShape()[1];
          HostTensor y = HostTensor::floats({ids.numElements(), d});
          for (int64_t t = 0; t < ids.numElements(); ++t) {
            if (ids.i[t] < 0 || ids.i[t] >= vocab)
              return fail("token id " + llvm::Twine(ids.i[t]) +
                          " outside the vocabulary of " + llvm::Twine(vocab));
            std::copy_n(&table[ids.i[t] * d], d, &y.f[t * d]);
          }
          env[e.getResult()] = std::move(y);
        })
        .Case([&](RMSNormOp n) {
          const HostTensor &x = env[n.getInput()];
          HostTensor y = HostTensor::floats(x.shape);
          rmsNorm(x, *weightValues[n.getWeight()],
                  n.getEpsilon().convertToFloat(), y);
          env[n.getResult()] = std::move(y);
        })
        .Case([&](MatmulOp m) {
          // A fused prologue: the input rms-normalized first.
          HostTensor normalized;
          if (m.getNorm()) {
            const HostTensor &in = env[m.getInput()];
            normalized = HostTensor::floats(in.shape);
            rmsNorm(in, *weightValues[m.getNorm()],
                    m.getEpsilon()->convertToFloat(), normalized);
          }
          const HostTensor &x = m.getNorm() ? normalized : env[m.getInput()];
          WeightType wt = m.getWeight().getType();
          int64_t n = wt.getShape()[0];
          HostTensor y = HostTensor::floats({x.shape[0], n});
          StringRef gguf = wt.getQuant().getGGUFName();
          bool ggml = false;
          switch (options.activations) {
          case QuantizedActivations::Exact:
            break;
          case QuantizedActivations::GGML:
            ggml = hasInt8DotKernels(gguf);
            break;
          case QuantizedActivations::AsScheduled:
            ggml = m.getScheduleAttr() && m.getScheduleAttr().isInt8Dot();
            break;
          }
          if (ggml) {
            auto name = m.getWeight().getDefiningOp<WeightOp>().getName();
            auto stored = weights.getBytes(name, wt);
            if (!stored) {
              err = stored.takeError();
              return;
            }
            matmulGGML(x, *getGGMLTypeForQuant(wt.getQuant()), *stored, n, y);
          } else {
            matmul(x, *weightValues[m.getWeight()], n, y);
          }
          // The bias, before the fused epilogues.
          if (m.getBias()) {
            const std::vector<float> &bias = *weightValues[m.getBias()];
            for (size_t j = 0; j < y.f.size(); ++j)
              y.f[j] += bias[j % n];
          }
          // Fused epilogues: y = silu(gate) * y, then + residual.
          if (m.getGate()) {
            const HostTensor &g = env[m.getGate()];
            for (size_t j = 0; j < y.f.size(); ++j)
              y.f[j] = static_cast<float>(silu(g.f[j]) * y.f[j]);
          }
          if (m.getResidual()) {
            const HostTensor &r = env[m.getResidual()];
            for (size_t j = 0; j < y.f.size(); ++j)
              y.f[j] += r.f[j];
          }
          env[m.getResult()] = std::move(y);
        })
        .Case([&](RoPEOp r) {
          const HostTensor &x = env[r.getInput()];
          HostTensor y = HostTensor::floats(x.shape);
          const std::vector<float> *factors =
              r.getFreqFactors() ? weightValues[r.getFreqFactors()] : nullptr;
          rope(r, x, env[r.getPositions()], factors, y);
          env[r.getResult()] = std::move(y);
        })
        .Case([&](SoftmaxOp s) {
          const HostTensor &x = env[s.getInput()];
          HostTensor y = HostTensor::floats(x.shape);
          int64_t n = x.shape.back();
          for (int64_t r = 0; r < rowsOf(x); ++r)
            softmaxRows(&x.f[r * n], &y.f[r * n], n);
          env[s.getResult()] = std::move(y);
        })
        .Case([&](SiLUOp s) {
          const HostTensor &x = env[s.getInput()];
          HostTensor y = HostTensor::floats(x.shape);
          for (size_t j = 0; j < x.f.size(); ++j)
            y.f[j] = static_cast<float>(silu(x.f[j]));
          env[s.getResult()] = std::move(y);
        })
        .Case([&](SwiGLUOp s) {
          const HostTensor &g = env[s.getLhs()], &u = env[s.getRhs()];
          HostTensor y = HostTensor::floats(g.shape);
          for (size_t j = 0; j < g.f.size(); ++j)
            y.f[j] = static_cast<float>(silu(g.f[j]) * u.f[j]);
          env[s.getResult()] = std::move(y);
        })
        .Case([&](AddOp a) {
          const HostTensor &l = env[a.getLhs()], &r = env[a.getRhs()];
          HostTensor y = HostTensor::floats(l.shape);
          for (size_t j = 0; j < l.f.size(); ++j)
            y.f[j] = l.f[j] + r.f[j];
          env[a.getResult()] = std::move(y);
        })
        .Case([&](MulOp m) {
          const HostTensor &l = env[m.getLhs()], &r = env[m.getRhs()];
          HostTensor y = HostTensor::floats(l.shape);
          for (size_t j = 0; j < l.f.size(); ++j)
            y.f[j] = l.f[j] * r.f[j];
          env[m.getResult()] = std::move(y);
        })
        .Case([&](KVWriteOp w) {
          HostTensor cache = take(w.getCache());
          const HostTensor &v = env[w.getValues()];
          const HostTensor &pos = env[w.getPositions()];
          int64_t row = v.shape[1] * v.shape[2];
          for (int64_t t = 0; t < v.shape[0]; ++t) {
            if (pos.i[t] < 0 || pos.i[t] >= cache.shape[0])
              return fail("position " + llvm::Twine(pos.i[t]) +
                          " outside the KV cache of " +
                          llvm::Twine(cache.shape[0]) + " rows");
            std::copy_n(&v.f[t * row], row, &cache.f[pos.i[t] * row]);
          }
          env[w.getResult()] = std::move(cache);
        })
        .Case([&](AttentionOp a) {
          const HostTensor &q = env[a.getQuery()];
          HostTensor out = HostTensor::floats(q.shape);
          if (Error e = attention(a, q, env[a.getKeys()], env[a.getValues()],
                                  env[a.getPositions()], out))
            err = std::move(e);
          env[a.getResult()] = std::move(out);
        })
        .Case([&](tensor::DimOp d) {
          auto index = d.getConstantIndex();
          if (!index)
            return fail("unimplemented: non-constant dimension index");
          env[d.getResult()] =
              HostTensor::ints({}, {env[d.getSource()].shape[*index]});
        })
        .Case([&](arith::ConstantIndexOp c) {
          env[c.getResult()] = HostTensor::ints({}, {c.value()});
        })
        .Case<tensor::ExpandShapeOp, tensor::CollapseShapeOp>([&](auto r) {
          HostTensor t = take(r.getSrc());
          auto type = cast<RankedTensorType>(r.getResult().getType());
          int64_t known = 1, dynamicDim = -1;
          for (int64_t d = 0; d < type.getRank(); ++d) {
            if (type.isDynamicDim(d))
              dynamicDim = d;
            else
              known *= type.getDimSize(d);
          }
          llvm::SmallVector<int64_t, 4> shape(type.getShape());
          if (dynamicDim >= 0)
            shape[dynamicDim] = t.numElements() / known;
          t.shape = shape;
          env[r.getResult()] = std::move(t);
        })
        .Case([&](func::ReturnOp) {})
        .Default([&](Operation *other) {
          fail("unimplemented: the reference executor has no rule for it");
        });
    if (err)
      return std::move(err);
  }
  auto ret = cast<func::ReturnOp>(func.getBody().front().getTerminator());
  std::vector<HostTensor> results;
  for (Value v : ret.getOperands())
    results.push_back(take(v));
  return results;
}
