// The file service: a node's work root, confined, and the transfers between nodes.
//
// Every path a peer or a user gives is relative to the node's work root, '/'-separated;
// absolute paths, ".." and symlinks that lead outside are refused (forbidden) before
// anything is touched. The layout of the work root is this service's alone:
//   store/<sha256>                     content-addressed files (inputs, results), read-only
//   work/<workflow>/<task>/a<attempt>/ a task's work directory (its outputs stay here)
// and, in the capture root (deploy.xml's capture-root, off the work root by default, so a
// full work root cannot swallow a task's error messages):
//   <workflow>/<task>/a<attempt>.out, .err       its captured stdout and stderr
// (<task> is the task id with an array index written ".i": model[17] → model.17.)
//
// Impl: "local" (services/file/impl/local.*). FileRemote (remote.h) speaks FileLogic to a
// peer; Peers hands out one or the other.
//
// Every method may be called from any thread; none blocks a thread (disk work runs on the
// node's worker pool). Readers and writers are owned by their caller and used by one
// coroutine at a time.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "node/core/status.h"
#include "node/model/file.h"
#include "node/model/task.h"

namespace fvce::file {

// A file being read in pieces: a local file, or a peer's streamed over one connection.
class FileReader {
 public:
  virtual ~FileReader() = default;
  // The bytes this reader delivers in all (the range asked for, clipped to the file).
  virtual std::uint64_t size() const = 0;
  // The size of the whole file.
  virtual std::uint64_t file_size() const = 0;
  // Reads the next bytes, at most max, into data; 0 at the end. Errors: io-error (the local
  // disk, or the file shrank while it was read), unavailable or timeout (the peer).
  virtual boost::asio::awaitable<Result<std::size_t>> read(char* data, std::size_t max) = 0;
};

// A file being written in pieces under a temporary name: nothing is visible at its path
// until commit(), and an abandoned or destroyed writer leaves nothing behind.
class FileWriter {
 public:
  virtual ~FileWriter() = default;
  // Appends n bytes. Errors: io-error (e.g. the disk is full), too-large (more than the
  // size announced), unavailable or timeout (the peer).
  virtual boost::asio::awaitable<Status> write(const char* data, std::size_t n) = 0;
  // Checks what was written against what open_write was told (SHA-256, size), moves it into
  // place atomically (fsynced) and returns its entry, with sha256 set. Errors:
  // invalid-argument (checksum or size mismatch: nothing is kept), conflict (a directory is
  // in the way), io-error. The writer is spent afterwards, whatever the outcome.
  virtual boost::asio::awaitable<Result<model::FileEntry>> commit() = 0;
  // Drops what was written. Idempotent.
  virtual boost::asio::awaitable<void> abandon() = 0;
};

struct WriteOptions {
  std::string sha256;                 // the content's SHA-256 (hex); "" = not checked
  std::optional<std::uint64_t> size;  // the content's size; a peer's writer needs it
  bool executable = false;            // the file gets the execute bits
};

inline constexpr std::uint64_t kToEnd = std::numeric_limits<std::uint64_t>::max();

class FileLogic {
 public:
  virtual ~FileLogic() = default;

  // Entries of a directory (not recursive), sorted by name. Errors: not-found, forbidden,
  // invalid-argument (not a directory).
  virtual boost::asio::awaitable<Result<model::FileList>> list(std::string path) = 0;
  // One entry; with_sha256 also hashes a regular file. Errors: not-found, forbidden.
  virtual boost::asio::awaitable<Result<model::FileEntry>> stat(std::string path,
                                                                bool with_sha256) = 0;
  // Bytes [offset, offset+length) of a file, at most 8 MiB (larger reads: open_read).
  // Errors: not-found, forbidden, invalid-argument (offset past the end, not a file).
  virtual boost::asio::awaitable<Result<std::string>> read(std::string path, std::uint64_t offset,
                                                           std::uint64_t length) = 0;
  // Lines first..last (1-based, inclusive; capped at 100,000 lines and 8 MiB).
  // How many lines a file has (a last line without a newline counts). Errors as read().
  virtual boost::asio::awaitable<Result<std::uint64_t>> count_lines(std::string path) = 0;
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

  // Streams bytes [offset, offset+length) of a file, of any size. Errors: not-found,
  // forbidden, invalid-argument (offset past the end, not a regular file), unavailable.
  virtual boost::asio::awaitable<Result<std::unique_ptr<FileReader>>> open_read(
      std::string path, std::uint64_t offset = 0, std::uint64_t length = kToEnd) = 0;
  // Streams a new content for path (parents are created). A path store/<sha256> is the
  // store's: options.sha256 must be that hash, and the file becomes read-only. Errors:
  // forbidden, conflict (path is a directory or the work root), invalid-argument (a store
  // path whose name is not options.sha256), too-large, unavailable.
  virtual boost::asio::awaitable<Result<std::unique_ptr<FileWriter>>> open_write(
      std::string path, WriteOptions options) = 0;
  // The entry of store/<sha256> (with sha256 set). Errors: not-found when the store does not
  // hold it, invalid-argument (not a SHA-256).
  virtual boost::asio::awaitable<Result<model::FileEntry>> store_entry(std::string sha256) = 0;
};

// "model[17]" → "model.17": a task's directory name under work/<workflow>/.
std::string task_dir_name(std::string_view task);

// One attempt's place in the work root (see the layout above).
struct TaskDir {
  std::string workdir;  // work/<workflow>/<task>/a<attempt>, relative to the work root
  std::filesystem::path workdir_abs, out_abs, err_abs;
};

// What the node's own services use beyond the wire interface.
class LocalFile : public FileLogic {
 public:
  virtual const std::filesystem::path& work_root() const = 0;
  // The largest upload one write may carry (deploy.xml's max-upload).
  virtual std::uint64_t max_upload() const = 0;
  // The absolute path of a work-root-relative path, after the confinement checks. Errors:
  // forbidden (absolute, "..", or a symlink leading outside), invalid-argument (empty).
  // Blocking only for the few lstat calls of the checks.
  virtual Result<std::filesystem::path> resolve(std::string_view path) const = 0;
  // Copies the file ref describes from ref.source to dest (relative to the work root):
  // streamed through Peers (this node's own file service when the source is this node),
  // checked against ref.sha256 and ref.size, written to a temporary name, fsynced and
  // renamed, so dest never holds a partial or wrong file. A file this node's store already
  // holds is linked (or copied) from there instead. Transient failures (unavailable, timeout)
  // are retried with back-off, and so is a transfer that arrived cut short or corrupted.
  // Errors: unavailable (source unreachable), io-error, not-found (the source has no such
  // file, or its copy is damaged: it did not match in any try).
  virtual boost::asio::awaitable<Status> fetch(model::FileRef ref, std::string dest) = 0;
  // The SHA-256 (hex) and size of a local file.
  virtual boost::asio::awaitable<Result<std::pair<std::string, std::uint64_t>>> hash(
      std::string path) = 0;

  // --- task work directories (for the execute service) ---

  // A fresh work directory for the attempt (one left by an earlier run of the same attempt
  // is removed first), the parents of inputs in subdirectories, and the capture files' paths.
  virtual boost::asio::awaitable<Result<TaskDir>> prepare_task_dir(
      std::string workflow, std::string task, int attempt,
      std::vector<std::string> input_names) = 0;
  // A declared output of a finished attempt, as the FileRef its consumers fetch it by
  // (source = this node, hashed). Errors: not-found ("did not write output"),
  // invalid-argument (not a regular file), forbidden.
  virtual boost::asio::awaitable<Result<model::FileRef>> task_output(const TaskDir& dir,
                                                                     std::string name) = 0;
  // The tail (at most max_bytes) of an attempt's captured stream ("stdout" or "stderr");
  // attempt 0 = the latest there is. Errors: not-found, invalid-argument.
  virtual boost::asio::awaitable<Result<std::string>> task_log(std::string workflow,
                                                               std::string task, int attempt,
                                                               std::string stream,
                                                               std::uint64_t max_bytes) = 0;
  // Removes the attempt directories of a workflow (or of one task when task is set), except
  // those in keep (workdir paths of attempts still active); the captures stay.
  virtual boost::asio::awaitable<Status> remove_task_dirs(std::string workflow, std::string task,
                                                          std::set<std::string> keep) = 0;
};

}  // namespace fvce::file
