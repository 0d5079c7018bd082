#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

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

std::string ModelDirIfPresent() {
  const char* env = std::getenv("ATTNSERVE_MODEL_DIR");
  const std::string dir = env != nullptr && *env != '\0' ? env : "models/use-lite";
  return std::filesystem::exists(dir + "/model.json") ? dir : "";
}

}  // namespace attnserve::fuzz
