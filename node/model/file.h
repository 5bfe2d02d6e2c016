// Model types of the file service.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace fvce::model {

enum class FileType { file, dir, symlink, other };

struct FileEntry {
  std::string path;  // relative to the work root, '/'-separated
  FileType type = FileType::file;
  std::uint64_t size = 0;
  std::int64_t mtime = 0;  // unix ms
  std::uint32_t mode = 0;  // permission bits
  std::string sha256;      // when computed (stat with ?sha256=true), else empty
  bool operator==(const FileEntry&) const = default;
};

struct FileList {
  std::string path;
  std::vector<FileEntry> entries;
  bool truncated = false;
  bool operator==(const FileList&) const = default;
};

}  // namespace fvce::model
