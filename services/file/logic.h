// The file service: a node's work root, confined, and the transfers between nodes.
//
// Every path a peer or a user gives is relative to the node's work root, '/'-separated;
// absolute paths, ".." and symlinks that lead outside are refused (forbidden) before
// anything is touched. Layout of the work root:
//   store/<sha256>                     content-addressed files (inputs, results)
//   work/<workflow>/<task>/a<attempt>/ a task's work directory (its outputs stay here)
//   work/<workflow>/<task>/a<attempt>.out, .err   its captured stdout and stderr
//
// Impl: "local" (services/file/impl/local.*). FileRemote speaks the same interface.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <filesystem>
#include <string>

#include "node/core/status.h"
#include "node/model/file.h"
#include "node/model/task.h"

namespace fvce::file {

class FileLogic {
 public:
  virtual ~FileLogic() = default;

  // Entries of a directory (not recursive), sorted by name. Errors: not-found, forbidden,
  // invalid-argument (not a directory).
  virtual boost::asio::awaitable<Result<model::FileList>> list(std::string path) = 0;
  // One entry; with_sha256 also hashes a regular file (streamed, off the I/O threads).
  virtual boost::asio::awaitable<Result<model::FileEntry>> stat(std::string path,
                                                                bool with_sha256) = 0;
  // Bytes [offset, offset+length) of a file (length capped at 8 MiB; larger reads stream
  // through GET /file/content).
  virtual boost::asio::awaitable<Result<std::string>> read(std::string path, std::uint64_t offset,
                                                           std::uint64_t length) = 0;
  // Lines first..last (1-based, inclusive; capped at 100,000 lines and 8 MiB).
  virtual boost::asio::awaitable<Result<std::string>> read_lines(std::string path,
                                                                 std::uint64_t first,
                                                                 std::uint64_t last) = 0;
  // Replaces (or creates) a file with content, atomically. Parent directories are created.
  virtual boost::asio::awaitable<Status> write(std::string path, std::string content) = 0;
  virtual boost::asio::awaitable<Status> mkdir(std::string path) = 0;
  // Removes a file, or a directory with everything below it. Errors: not-found, forbidden
  // (including the work root itself).
  virtual boost::asio::awaitable<Status> remove(std::string path) = 0;
  // Entries below path (recursive) whose name matches a glob pattern (*, ?, [..]), at most
  // limit of them (the list says when it was truncated).
  virtual boost::asio::awaitable<Result<model::FileList>> find(std::string path,
                                                               std::string pattern,
                                                               std::size_t limit) = 0;
};

// What the node's own services use beyond the wire interface.
class LocalFile : public FileLogic {
 public:
  virtual const std::filesystem::path& work_root() const = 0;
  // The absolute path of a work-root-relative path, after the confinement checks. Errors:
  // forbidden (absolute, "..", or a symlink leading outside), invalid-argument (empty).
  virtual Result<std::filesystem::path> resolve(std::string_view path) const = 0;
  // Copies the file ref describes from ref.source (this node or a peer) to dest (relative
  // to the work root): streamed, checked against ref.sha256 and ref.size, written to a
  // temporary name, fsynced and renamed, so dest never holds a partial or wrong file.
  // A ref whose file is already in this node's store is copied (or hard-linked) locally.
  // Errors: unavailable (source unreachable), io-error, invalid-argument (checksum mismatch).
  virtual boost::asio::awaitable<Status> fetch(model::FileRef ref, std::string dest) = 0;
  // The SHA-256 (hex) and size of a local file, computed off the I/O threads.
  virtual boost::asio::awaitable<Result<std::pair<std::string, std::uint64_t>>> hash(
      std::string path) = 0;
};

}  // namespace fvce::file
