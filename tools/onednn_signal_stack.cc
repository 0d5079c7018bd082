// Minimal reproduction: where does a signal handler run when the signal
// interrupts oneDNN's f32 GEMM? Calls dnnl_sgemm (the model's 16x512 by
// 512x1536 shape by default) in a loop on the main thread while an interval
// timer sends SIGALRM, and checks each handler's stack address against the
// thread's stack. The first handler that runs outside it prints the
// interrupted rip/rsp and the mapping rip lies in, and the program exits 3.
// Exit 0 means every handler ran on the thread's stack.
//   build/tools/onednn_signal_stack [M] [K] [N] [ITERATIONS]
// Findings and why it matters: docs/RELIABILITY.md, "The fuzz timeout and oneDNN".
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/time.h>
#include <ucontext.h>
#include <unistd.h>

#include <atomic>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "oneapi/dnnl/dnnl.h"

namespace {

uintptr_t stack_low = 0, stack_high = 0;
std::atomic<long> alarms{0};

// Not async-signal-safe after the first escape: it reports and exits at once,
// before the corrupted heap can be used again.
void OnAlarm(int, siginfo_t*, void* context) {
  char here = 0;
  const auto sp = reinterpret_cast<uintptr_t>(&here);
  const long n = ++alarms;
  if (sp >= stack_low && sp < stack_high) return;
  const auto* uc = static_cast<const ucontext_t*>(context);
  const auto rip = static_cast<uintptr_t>(uc->uc_mcontext.gregs[REG_RIP]);
  const auto rsp = static_cast<uintptr_t>(uc->uc_mcontext.gregs[REG_RSP]);
  std::fprintf(stderr,
               "alarm %ld: the handler ran at sp=%#" PRIxPTR
               ", outside the thread's stack [%#" PRIxPTR ", %#" PRIxPTR
               "); interrupted rip=%#" PRIxPTR " rsp=%#" PRIxPTR "\n",
               n, sp, stack_low, stack_high, rip, rsp);
  // /proc/self/maps through read(2) into a static buffer: malloc (fopen) may
  // already see the heap this handler just wrote over.
  static char maps[1 << 16];
  const int fd = open("/proc/self/maps", O_RDONLY);
  ssize_t length = 0;
  for (ssize_t got = 1; fd >= 0 && got > 0 && length < static_cast<ssize_t>(sizeof maps) - 1;
       length += got) {
    got = read(fd, maps + length, sizeof maps - 1 - length);
    if (got < 0) break;
  }
  maps[length > 0 ? length : 0] = '\0';
  for (char* line = maps; *line != '\0';) {
    char* end = std::strchr(line, '\n');
    if (end != nullptr) *end = '\0';
    uintptr_t from = 0, to = 0;
    if (std::sscanf(line, "%" SCNxPTR "-%" SCNxPTR, &from, &to) == 2) {
      if (rip >= from && rip < to) std::fprintf(stderr, "rip lies in: %s\n", line);
      if (rsp >= from && rsp < to) std::fprintf(stderr, "rsp lies in: %s\n", line);
    }
    if (end == nullptr) break;
    line = end + 1;
  }
  _exit(3);
}

long Arg(int argc, char** argv, int i, long fallback) {
  return argc > i ? std::strtol(argv[i], nullptr, 10) : fallback;
}

}  // namespace

int main(int argc, char** argv) {
  const long m = Arg(argc, argv, 1, 16), k = Arg(argc, argv, 2, 512), n = Arg(argc, argv, 3, 1536);
  const long iterations = Arg(argc, argv, 4, 20000);
  pthread_attr_t attr;
  void* base = nullptr;
  size_t size = 0;
  if (pthread_getattr_np(pthread_self(), &attr) != 0 ||
      pthread_attr_getstack(&attr, &base, &size) != 0) {
    std::fprintf(stderr, "cannot read the main thread's stack bounds\n");
    return 2;
  }
  stack_low = reinterpret_cast<uintptr_t>(base);
  stack_high = stack_low + size;

  std::vector<float> a(m * k, 0.5f), b(k * n, 0.25f), c(m * n);
  struct sigaction action = {};
  action.sa_sigaction = OnAlarm;
  action.sa_flags = SA_SIGINFO;
  sigaction(SIGALRM, &action, nullptr);
  const itimerval every_200us = {{0, 200}, {0, 200}};
  setitimer(ITIMER_REAL, &every_200us, nullptr);
  for (long i = 0; i < iterations; ++i) {
    dnnl_sgemm('N', 'N', m, n, k, 1.0f, a.data(), k, b.data(), n, 0.0f, c.data(), n);
  }
  const itimerval off = {};
  setitimer(ITIMER_REAL, &off, nullptr);
  std::printf("m=%ld k=%ld n=%ld: %ld alarms, every handler ran on the thread's stack\n", m, k, n,
              alarms.load());
  return 0;
}
