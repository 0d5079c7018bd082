#include <pthread.h>
#include <signal.h>

#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "tests/fuzz/fuzz_target.h"

namespace attnserve::fuzz {

namespace {
std::string& Reason() {
  static std::string* reason = new std::string;
  return *reason;
}
}  // namespace

void MarkUnavailable(const std::string& reason) {
  if (Reason().empty()) std::fprintf(stderr, "fuzz target unavailable: %s\n", reason.c_str());
  Reason() = reason;
}

const std::string& UnavailableReason() { return Reason(); }

const std::string& ScratchDir() {
  static const std::string* dir = [] {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "attnserve-fuzz-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      std::perror("mkdtemp");
      std::abort();
    }
    return new std::string(pattern);
  }();
  return *dir;
}

void WriteFileOrDie(const std::string& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) {
    std::fprintf(stderr, "cannot write %s\n", path.c_str());
    std::abort();
  }
}

namespace {
// The thread behind RunOnSignalFreeThread: it takes one job at a time.
class SignalFreeThread {
 public:
  SignalFreeThread() {
    // Block the asynchronous signals while the thread is created so that it
    // starts with them blocked (a new thread inherits its creator's mask).
    // Faults stay open: a blocked SIGSEGV would kill the process before the
    // sanitizer could report it (ASan handles those on its own altstack).
    sigset_t asynchronous, previous;
    sigfillset(&asynchronous);
    for (int fault : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGABRT, SIGSYS}) {
      sigdelset(&asynchronous, fault);
    }
    pthread_sigmask(SIG_BLOCK, &asynchronous, &previous);
    thread_ = std::thread([this] { Loop(); });
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    thread_.detach();  // lives as long as the fuzzer process
  }

  void Run(const std::function<void()>& work) {
    std::unique_lock<std::mutex> lock(mu_);
    job_ = &work;
    done_ = false;
    wake_.notify_all();
    wake_.wait(lock, [this] { return done_; });
  }

 private:
  void Loop() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      wake_.wait(lock, [this] { return job_ != nullptr; });
      const std::function<void()>* job = job_;
      lock.unlock();
      (*job)();
      lock.lock();
      job_ = nullptr;
      done_ = true;
      wake_.notify_all();
    }
  }

  std::mutex mu_;
  std::condition_variable wake_;
  const std::function<void()>* job_ = nullptr;
  bool done_ = false;
  std::thread thread_;
};
}  // namespace

void RunOnSignalFreeThread(const std::function<void()>& work) {
  static SignalFreeThread* thread = new SignalFreeThread;
  thread->Run(work);
}

std::string ModelDirIfPresent() {
  const char* env = std::getenv("ATTNSERVE_MODEL_DIR");
  const std::string dir = env != nullptr && *env != '\0' ? env : "models/use-lite";
  return std::filesystem::exists(dir + "/model.json") ? dir : "";
}

}  // namespace attnserve::fuzz
