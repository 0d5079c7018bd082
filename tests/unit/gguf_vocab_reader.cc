#include "tests/unit/gguf_vocab_reader.h"

#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace attnserve::testing {
namespace {

// GGUF value types (ggml's gguf.h).
enum GgufType : uint32_t {
  kUint8 = 0,
  kInt8 = 1,
  kUint16 = 2,
  kInt16 = 3,
  kUint32 = 4,
  kInt32 = 5,
  kFloat32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kUint64 = 10,
  kInt64 = 11,
  kFloat64 = 12,
};

// Bounds-checked little-endian cursor over the whole file.
class Cursor {
 public:
  explicit Cursor(const std::string& bytes) : bytes_(bytes) {}

  template <typename T>
  bool Read(T* out) {
    if (bytes_.size() - pos_ < sizeof(T)) return false;
    std::memcpy(out, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return true;
  }
  bool ReadString(std::string* out) {
    uint64_t n = 0;
    if (!Read(&n) || bytes_.size() - pos_ < n) return false;
    out->assign(bytes_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  bool Skip(uint64_t n) {
    if (bytes_.size() - pos_ < n) return false;
    pos_ += n;
    return true;
  }
  size_t pos() const { return pos_; }

 private:
  const std::string& bytes_;
  size_t pos_ = 0;
};

size_t ScalarSize(uint32_t type) {
  switch (type) {
    case kUint8:
    case kInt8:
    case kBool:
      return 1;
    case kUint16:
    case kInt16:
      return 2;
    case kUint32:
    case kInt32:
    case kFloat32:
      return 4;
    case kUint64:
    case kInt64:
    case kFloat64:
      return 8;
    default:
      return 0;
  }
}

bool SkipValue(Cursor* c, uint32_t type) {
  if (type == kString) {
    std::string ignored;
    return c->ReadString(&ignored);
  }
  if (type == kArray) {
    uint32_t element = 0;
    uint64_t n = 0;
    if (!c->Read(&element) || !c->Read(&n)) return false;
    if (element == kString || element == kArray) {
      for (uint64_t i = 0; i < n; ++i) {
        if (!SkipValue(c, element)) return false;
      }
      return true;
    }
    const size_t size = ScalarSize(element);
    return size != 0 && n <= UINT64_MAX / size && c->Skip(n * size);
  }
  const size_t size = ScalarSize(type);
  return size != 0 && c->Skip(size);
}

}  // namespace

absl::StatusOr<std::vector<std::string>> ReadGgufStringArray(const std::string& path,
                                                             const std::string& key) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  const std::string bytes = buffer.str();
  const auto error = [&path](const auto&... what) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", what...));
  };

  Cursor c(bytes);
  char magic[4];
  uint32_t version = 0;
  uint64_t tensors = 0, kvs = 0;
  if (!c.Read(&magic) || std::memcmp(magic, "GGUF", 4) != 0) return error("not a GGUF file");
  if (!c.Read(&version) || (version != 2 && version != 3)) {
    return error("unsupported GGUF version ", version);
  }
  if (!c.Read(&tensors) || !c.Read(&kvs)) return error("truncated header");
  for (uint64_t i = 0; i < kvs; ++i) {
    std::string name;
    uint32_t type = 0;
    if (!c.ReadString(&name) || !c.Read(&type)) return error("truncated metadata key ", i);
    if (name != key) {
      if (!SkipValue(&c, type)) return error("malformed metadata value of ", name);
      continue;
    }
    uint32_t element = 0;
    uint64_t n = 0;
    if (type != kArray || !c.Read(&element) || element != kString || !c.Read(&n)) {
      return error(key, " is not an array of strings");
    }
    std::vector<std::string> out;
    for (uint64_t j = 0; j < n; ++j) {
      std::string s;
      if (!c.ReadString(&s)) return error(key, ": truncated at element ", j);
      out.push_back(std::move(s));
    }
    return out;
  }
  return absl::NotFoundError(absl::StrCat(path, ": no metadata key ", key));
}

}  // namespace attnserve::testing
