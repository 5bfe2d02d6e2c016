// Building blocks shared by the file service's impl, its HTTP routes and its transfer
// client: SHA-256 hashing (OpenSSL EVP) and files written under a temporary name and renamed
// into place.
//
// Everything here that touches the disk blocks the calling thread; coroutines call it
// through on_workers() (node/core/workers.h) so the I/O threads never wait for the disk.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include "node/core/random.h"
#include "node/core/status.h"
#include "node/core/workers.h"

namespace fvce::file {

// Bytes moved per read or write in a transfer: large enough to amortise a hop to the worker
// pool, small enough that a handful of concurrent transfers stay within a few MiB.
inline constexpr std::size_t kChunkSize = 1u << 20;

// The header carrying a body's expected SHA-256 (PUT) and a file's full size (GET).
inline constexpr std::string_view kSha256Header = "X-Fvce-Sha256";
inline constexpr std::string_view kSizeHeader = "X-Fvce-Size";

// True when text is 64 lowercase hex digits (the wire form of a SHA-256).
bool is_sha256_hex(std::string_view text);

struct Digest {
  std::string sha256;  // lowercase hex
  std::uint64_t size = 0;
};

// Incremental SHA-256. Not thread-safe; may move between threads between calls.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(const void* data, std::size_t n);
  // The hex digest of everything added; the object is spent afterwards.
  std::string final_hex();

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

// Hashes a file, streamed in kChunkSize pieces. Blocking. Errors: not-found, invalid-argument
// (not a regular file), io-error.
Result<Digest> sha256_file(const std::filesystem::path& path);

// A file descriptor that closes itself.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = o.release();
    }
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset();

 private:
  int fd_ = -1;
};

// A regular file opened for reading. Errors: not-found, invalid-argument (not a regular
// file), io-error. size_out receives its size.
Result<UniqueFd> open_for_reading(const std::filesystem::path& path, std::uint64_t* size_out);
// Reads up to n bytes at offset (fewer only at the end of the file). Blocking.
Result<std::size_t> read_at(int fd, char* data, std::size_t n, std::uint64_t offset);

// Creates the directories of path that do not exist. Blocking.
Status make_parent_dirs(const std::filesystem::path& path);
// fsyncs a directory, so that a rename inside it survives a crash. Best effort.
void sync_dir(const std::filesystem::path& dir);

// A file being written to "<dest>.part-<random>" (in dest's directory, so the final rename is
// atomic) and hashed as it is written. Until commit() the destination is untouched; an
// uncommitted part file is removed by abandon() or the destructor. Blocking methods; one
// thread at a time (it may move between threads between calls). Movable, not copyable.
class PartialFile {
 public:
  // Opens a new part file beside dest (dest's directory must exist), its name drawn from
  // random. Errors: io-error.
  static Result<PartialFile> Create(const std::filesystem::path& dest, Random& random);

  PartialFile(PartialFile&& o) noexcept;
  PartialFile& operator=(PartialFile&&) noexcept;
  ~PartialFile();

  const std::filesystem::path& dest() const { return dest_; }
  const std::filesystem::path& part() const { return part_; }
  std::uint64_t size() const { return size_; }

  // Appends n bytes. Errors: io-error (e.g. the disk is full).
  Status append(const char* data, std::size_t n);
  // Flushes to disk (fsync) and returns what was written. Call once, before commit().
  Result<Digest> finish();
  // Sets the permission bits and renames the part file over dest, then syncs the directory.
  Status commit(mode_t mode);
  // Removes the part file. Idempotent.
  void abandon();

 private:
  PartialFile(std::filesystem::path dest, std::filesystem::path part, UniqueFd fd)
      : dest_(std::move(dest)), part_(std::move(part)), fd_(std::move(fd)) {}

  std::filesystem::path dest_;
  std::filesystem::path part_;
  UniqueFd fd_;
  Sha256 hash_;
  std::uint64_t size_ = 0;
  bool done_ = false;  // committed or abandoned: nothing to clean up
};

}  // namespace fvce::file
