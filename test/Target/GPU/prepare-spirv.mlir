// What convert-gpu-to-spirv needs from each gpu.module with a SPIR-V target:
// the target environment as an attribute, each kernel's entry point ABI
// from its known block size, and OpenCL storage classes for the GPU address
// spaces (kernel arguments keep theirs, matching the host's types).
// RUN: haqa-opt %s --haqa-gpu-prepare-spirv --split-input-file --verify-diagnostics | FileCheck %s

// CHECK-LABEL: gpu.module @k
// CHECK-SAME: attributes {spirv.target_env = #spirv.target_env<#spirv.vce<v1.0, [Kernel, Addresses], []>, api=OpenCL
// CHECK: gpu.func @k(%{{.*}}: memref<64xf32>) kernel attributes {known_block_size = array<i32: 64, 1, 1>, spirv.entry_point_abi = #spirv.entry_point_abi<workgroup_size = [64, 1, 1]>}
// CHECK: memref.alloc() : memref<64xf32, #spirv.storage_class<Workgroup>>
// CHECK: memref.alloca() : memref<1xf32, #spirv.storage_class<Function>>
module attributes {gpu.container_module} {
  gpu.module @k [#spirv.target_env<#spirv.vce<v1.0, [Kernel, Addresses], []>, api=OpenCL, #spirv.resource_limits<>>] {
    gpu.func @k(%x: memref<64xf32>) kernel attributes {known_block_size = array<i32: 64, 1, 1>} {
      %t = gpu.thread_id x
      %w = memref.alloc() : memref<64xf32, #gpu.address_space<workgroup>>
      %p = memref.alloca() : memref<1xf32, #gpu.address_space<private>>
      %v = memref.load %x[%t] : memref<64xf32>
      memref.store %v, %w[%t] : memref<64xf32, #gpu.address_space<workgroup>>
      gpu.return
    }
  }
}

// -----

module attributes {gpu.container_module} {
  gpu.module @k [#spirv.target_env<#spirv.vce<v1.0, [Kernel, Addresses], []>, api=OpenCL, #spirv.resource_limits<>>] {
    // expected-error @below {{has no known block size, which the SPIR-V entry point needs}}
    gpu.func @k(%x: memref<64xf32>) kernel {
      gpu.return
    }
  }
}

// -----

// Math on a one-element vector becomes math on its element.
// CHECK-LABEL: gpu.func @one_element
// CHECK: %[[E:.*]] = vector.extract %{{.*}}[0] : f32 from vector<1xf32>
// CHECK: %[[X:.*]] = math.exp %[[E]] : f32
// CHECK: vector.broadcast %[[X]] : f32 to vector<1xf32>
module attributes {gpu.container_module} {
  gpu.module @k [#spirv.target_env<#spirv.vce<v1.0, [Kernel, Addresses], []>, api=OpenCL, #spirv.resource_limits<>>] {
    gpu.func @one_element(%x: memref<64xf32>) kernel attributes {known_block_size = array<i32: 64, 1, 1>} {
      %t = gpu.thread_id x
      %v = vector.load %x[%t] : memref<64xf32>, vector<1xf32>
      %e = math.exp %v : vector<1xf32>
      vector.store %e, %x[%t] : memref<64xf32>, vector<1xf32>
      gpu.return
    }
  }
}
