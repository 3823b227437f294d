//===- HAQAPasses.td - HAQA dialect passes -----------------*- tablegen -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_PASSES_TD
#define HAQA_PASSES_TD

include "mlir/Pass/PassBase.td"

def HAQAExtractKernelsPass : Pass<"haqa-extract-kernels", "ModuleOp"> {
  let summary = "list the distinct kernels of a module as JSON for the agent";
  let description = [{
    Walks every op implementing KernelOpInterface and writes one JSON object
    per distinct kernel (same op, operand types and schedule): its name,
    shape signature, operand types, weight quantization, current schedule,
    FLOPs, bytes and how often it occurs. The IR is left unchanged.

    Input:
    ```mlir
    %y = haqa.silu %x : tensor<1x1536xf32>
    ```
    Output (to `output`, stdout when empty):
    ```json
    {"kernels": [
      {"kernel": "silu", "signature": "silu [1536,1,1]", "count": 1, ...}
    ], "total": {...}}
    ```
  }];
  let options = [
    Option<"output", "output", "std::string", /*default=*/"\"\"",
           "write the JSON to this file instead of stdout">,
  ];
}

def HAQADefaultSchedulePass : Pass<"haqa-default-schedule", "ModuleOp"> {
  let summary = "attach a default #haqa.schedule to kernels that have none";
  let description = [{
    Derives a schedule from the target's limits (vector width, threads per
    block or workgroup, cores) and the kernel's iteration space, and attaches
    it to every kernel without one. Kernels that already carry a schedule
    (e.g. chosen by the agent) are left alone.

    Before:
    ```mlir
    %y = haqa.silu %x : tensor<1x1536xf32>
    ```
    After (`target=cpu cpu-threads=2`):
    ```mlir
    %y = haqa.silu %x {schedule = #haqa.schedule<tile = [1, 256], order = [0, 1], unroll = 4, vector = 16, cpu_threads = 2>} : tensor<1x1536xf32>
    ```
  }];
  let options = [
    Option<"target", "target", "std::string", /*default=*/"\"cpu\"",
           "cpu, cuda or opencl">,
    Option<"cpuThreads", "cpu-threads", "int64_t", /*default=*/"0",
           "host threads for target=cpu (0: this machine's hardware threads)">,
  ];
  let dependentDialects = ["::mlir::haqa::HAQADialect"];
}

#endif // HAQA_PASSES_TD
