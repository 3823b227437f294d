// The README's first command on the bundled example: every kernel of a
// SmolLM2 decoder layer gets a CPU schedule and is listed once.
// RUN: haqa-opt %haqa_src_root/examples/smollm2-layer.mlir --haqa-default-schedule="target=cpu cpu-threads=2" --haqa-extract-kernels -o /dev/null | FileCheck %s
// RUN: haqa-opt %haqa_src_root/examples/smollm2-layer.mlir --haqa-default-schedule="target=cpu cpu-threads=2" --haqa-extract-kernels -o /dev/null | FileCheck %s --check-prefix=NONULL

// NONULL-NOT: "schedule": null

// CHECK-DAG: "signature": "rms_norm [576,1,1]"
// CHECK-DAG: "signature": "matmul [576,1,576]"
// CHECK-DAG: "signature": "matmul [576,1,192]"
// CHECK-DAG: "signature": "matmul [576,1,1536]"
// CHECK-DAG: "signature": "matmul [1536,1,576]"
// Rope as the paper's Table 3 writes it: [head size, tokens, heads], the
// label its tuning records carry.
// CHECK-DAG: "signature": "rope [64,1,9]"
// CHECK-DAG: "signature": "rope [64,1,3]"
// CHECK-DAG: "signature": "kv_write [64,3,1]"
// CHECK-DAG: "signature": "attention [2048,1,9,64]"
// CHECK-DAG: "signature": "swiglu [1536,1,1]"
// CHECK-DAG: "signature": "add [576,1,1]"
// CHECK: "distinct_kernels": 11
// CHECK: "kernel_ops": 17
