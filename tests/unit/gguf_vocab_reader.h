// Minimal GGUF reader for tests: the header, the metadata key/value pairs
// (skipped by type) and one string array, e.g. tokenizer.ggml.tokens. Not
// used by the engine; just enough to read llama.cpp's vocabulary-only files.
#ifndef ATTNSERVE_TESTS_UNIT_GGUF_VOCAB_READER_H_
#define ATTNSERVE_TESTS_UNIT_GGUF_VOCAB_READER_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace attnserve::testing {

// The string array stored under `key` in the GGUF file at `path` (GGUF v2/v3,
// little-endian). Errors name the file and what was malformed.
absl::StatusOr<std::vector<std::string>> ReadGgufStringArray(const std::string& path,
                                                             const std::string& key);

}  // namespace attnserve::testing

#endif  // ATTNSERVE_TESTS_UNIT_GGUF_VOCAB_READER_H_
