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
      %c0 = arith.constant 0 : index
      %v = memref.load %x[%t] : memref<64xf32>
      memref.store %v, %w[%t] : memref<64xf32, #gpu.address_space<workgroup>>
      memref.store %v, %p[%c0] : memref<1xf32, #gpu.address_space<private>>
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

// -----

// A partial tile's masked load and store: scalar accesses under scf.if, the
// mask a comparison of the lane indices with the bound.
// CHECK-LABEL: gpu.func @partial_tile
// CHECK-NOT: vector.create_mask
// CHECK-NOT: vector.maskedload
// CHECK: arith.cmpi sgt
// CHECK: scf.if
// CHECK: memref.load
// CHECK-NOT: vector.maskedstore
// CHECK: gpu.return
module attributes {gpu.container_module} {
  gpu.module @k [#spirv.target_env<#spirv.vce<v1.0, [Kernel, Addresses], []>, api=OpenCL, #spirv.resource_limits<>>] {
    gpu.func @partial_tile(%x: memref<10xf32>, %n: index) kernel attributes {known_block_size = array<i32: 1, 1, 1>} {
      %c8 = arith.constant 8 : index
      %pass = ub.poison : vector<4xf32>
      %m = vector.create_mask %n : vector<4xi1>
      %v = vector.maskedload %x[%c8], %m, %pass : memref<10xf32>, vector<4xi1>, vector<4xf32> into vector<4xf32>
      %w = arith.addf %v, %v : vector<4xf32>
      vector.maskedstore %x[%c8], %m, %w : memref<10xf32>, vector<4xi1>, vector<4xf32>
      gpu.return
    }
  }
}
