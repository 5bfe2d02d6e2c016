// File helpers shared by the Marmousi programs.
//
// Every output is written through AtomicFile: bytes go to "<path>.tmp.<pid>", which is
// fsynced and renamed onto <path> by Commit(). A crash or error therefore never leaves a
// partial file under the final name; an uncommitted AtomicFile removes its temporary.
#pragma once

#include <cstdint>
#include <cstdio>
#include <span>
#include <string>
#include <vector>

#include "status.h"

namespace marmousi {

class AtomicFile {
 public:
  AtomicFile() = default;
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  // Creates the temporary file next to `path`.
  Status Open(const std::string& path);
  Status Write(const void* data, size_t bytes);
  // fsync, close and rename onto the final path.
  Status Commit();

  const std::string& path() const { return path_; }
  const std::string& temp_path() const { return temp_path_; }

 private:
  std::string path_;
  std::string temp_path_;
  std::FILE* file_ = nullptr;
  bool committed_ = false;
};

// Renames `temp_path` onto `path` after fsyncing it; for files written by other libraries
// (segyio, libpng) to a temporary name chosen by TempPathFor().
Status CommitTempFile(const std::string& temp_path, const std::string& path);
std::string TempPathFor(const std::string& path);

// Reads a whole file; fails naming the file if it is missing or unreadable.
Status ReadFile(const std::string& path, std::vector<uint8_t>* bytes);

// Decompresses a gzip file (zlib) into `bytes`, refusing more than `max_bytes`.
Status ReadGzipFile(const std::string& path, size_t max_bytes, std::vector<uint8_t>* bytes);

// Lower-case hex SHA-256 (OpenSSL EVP) of `data`.
std::string Sha256Hex(std::span<const uint8_t> data);

}  // namespace marmousi
