// The file service spoken to a peer over HTTP.
//
// FileRemote implements FileLogic with the node's pooled http::Client for listings, stats,
// reads of at most 8 MiB and small writes (one attempt of 10 s each, unless CallOptions say
// otherwise). open_read() and open_write() stream a file of any size over a connection of
// their own (Client::connect): never the whole file in memory, a deadline on every read and
// write, so a transfer may take as long as it needs while it makes progress and fails once
// it stalls (the deadline: CallOptions' timeout, 30 s by default).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>

#include "node/core/call_options.h"
#include "node/http/client.h"
#include "services/file/logic.h"
#include "services/file/transfer.h"

namespace fvce::file {

class FileRemote final : public FileLogic {
 public:
  // client must outlive this object. address is the peer's "HOST:PORT".
  FileRemote(http::Client& client, std::string address, CallOptions options = {});

  boost::asio::awaitable<Result<model::FileList>> list(std::string path) override;
  boost::asio::awaitable<Result<model::FileEntry>> stat(std::string path,
                                                        bool with_sha256) override;
  boost::asio::awaitable<Result<std::string>> read(std::string path, std::uint64_t offset,
                                                   std::uint64_t length) override;
  boost::asio::awaitable<Result<std::uint64_t>> count_lines(std::string path) override;
  boost::asio::awaitable<Result<std::string>> read_lines(std::string path, std::uint64_t first,
                                                         std::uint64_t last) override;
  // PUT /file/content with the content in one body (open_write for files of any size).
  boost::asio::awaitable<Status> write(std::string path, std::string content) override;
  boost::asio::awaitable<Status> mkdir(std::string path) override;
  boost::asio::awaitable<Status> remove(std::string path) override;
  boost::asio::awaitable<Result<model::FileList>> find(std::string path, std::string pattern,
                                                       std::size_t limit) override;
  // GET /file/content, streamed. The reader checks that the peer sends exactly the bytes it
  // announced.
  boost::asio::awaitable<Result<std::unique_ptr<FileReader>>> open_read(
      std::string path, std::uint64_t offset, std::uint64_t length) override;
  // PUT /file/content (or /file/store for store/<sha256>), streamed; options.size is needed
  // (it is the request's Content-Length). commit() returns the peer's entry.
  boost::asio::awaitable<Result<std::unique_ptr<FileWriter>>> open_write(
      std::string path, WriteOptions options) override;
  boost::asio::awaitable<Result<model::FileEntry>> store_entry(std::string sha256) override;

 private:
  http::Client& client_;
  std::string address_;
  http::RequestOptions options_;
  std::chrono::milliseconds stream_timeout_;
};

// Puts local_file into the store of the node at address (store/<sha256>) for `fvce submit`:
// hashes it, asks whether the node has it (store_entry) and sends the bytes only when it does
// not. Returns the node's entry of store/<sha256>; its sha256 is the content address. Errors:
// not-found (local file), the peer's (forbidden, too-large, invalid-argument on a checksum
// mismatch), unavailable, timeout.
boost::asio::awaitable<Result<model::FileEntry>> upload_to_store(http::Client& client,
                                                                 std::string address,
                                                                 std::filesystem::path local_file);

}  // namespace fvce::file
