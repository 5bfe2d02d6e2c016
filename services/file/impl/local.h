// The "local" file impl: the work root is a directory on this host's file system.
//
// Thread-safety: every method may be called from any thread and concurrently; the object
// holds no mutable state beyond what the file system holds. Blocking work (hashing, reads
// and writes of file contents, recursive walks and removals) runs on the node's worker
// pool (NodeContext::workers) and the coroutine resumes on its caller's executor; without
// a pool it runs inline. Coroutines keep the object alive (shared_from_this) while they run.
//
// Concurrent writers of the same path do not corrupt each other: each writes its own part
// file and the last rename wins.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "node/core/backoff.h"
#include "node/node_context.h"
#include "services/file/logic.h"
#include "services/file/transfer.h"

namespace fvce::file {

struct LocalFileOptions {
  std::filesystem::path work_root;  // created when missing; made absolute
  // Where tasks' captured stdout and stderr go, off the work root so that a full work root
  // cannot take a task's error messages with it ("" = <work_root>/captures). Created when
  // missing.
  std::filesystem::path capture_root;
  std::uint64_t max_upload = 64ull << 30;  // bytes accepted by one write
  std::size_t list_limit = 10'000;         // entries per list or find answer
  int fetch_attempts = 3;                  // tries of a fetch from a peer (unavailable/timeout)
  Backoff fetch_backoff{std::chrono::milliseconds(200), std::chrono::milliseconds(5'000)};
};

// Whether a directory may be a work root: not a system directory (/, /etc, /usr, /var, /tmp,
// /home, ...), nothing inside /etc, /usr and the other system trees, and not a user's home
// directory itself. Errors: invalid-argument naming the directory and why.
Status check_work_root(const std::filesystem::path& root);

// A path after the confinement checks.
struct ResolvedPath {
  std::filesystem::path absolute;  // under the work root
  std::string relative;            // normalised, '/'-separated; "." for the root itself
};

// Read limits of the contract (logic.h).
inline constexpr std::uint64_t kMaxRead = 8u << 20;
inline constexpr std::uint64_t kMaxLines = 100'000;

class LocalFileService final : public LocalFile,
                               public std::enable_shared_from_this<LocalFileService> {
 public:
  // Creates the work root (and its store/ and work/ folders) and the capture root, and removes part
  // files a crash left in store/. ctx must outlive the service; ctx.self.address and ctx.workers
  // are read at each call. Errors: io-error when the work root cannot be created.
  static Result<std::shared_ptr<LocalFileService>> Create(const NodeContext& ctx,
                                                          LocalFileOptions options);

  // FileLogic
  boost::asio::awaitable<Result<model::FileList>> list(std::string path) override;
  boost::asio::awaitable<Result<model::FileEntry>> stat(std::string path,
                                                        bool with_sha256) override;
  boost::asio::awaitable<Result<std::string>> read(std::string path, std::uint64_t offset,
                                                   std::uint64_t length) override;
  boost::asio::awaitable<Result<std::uint64_t>> count_lines(std::string path) override;
  boost::asio::awaitable<Result<std::string>> read_lines(std::string path, std::uint64_t first,
                                                         std::uint64_t last) override;
  boost::asio::awaitable<Status> write(std::string path, std::string content) override;
  boost::asio::awaitable<Status> mkdir(std::string path) override;
  boost::asio::awaitable<Status> remove(std::string path) override;
  boost::asio::awaitable<Result<model::FileList>> find(std::string path, std::string pattern,
                                                       std::size_t limit) override;
  boost::asio::awaitable<Result<std::unique_ptr<FileReader>>> open_read(
      std::string path, std::uint64_t offset, std::uint64_t length) override;
  boost::asio::awaitable<Result<std::unique_ptr<FileWriter>>> open_write(
      std::string path, WriteOptions options) override;
  boost::asio::awaitable<Result<model::FileEntry>> store_entry(std::string sha256) override;

  // LocalFile
  const std::filesystem::path& work_root() const override { return root_; }
  std::uint64_t max_upload() const override { return options_.max_upload; }
  Result<std::filesystem::path> resolve(std::string_view path) const override;
  boost::asio::awaitable<Status> fetch(model::FileRef ref, std::string dest) override;
  boost::asio::awaitable<Result<std::pair<std::string, std::uint64_t>>> hash(
      std::string path) override;
  boost::asio::awaitable<Result<TaskDir>> prepare_task_dir(
      std::string workflow, std::string task, int attempt,
      std::vector<std::string> input_names) override;
  boost::asio::awaitable<Result<model::FileRef>> task_output(const TaskDir& dir,
                                                             std::string name) override;
  boost::asio::awaitable<Result<std::string>> task_log(std::string workflow, std::string task,
                                                       int attempt, std::string stream,
                                                       std::uint64_t max_bytes) override;
  boost::asio::awaitable<Status> remove_task_dirs(std::string workflow, std::string task,
                                                  std::set<std::string> keep) override;

  // As resolve(), with the normalised relative form. check_final = false leaves the last
  // component unchecked when it is a symlink: for operations on the link itself (remove),
  // which never follow it.
  Result<ResolvedPath> resolve_path(std::string_view path, bool check_final = true) const;

  const LocalFileOptions& options() const { return options_; }

  // Opens a resolved path for reading and checks, on the open descriptor, that the file it
  // reached lies inside the work root: a link swapped in after resolve_path() checked the
  // path is caught here (forbidden).
  Result<UniqueFd> open_confined(const ResolvedPath& where, std::uint64_t* size_out) const;

 private:
  LocalFileService(const NodeContext& ctx, LocalFileOptions options, std::filesystem::path root)
      : ctx_(ctx), options_(std::move(options)), root_(std::move(root)) {}

  // Copies a file this node's store holds into `to` (a hard link where it can).
  boost::asio::awaitable<Status> fetch_from_store(model::FileRef ref, ResolvedPath to, mode_t mode);
  // Streams the file from ref.source (through Peers) into `to`; one try.
  // One try. *damaged: what arrived did not match ref's size or SHA-256.
  boost::asio::awaitable<Status> fetch_once(const model::FileRef& ref, const ResolvedPath& to,
                                            mode_t mode, bool* damaged);

  const NodeContext& ctx_;
  LocalFileOptions options_;
  std::filesystem::path root_;  // canonical
};

// The entry of an existing path (lstat: a symlink is reported as such). Blocking.
// Errors: not-found, io-error.
Result<model::FileEntry> entry_at(const std::filesystem::path& absolute, std::string relative);

// Permission bits of files in store/: read-only, so a task handed a hard link to a store
// file cannot change the store's copy; executable when asked for.
inline constexpr mode_t kStoreMode = 0444;

}  // namespace fvce::file
