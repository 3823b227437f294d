//===- Isolate.cpp - run a candidate in a child process ---------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "haqa/Runtime/Isolate.h"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace mlir::haqa;

llvm::Expected<IsolatedResult>
mlir::haqa::runIsolated(std::function<std::string()> body,
                        double timeoutSeconds) {
  int fds[2];
  if (pipe(fds) != 0)
    return llvm::createStringError(llvm::inconvertibleErrorCode(), "pipe: %s",
                                   strerror(errno));
  // The child's stderr goes to an unnamed temporary file the parent reads
  // afterwards (a pipe could fill up and block a dying child).
  FILE *errFile = std::tmpfile();
  pid_t pid = fork();
  if (pid < 0)
    return llvm::createStringError(llvm::inconvertibleErrorCode(), "fork: %s",
                                   strerror(errno));
  if (pid == 0) {
    close(fds[0]);
    if (errFile)
      dup2(fileno(errFile), STDERR_FILENO);
    std::string out = body();
    size_t done = 0;
    while (done < out.size()) {
      ssize_t n = write(fds[1], out.data() + done, out.size() - done);
      if (n <= 0)
        _exit(2);
      done += static_cast<size_t>(n);
    }
    close(fds[1]);
    _exit(0);
  }
  close(fds[1]);
  IsolatedResult result;
  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::duration<double>(timeoutSeconds);
  char buf[4096];
  bool open = true, timedOut = false;
  while (open) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    if (left <= 0) {
      timedOut = true;
      break;
    }
    struct pollfd p = {fds[0], POLLIN, 0};
    int r = poll(&p, 1, static_cast<int>(std::min<long long>(left, 1000)));
    if (r < 0 && errno != EINTR)
      break;
    if (r <= 0)
      continue;
    ssize_t n = read(fds[0], buf, sizeof(buf));
    if (n > 0)
      result.output.append(buf, static_cast<size_t>(n));
    else if (n == 0 || errno != EINTR)
      open = false;
  }
  close(fds[0]);
  if (timedOut)
    kill(pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timedOut) {
    result.kind = IsolatedResult::TimedOut;
    result.reason = "timed out after " +
                    std::to_string(static_cast<int>(timeoutSeconds)) + " s";
    result.output.clear();
  } else if (WIFSIGNALED(status)) {
    result.kind = IsolatedResult::Crashed;
    result.reason = "signal " + std::to_string(WTERMSIG(status)) + " (" +
                    strsignal(WTERMSIG(status)) + ")";
    result.output.clear();
  } else if (WEXITSTATUS(status) != 0) {
    result.kind = IsolatedResult::Crashed;
    result.reason = "exit code " + std::to_string(WEXITSTATUS(status));
    result.output.clear();
  }
  if (errFile) {
    constexpr size_t kMax = 16384;
    std::rewind(errFile);
    result.childStderr.resize(kMax);
    size_t n = std::fread(result.childStderr.data(), 1, kMax, errFile);
    result.childStderr.resize(n);
    std::fclose(errFile);
  }
  return result;
}
