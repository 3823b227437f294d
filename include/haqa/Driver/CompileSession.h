//===- CompileSession.h - a model through HAQA's phases ---------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// What haqa-compile does with a model, as a library: import (once, weights
// as stored) -> plan (which precisions fit the memory limit) -> precision
// (each candidate quantized in memory and its decode speed measured; the
// fastest wins) -> tune (every distinct decode kernel, TuningSession) ->
// emit (the tuned module and its weights in the chosen storage) -> measure
// (default against tuned schedules, side by side, and the text). One
// MLIRContext holds the model from the import to the end: each phase works
// on the module in memory, parsing nothing it wrote.
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_DRIVER_COMPILESESSION_H
#define HAQA_DRIVER_COMPILESESSION_H

#include "haqa/Hardware/Profile.h"
#include "haqa/Tuning/TuningSession.h"

#include "llvm/Support/raw_ostream.h"

#include <optional>
#include <string>
#include <vector>

namespace mlir::haqa {

/// The phases, in order; --compile-to stops after one and writes its IR.
enum class CompilePhase { Import, Plan, Precision, Tune, Emit, Measure };

/// "import", "plan", ...; the error lists the names.
llvm::Expected<CompilePhase> parseCompilePhase(llvm::StringRef name);
llvm::StringRef getCompilePhaseName(CompilePhase phase);

struct CompileOptions {
  /// A GGUF file, a Hugging Face directory, an import directory or its
  /// model.mlir.
  std::string input;
  /// auto (every one of 16, 8, 4 that fits, measured; the stored one for an
  /// import), keep (as stored), 16, 8 or 4.
  std::string bits = "auto";
  /// "10GiB", "none" (the profile's memory).
  std::string memoryLimit = "none";
  /// KV cache rows of the import.
  int64_t contextLength = 1024;
  /// The final generation's prompt: text (wrapped in the chat template when
  /// `chat`), or token ids ("1,2,3") for models without a tokenizer.
  std::string prompt = "What is the capital of France? Answer in one "
                       "sentence.";
  std::string promptTokens;
  bool chat = true;
  int generateTokens = 64;
  /// Decoded tokens per precision when several are measured.
  int probeTokens = 16;
  /// Also generate with the reference executor and compare.
  bool check = false;
  /// NVIDIA profile: run the CUDA schedules' loops on the host CPU.
  bool gpuOnCPU = false;
  /// @prefill's kernels (dynamic token count) are tuned at this many rows
  /// and take the best schedule found there; 0: they keep the default.
  int64_t prefillRows = 64;
  /// Only kernels of these names are tuned (empty: all).
  std::vector<std::string> onlyKernels;
  CompilePhase stopAfter = CompilePhase::Measure;
  /// The tuning; its outDir is the session's output directory.
  TuningOptions tuning;
};

/// What a run produced.
struct CompileResult {
  /// The phase it stopped after, and the files it wrote there.
  CompilePhase lastPhase = CompilePhase::Import;
  std::vector<std::string> written;
  /// Measure: whether the tuned schedules generate the default ones' tokens,
  /// and (with --check, or when they do not) the reference executor's with
  /// the tuned schedules' arithmetic. A tuned model is right when it matches
  /// the reference; failing that, when it matches the defaults.
  bool sameTokens = true;
  std::optional<bool> matchesReference;
  bool isRight() const { return matchesReference.value_or(sameTokens); }
};

/// Runs the phases of `options` for `profile`: progress to `progress`, the
/// results (tuning table, generated text, speeds) to `out`.
llvm::Expected<CompileResult> runCompileSession(const HardwareProfile &profile,
                                                const CompileOptions &options,
                                                llvm::raw_ostream &out,
                                                llvm::raw_ostream &progress);

/// Tunes `kernels` (the paper's Table 3 ones, say) without a model: the
/// table to `out`.
llvm::Error runKernelTuning(const HardwareProfile &profile,
                            llvm::ArrayRef<KernelSpec> kernels,
                            const CompileOptions &options,
                            llvm::raw_ostream &out,
                            llvm::raw_ostream &progress);

} // namespace mlir::haqa

#endif // HAQA_DRIVER_COMPILESESSION_H
