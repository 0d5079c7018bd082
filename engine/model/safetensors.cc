#include "engine/model/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <limits>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace attnserve {
namespace {

static_assert(std::endian::native == std::endian::little,
              "safetensors data is little-endian; a big-endian host would need byte swaps");

using json = nlohmann::json;

// The reference implementation's cap: a larger header is not a model.
constexpr uint64_t kMaxHeaderBytes = uint64_t{100} << 20;

int DTypeBytes(SafetensorsDType d) { return d == SafetensorsDType::kF32 ? 4 : 2; }

absl::Status Bad(const std::string& source, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat(source, ": ", what));
}

float HalfToFloat(uint16_t h) {
  const uint32_t sign = uint32_t{h & 0x8000u} << 16;
  const uint32_t exp = (h >> 10) & 0x1f;
  uint32_t mant = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: renormalise
      int e = -1;
      do {
        ++e;
        mant <<= 1;
      } while ((mant & 0x400u) == 0);
      bits = sign | (static_cast<uint32_t>(127 - 15 - e) << 23) | ((mant & 0x3ffu) << 13);
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  return std::bit_cast<float>(bits);
}

float Bf16ToFloat(uint16_t b) { return std::bit_cast<float>(uint32_t{b} << 16); }

}  // namespace

const char* SafetensorsDTypeName(SafetensorsDType dtype) {
  switch (dtype) {
    case SafetensorsDType::kF32:
      return "F32";
    case SafetensorsDType::kF16:
      return "F16";
    case SafetensorsDType::kBF16:
      return "BF16";
  }
  return "?";
}

absl::StatusOr<std::vector<SafetensorsEntry>> ParseSafetensorsHeader(
    std::string_view bytes, const std::string& source, uint64_t* data_offset,
    std::map<std::string, std::string>* metadata) {
  if (bytes.size() < 8) {
    return Bad(source, absl::StrCat("truncated: ", bytes.size(),
                                    " bytes, fewer than the 8-byte header length"));
  }
  uint64_t header_len = 0;
  std::memcpy(&header_len, bytes.data(), 8);
  if (header_len > bytes.size() - 8) {
    return Bad(source, absl::StrCat("header length ", header_len,
                                    " runs past the end of the file (", bytes.size(), " bytes)"));
  }
  if (header_len > kMaxHeaderBytes) {
    return Bad(source, absl::StrCat("header length ", header_len, " exceeds ", kMaxHeaderBytes));
  }
  const json header = json::parse(bytes.substr(8, header_len), nullptr, /*allow_exceptions=*/false);
  if (header.is_discarded()) return Bad(source, "header is not valid JSON");
  if (!header.is_object()) return Bad(source, "header is not a JSON object");
  const uint64_t data_size = bytes.size() - 8 - header_len;
  *data_offset = 8 + header_len;

  std::vector<SafetensorsEntry> entries;
  for (const auto& [name, value] : header.items()) {
    if (name == "__metadata__") {
      if (!value.is_object()) return Bad(source, "__metadata__ is not an object");
      for (const auto& [key, v] : value.items()) {
        if (!v.is_string()) {
          return Bad(source, absl::StrCat("__metadata__.", key, " is not a string"));
        }
        if (metadata != nullptr) (*metadata)[key] = v.get<std::string>();
      }
      continue;
    }
    const std::string where = absl::StrCat("tensor '", name, "': ");
    if (!value.is_object()) return Bad(source, where + "entry is not an object");
    SafetensorsEntry e;
    e.name = name;
    const auto dtype = value.find("dtype");
    if (dtype == value.end() || !dtype->is_string()) return Bad(source, where + "no dtype string");
    const std::string d = dtype->get<std::string>();
    if (d == "F32") {
      e.dtype = SafetensorsDType::kF32;
    } else if (d == "F16") {
      e.dtype = SafetensorsDType::kF16;
    } else if (d == "BF16") {
      e.dtype = SafetensorsDType::kBF16;
    } else if ((d == "I64" || d == "I32") && absl::EndsWith(name, "position_ids")) {
      e.ignored = true;  // a saved position-id buffer, not a weight
    } else {
      return Bad(source, absl::StrCat(where, "dtype ", d,
                                      " is not supported (attnserve reads F32, F16, BF16)"));
    }
    const auto shape = value.find("shape");
    if (shape == value.end() || !shape->is_array()) return Bad(source, where + "no shape array");
    uint64_t elements = 1;
    for (const json& dim : *shape) {
      if (!dim.is_number_unsigned()) {
        return Bad(source, where + "shape entries must be non-negative integers");
      }
      const uint64_t n = dim.get<uint64_t>();
      if (n > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
          (n != 0 && elements > std::numeric_limits<uint64_t>::max() / 8 / n)) {
        return Bad(source, where + "shape overflows");
      }
      elements *= n;
      e.shape.push_back(static_cast<int64_t>(n));
    }
    const auto offsets = value.find("data_offsets");
    if (offsets == value.end() || !offsets->is_array() || offsets->size() != 2 ||
        !(*offsets)[0].is_number_unsigned() || !(*offsets)[1].is_number_unsigned()) {
      return Bad(source, where + "data_offsets must be two non-negative integers");
    }
    e.begin = (*offsets)[0].get<uint64_t>();
    e.end = (*offsets)[1].get<uint64_t>();
    if (e.begin > e.end || e.end > data_size) {
      return Bad(source, absl::StrCat(where, "data_offsets [", e.begin, ", ", e.end,
                                      ") lie outside the data region of ", data_size, " bytes"));
    }
    const uint64_t want = elements * (e.ignored ? (d == "I64" ? 8 : 4) : DTypeBytes(e.dtype));
    if (e.end - e.begin != want) {
      return Bad(source, absl::StrCat(where, "shape ", ShapeToString(e.shape), " of ", d, " needs ",
                                      want, " bytes, data_offsets give ", e.end - e.begin));
    }
    entries.push_back(std::move(e));
  }
  std::vector<const SafetensorsEntry*> by_offset;
  for (const SafetensorsEntry& e : entries) by_offset.push_back(&e);
  std::sort(by_offset.begin(), by_offset.end(),
            [](const SafetensorsEntry* a, const SafetensorsEntry* b) {
              return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
            });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    if (by_offset[i]->begin < by_offset[i - 1]->end) {
      return Bad(source, absl::StrCat("tensors '", by_offset[i - 1]->name, "' and '",
                                      by_offset[i]->name, "' overlap"));
    }
  }
  return entries;
}

struct SafetensorsFile::Mapping {
  void* addr = nullptr;
  size_t size = 0;
  ~Mapping() {
    if (addr != nullptr) munmap(addr, size);
  }
};

absl::StatusOr<SafetensorsFile> SafetensorsFile::Open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    const std::string why = absl::StrCat(path, ": ", std::strerror(err));
    return err == ENOENT ? absl::NotFoundError(why) : absl::UnavailableError(why);
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return absl::FailedPreconditionError(absl::StrCat(path, ": not a regular file"));
  }
  auto mapping = std::make_shared<Mapping>();
  mapping->size = static_cast<size_t>(st.st_size);
  if (mapping->size > 0) {
    void* addr = mmap(nullptr, mapping->size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (addr == MAP_FAILED) {
      const int err = errno;
      ::close(fd);
      return absl::UnavailableError(absl::StrCat(path, ": mmap: ", std::strerror(err)));
    }
    mapping->addr = addr;
  }
  ::close(fd);  // the mapping keeps the file's pages

  const char* base = static_cast<const char*>(mapping->addr);
  uint64_t data_offset = 0;
  SafetensorsFile file;
  file.path_ = path;
  auto entries =
      ParseSafetensorsHeader(std::string_view(base == nullptr ? "" : base, mapping->size), path,
                             &data_offset, &file.metadata_);
  if (!entries.ok()) return entries.status();
  const char* data = base + data_offset;
  for (const SafetensorsEntry& e : *entries) {
    if (e.ignored) continue;
    TensorView t;
    t.name = e.name;
    t.shape = e.shape;
    t.dtype = DType::kFloat32;
    t.num_elements = static_cast<int64_t>((e.end - e.begin) / DTypeBytes(e.dtype));
    const char* src = data + e.begin;
    if (e.dtype == SafetensorsDType::kF32 && reinterpret_cast<uintptr_t>(src) % 4 == 0) {
      t.data = src;  // used in place from the mapping
    } else {
      std::unique_ptr<float[]> out(new float[std::max<int64_t>(1, t.num_elements)]);
      if (e.dtype == SafetensorsDType::kF32) {
        std::memcpy(out.get(), src, e.end - e.begin);
      } else {
        for (int64_t i = 0; i < t.num_elements; ++i) {
          uint16_t h;
          std::memcpy(&h, src + 2 * i, 2);
          out[i] = e.dtype == SafetensorsDType::kF16 ? HalfToFloat(h) : Bf16ToFloat(h);
        }
      }
      t.data = out.get();
      file.converted_.push_back(std::move(out));
    }
    file.index_[t.name] = file.tensors_.size();
    file.tensors_.push_back(std::move(t));
    file.source_dtypes_.push_back(e.dtype);
  }
  file.mapping_ = std::move(mapping);
  return file;
}

absl::StatusOr<const TensorView*> SafetensorsFile::Find(std::string_view name) const {
  auto it = index_.find(std::string(name));
  if (it == index_.end()) {
    return absl::NotFoundError(absl::StrCat(path_, ": no tensor '", std::string(name), "'"));
  }
  return &tensors_[it->second];
}

absl::StatusOr<const float*> SafetensorsFile::Float32(std::string_view name,
                                                      const std::vector<int64_t>& shape) const {
  auto it = index_.find(std::string(name));
  if (it == index_.end()) {
    return absl::NotFoundError(absl::StrCat(path_, ": no tensor '", std::string(name),
                                            "' (expected shape ", ShapeToString(shape), ")"));
  }
  const TensorView& t = tensors_[it->second];
  if (t.shape != shape) {
    return absl::InvalidArgumentError(absl::StrCat(path_, ": tensor '", std::string(name),
                                                   "' has shape ", ShapeToString(t.shape),
                                                   ", expected ", ShapeToString(shape)));
  }
  return t.f32();
}

SafetensorsDType SafetensorsFile::source_dtype(std::string_view name) const {
  auto it = index_.find(std::string(name));
  return it == index_.end() ? SafetensorsDType::kF32 : source_dtypes_[it->second];
}

int64_t SafetensorsFile::float_bytes() const {
  int64_t n = 0;
  for (const TensorView& t : tensors_) n += 4 * t.num_elements;
  return n;
}

}  // namespace attnserve
