//===- LaunchPlan.h - a host function as a list of launches -----*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// What the host side of an OpenCL-lowered function does, as data: the
// buffers it uses (its arguments, temporaries, constant tables), then its
// steps in order (kernel launches with their arguments, buffer copies). The
// OpenCL runtime executes it on a local device; the remote runner receives
// it with the kernels. No host code is compiled, so a plan runs wherever an
// OpenCL driver does. Standard C++ only (the remote runner builds with the
// Android NDK and no LLVM).
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_RUNTIME_LAUNCHPLAN_H
#define HAQA_RUNTIME_LAUNCHPLAN_H

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace haqa::plan {

struct Buffer {
  enum Kind : uint8_t {
    Argument,  ///< the function's argument `argument`
    Temporary, ///< made for a call, contents undefined at its start
    Constant,  ///< a constant table: `data`
  } kind = Temporary;
  int64_t argument = -1;
  int64_t bytes = 0;
  std::vector<uint8_t> data;
};

/// A place in a buffer: the pointer a kernel argument or copy starts at.
struct Ref {
  int64_t buffer = -1;
  int64_t byteOffset = 0;
};

struct KernelArg {
  bool isBuffer = true;
  Ref ref;                     ///< isBuffer
  std::vector<uint8_t> scalar; ///< !isBuffer: the value's bytes (index: i64)
};

struct Step {
  enum Kind : uint8_t { Launch, Copy } kind = Launch;
  // Launch:
  int64_t kernel = -1;                   ///< index into Plan::kernels
  std::array<int64_t, 3> grid{1, 1, 1};  ///< workgroups per dimension
  std::array<int64_t, 3> block{1, 1, 1}; ///< work-items per workgroup
  std::vector<KernelArg> args;
  // Copy:
  Ref dst, src;
  int64_t bytes = 0;
};

/// A kernel: entry point `name` of the SPIR-V module `binary`.
struct Kernel {
  std::string binary;
  std::string name;
};

/// One host function.
struct Plan {
  std::string function;
  int64_t numArguments = 0;
  std::vector<Buffer> buffers;
  std::vector<Kernel> kernels;
  std::vector<Step> steps;
};

/// The SPIR-V modules a set of plans launches, by name.
struct Binary {
  std::string name;
  std::vector<uint8_t> spirv;
};

} // namespace haqa::plan

#endif // HAQA_RUNTIME_LAUNCHPLAN_H
