// The file service spoken to a peer over HTTP, and the streaming transfers.
//
// FileRemote implements FileLogic with the pooled http::Client: fine for listings, stats,
// reads of at most 8 MiB and small writes. Whole files travel with download() and
// upload(), which open their own connection, stream in kChunkSize pieces (never the whole
// file in memory), hash as they go, and put a deadline on every read and write: a
// transfer may take as long as it needs while it makes progress, and fails once it stalls.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>

#include "node/http/client.h"
#include "services/file/logic.h"
#include "services/file/transfer.h"

namespace fvce::file {

class FileRemote final : public FileLogic {
 public:
  // client must outlive this object. address is the peer's "HOST:PORT".
  FileRemote(http::Client& client, std::string address,
             http::RequestOptions options = {std::chrono::milliseconds(10'000), 1})
      : client_(client), address_(std::move(address)), options_(options) {}

  boost::asio::awaitable<Result<model::FileList>> list(std::string path) override;
  boost::asio::awaitable<Result<model::FileEntry>> stat(std::string path,
                                                        bool with_sha256) override;
  boost::asio::awaitable<Result<std::string>> read(std::string path, std::uint64_t offset,
                                                   std::uint64_t length) override;
  boost::asio::awaitable<Result<std::string>> read_lines(std::string path, std::uint64_t first,
                                                         std::uint64_t last) override;
  // PUT /file/content with the content in one body (use upload() for files of any size).
  boost::asio::awaitable<Status> write(std::string path, std::string content) override;
  boost::asio::awaitable<Status> mkdir(std::string path) override;
  boost::asio::awaitable<Status> remove(std::string path) override;
  boost::asio::awaitable<Result<model::FileList>> find(std::string path, std::string pattern,
                                                       std::size_t limit) override;

 private:
  boost::asio::awaitable<Result<std::string>> get_text(std::string target);

  http::Client& client_;
  std::string address_;
  http::RequestOptions options_;
};

struct TransferOptions {
  std::chrono::milliseconds connect_timeout{5'000};  // resolve and connect
  std::chrono::milliseconds io_timeout{30'000};      // each read or write of a chunk
};

// "/file/content?path=..." and the like, with the values percent-encoded.
std::string file_target(std::string_view route, std::string_view path);

// GET /file/content?path=path from the node at address, streamed into into (appended and
// hashed on workers, or inline without a pool), then finished (fsynced). The answer must
// be exactly expected_size bytes. Returns what was written; the caller checks the hash and
// commits or abandons into. Errors: unavailable (cannot connect, connection broke), timeout
// (a read stalled), the peer's error (not-found, forbidden, ...), invalid-argument (size
// differs), io-error (local disk).
boost::asio::awaitable<Result<Digest>> download(std::string address, std::string path,
                                                std::uint64_t expected_size, PartialFile& into,
                                                boost::asio::thread_pool* workers,
                                                TransferOptions options = {});

// PUT /file/content?path=remote_path on the node at address with the bytes of local_file,
// streamed from disk (reads on workers, or inline without a pool) and checked by the peer
// against the SHA-256 computed first (header X-Fvce-Sha256). Returns the peer's entry for
// the new file. Errors: not-found (local file), the peer's (forbidden, too-large,
// invalid-argument on a checksum mismatch), unavailable, timeout.
boost::asio::awaitable<Result<model::FileEntry>> upload(std::string address,
                                                        std::filesystem::path local_file,
                                                        std::string remote_path,
                                                        boost::asio::thread_pool* workers,
                                                        TransferOptions options = {});

// Puts local_file into the store of the node at address (store/<sha256>) for `fvce submit`:
// hashes it (unless sha256 is given), asks GET /file/store?sha256= and sends the bytes
// (PUT /file/store?sha256=) only when the node does not have them yet. Returns the node's
// entry of store/<sha256>; its sha256 is the content address. Errors as upload().
boost::asio::awaitable<Result<model::FileEntry>> upload_to_store(std::string address,
                                                                 std::filesystem::path local_file,
                                                                 boost::asio::thread_pool* workers,
                                                                 std::string sha256 = {},
                                                                 TransferOptions options = {});

}  // namespace fvce::file
