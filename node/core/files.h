// Small file helpers for durable state: whole-file reads and atomic replacement.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "node/core/random.h"
#include "node/core/status.h"

namespace fvce {

// Reads the whole file. not-found when it does not exist.
Result<std::string> read_file(const std::filesystem::path& path);

// Replaces path with content so that readers see the old or the new file, never a part:
// writes a temporary file beside it, fsyncs it, renames it over path, fsyncs the directory.
// mode: of a new file (before the umask), e.g. 0600 for one holding a secret.
Status write_file_atomic(const std::filesystem::path& path, std::string_view content,
                         unsigned mode = 0644);

// A random UUID (version 4) in canonical text form, drawn from random.
std::string make_uuid(Random& random);

// The directory of the running program (where fvce-node and fvce-exec sit beside fvce), or
// "" when /proc/self/exe cannot be read.
std::string program_dir();

}  // namespace fvce
