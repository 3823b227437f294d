# lit configuration for HAQA's FileCheck tests.
import os

import lit.formats
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "HAQA"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.haqa_obj_root, "test")
config.excludes = ["CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py", "unit"]

config.substitutions.append(("%PATH%", config.environment["PATH"]))
config.substitutions.append(("%haqa_src_root", config.haqa_src_root))

llvm_config.with_system_environment(["HOME", "INCLUDE", "LIB", "TMP", "TEMP"])
llvm_config.use_default_substitutions()
# Capture variables do not leak across CHECK-LABEL blocks.
config.environment["FILECHECK_OPTS"] = "-enable-var-scope"

llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
tool_dirs = [config.haqa_tools_dir, config.llvm_tools_dir]
tools = ["haqa-opt"]
# HAQA_VERIFY_ROUNDTRIP=1 makes every haqa-opt run re-parse its own output.
if os.environ.get("HAQA_VERIFY_ROUNDTRIP"):
    tools = [ToolSubst("haqa-opt", extra_args=["--verify-roundtrip"])]
llvm_config.add_tool_substitutions(tools, tool_dirs)
