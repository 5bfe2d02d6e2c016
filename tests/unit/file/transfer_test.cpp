// The file service over real HTTP on loopback: the routes, streamed uploads and downloads,
// checksums on both ends, and the store.
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <future>
#include <random>
#include <thread>

#include "node/http/router.h"
#include "node/http/server.h"
#include "services/file/remote.h"
#include "services/file/resource.h"
#include "tests/unit/file/file_test_util.h"
#include "tests/unit/test_auth.h"

namespace fvce::file::test {
namespace {

namespace bhttp = boost::beast::http;
using model::FileRef;
using tcp = asio::ip::tcp;

constexpr const char* kAbc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

// Node A serves its file routes on 127.0.0.1:0; node B fetches from it.
struct Loopback {
  RunningIo io;
  asio::thread_pool workers{2};
  TempDir dir;
  http::Metrics metrics;
  http::Router router;
  std::unique_ptr<http::Server> server;
  std::unique_ptr<FileNode> a, b;
  std::string address;
  http::Client client{io.ioc};  // a command-line client

  explicit Loopback(http::ServerOptions options = {}, LocalFileOptions b_options = {}) {
    a = std::make_unique<FileNode>(io, workers, dir.path / "a", "placeholder");
    b = std::make_unique<FileNode>(io, workers, dir.path / "b", "127.0.0.1:9", b_options);
    add_routes(router, a->service);
    server = std::make_unique<http::Server>(io.ioc, router, metrics, options);
    server->set_authenticator(&fvce::test::member_authenticator());
    REQUIRE(server->listen(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)).ok());
    address = "127.0.0.1:" + std::to_string(server->local_endpoint().port());
    a->node.set_address(address);
    server->start();
  }
  // The server's accept loop may still touch it after stop() resolves: stop the loop before
  // the server is destroyed.
  ~Loopback() {
    await(io.ioc, server->stop(std::chrono::milliseconds(500)));
    io.shutdown();
  }

  const fs::path& root_a() const { return a->service->work_root(); }
  const fs::path& root_b() const { return b->service->work_root(); }

  // One plain request on its own connection, from this thread.
  http::Response raw(bhttp::verb verb, const std::string& target, std::string body = {},
                     std::vector<std::pair<std::string, std::string>> headers = {}) {
    asio::io_context ctx;
    tcp::socket socket(ctx);
    socket.connect(server->local_endpoint());
    http::Request req{verb, target, 11};
    req.set(bhttp::field::host, address);
    for (const auto& [k, v] : headers) req.set(k, v);
    req.body() = std::move(body);
    req.prepare_payload();
    bhttp::write(socket, req);
    boost::beast::flat_buffer buffer;
    http::Response res;
    bhttp::read(socket, buffer, res);
    return res;
  }
};

std::string random_bytes(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string out(n, '\0');
  for (auto& c : out) c = static_cast<char>(rng());
  return out;
}

std::string sha_of(const std::string& data) {
  Sha256 h;
  h.update(data.data(), data.size());
  return h.final_hex();
}

// Streams a local file to remote_path on the node at address (FileRemote::open_write).
asio::awaitable<Result<model::FileEntry>> upload(http::Client& client, std::string address,
                                                 fs::path local, std::string remote_path) {
  std::string data = slurp(local);
  FileRemote remote(client, address);
  WriteOptions opts;
  opts.sha256 = sha_of(data);
  opts.size = data.size();
  auto writer = co_await remote.open_write(remote_path, opts);
  if (!writer.ok()) co_return writer.status();
  for (std::size_t at = 0; at < data.size(); at += 100'000) {
    auto n = std::min<std::size_t>(100'000, data.size() - at);
    auto s = co_await (*writer)->write(data.data() + at, n);
    if (!s.ok()) co_return s;
  }
  co_return co_await (*writer)->commit();
}

TEST_CASE("file http: upload a few MB, fetch it back through LocalFile::fetch") {
  Loopback net;
  std::string data = random_bytes((3u << 20) + 12345, 7);
  std::string sha = sha_of(data);
  fs::path local = net.dir.path / "input.bin";
  put(local, data);

  auto entry = await(net.io.ioc, upload(net.client, net.address, local, "in/data file+1.bin"));
  REQUIRE(entry.ok());
  CHECK(entry->path == "in/data file+1.bin");
  CHECK(entry->size == data.size());
  CHECK(entry->sha256 == sha);
  CHECK(slurp(net.root_a() / "in/data file+1.bin") == data);

  FileRef ref{"data", sha, data.size(), net.address, "in/data file+1.bin", true};
  Status s = await(net.io.ioc, net.b->service->fetch(ref, "work/wf/t/a1/data.bin"));
  REQUIRE(s.ok());
  fs::path got = net.root_b() / "work/wf/t/a1/data.bin";
  CHECK(slurp(got) == data);
  CHECK((fs::status(got).permissions() & fs::perms::owner_exec) != fs::perms::none);
  auto h = await(net.io.ioc, net.b->service->hash("work/wf/t/a1/data.bin"));
  CHECK(h->first == sha);
  CHECK(fs::directory_iterator(got.parent_path()) != fs::directory_iterator());
  std::size_t files = 0;
  for (auto& e : fs::directory_iterator(got.parent_path())) files += e.is_regular_file();
  CHECK(files == 1);  // no part file left
}

TEST_CASE("file http: a fetch with the wrong checksum fails and leaves no file") {
  Loopback net;
  put(net.root_a() / "f.txt", "abd");
  FileRef ref{"f", kAbc, 3, net.address, "f.txt", false};
  Status s = await(net.io.ioc, net.b->service->fetch(ref, "dst/f.txt"));
  CHECK(s.code() == ErrorCode::not_found);  // damaged in every try: not to be had there
  CHECK(s.message().find("is damaged") != std::string::npos);
  CHECK(s.message().find("checksum mismatch: expected " + std::string(kAbc) + ", got " +
                         sha_of("abd")) != std::string::npos);
  CHECK_FALSE(fs::exists(net.root_b() / "dst/f.txt"));
  CHECK(fs::is_empty(net.root_b() / "dst"));

  // A wrong size is refused too; a missing file is the peer's not-found, not retried.
  ref.sha256 = sha_of("abd");
  ref.size = 2;
  Status wrong_size = await(net.io.ioc, net.b->service->fetch(ref, "dst/f.txt"));
  CHECK_MESSAGE(wrong_size.code() == ErrorCode::not_found, wrong_size.message());
  CHECK(wrong_size.message().find("size mismatch") != std::string::npos);
  CHECK(fs::is_empty(net.root_b() / "dst"));
  ref.path = "nope.txt";
  CHECK(await(net.io.ioc, net.b->service->fetch(ref, "dst/f.txt")).code() == ErrorCode::not_found);
  ref.path = "../etc/passwd";
  CHECK(await(net.io.ioc, net.b->service->fetch(ref, "dst/f.txt")).code() == ErrorCode::forbidden);
  CHECK(fs::is_empty(net.root_b() / "dst"));
}

TEST_CASE("file http: a transfer that arrives damaged is tried again and kept once it is whole") {
  LocalFileOptions slow;
  slow.fetch_backoff = Backoff{std::chrono::milliseconds(600), std::chrono::milliseconds(600)};
  Loopback net({}, slow);
  put(net.root_a() / "f.txt", "abd");  // what the first try gets: not the file made
  FileRef ref{"f", kAbc, 3, net.address, "f.txt", false};
  auto fetched = std::async(std::launch::async, [&] {
    return await(net.io.ioc, net.b->service->fetch(ref, "dst/f.txt"));
  });
  // The first try is over in milliseconds; the next waits 300-600 ms. Meanwhile the source
  // serves the right bytes again (as a transfer corrupted on the way would be, next time).
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  CHECK_FALSE(fs::exists(net.root_b() / "dst/f.txt"));  // nothing partial, nothing wrong
  put(net.root_a() / "f.txt", "abc");
  Status s = fetched.get();
  REQUIRE_MESSAGE(s.ok(), s.message());
  CHECK(slurp(net.root_b() / "dst/f.txt") == "abc");
  std::size_t files = 0;
  for (auto& e : fs::directory_iterator(net.root_b() / "dst")) files += e.is_regular_file();
  CHECK(files == 1);  // no part file of the damaged try left
}

TEST_CASE("file http: an unreachable source is retried, then unavailable") {
  TempDir dir;
  RunningIo io;
  asio::thread_pool workers{1};
  LocalFileOptions options;
  options.fetch_backoff = Backoff{std::chrono::milliseconds(5), std::chrono::milliseconds(5)};
  FileNode node(io, workers, dir.path, "127.0.0.1:9", options);
  // A port nobody listens on: bind one, note it, close it.
  asio::io_context tmp;
  tcp::acceptor acc(tmp, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  auto port = acc.local_endpoint().port();
  acc.close();
  FileRef ref{"f", kAbc, 3, "127.0.0.1:" + std::to_string(port), "f.txt", false};
  Status s = await(io.ioc, node.service->fetch(ref, "f.txt"));
  CHECK(s.code() == ErrorCode::unavailable);
  CHECK_FALSE(fs::exists(node.service->work_root() / "f.txt"));
}

TEST_CASE("file http: PUT with a wrong X-Fvce-Sha256 is 400 and leaves nothing") {
  Loopback net;
  auto res =
      net.raw(bhttp::verb::put, "/file/content?path=up/x.txt", "abd", {{"X-Fvce-Sha256", kAbc}});
  CHECK(res.result_int() == 400);
  CHECK(res.body().find("checksum mismatch") != std::string::npos);
  CHECK_FALSE(fs::exists(net.root_a() / "up/x.txt"));
  CHECK(fs::is_empty(net.root_a() / "up"));

  auto ok =
      net.raw(bhttp::verb::put, "/file/content?path=up/x.txt", "abc", {{"X-Fvce-Sha256", kAbc}});
  CHECK(ok.result_int() == 201);
  CHECK(ok.body().find(kAbc) != std::string::npos);
  CHECK(slurp(net.root_a() / "up/x.txt") == "abc");
  // Without the header the body is taken as it is, and the answer tells its hash.
  auto plain = net.raw(bhttp::verb::put, "/file/content?path=up/y.txt", "abc");
  CHECK(plain.result_int() == 201);
  CHECK(plain.body().find(kAbc) != std::string::npos);

  CHECK(net.raw(bhttp::verb::put, "/file/content?path=../x", "abc").result_int() == 403);
  CHECK(net.raw(bhttp::verb::put, "/file/content", "abc").result_int() == 400);
  CHECK(net.raw(bhttp::verb::put, "/file/content?path=up", "abc").result_int() == 409);
}

TEST_CASE("file http: uploads over max-upload are 413") {
  RunningIo io;
  asio::thread_pool workers{1};
  TempDir dir;
  LocalFileOptions options;
  options.max_upload = 10;
  FileNode node(io, workers, dir.path, "x:1", options);
  http::Metrics metrics;
  http::Router router;
  add_routes(router, node.service);
  http::Server server(io.ioc, router, metrics, {});
  server.set_authenticator(&fvce::test::member_authenticator());
  REQUIRE(server.listen(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)).ok());
  server.start();
  std::string address = "127.0.0.1:" + std::to_string(server.local_endpoint().port());
  fs::path local = dir.path / "big";
  put(local, std::string(11, 'x'));
  http::Client client(io.ioc);
  auto r = await(io.ioc, upload(client, address, local, "big"));
  CHECK(r.status().code() == ErrorCode::too_large);
  CHECK_FALSE(fs::exists(node.service->work_root() / "big"));
  await(io.ioc, server.stop(std::chrono::milliseconds(500)));
  io.shutdown();
}

TEST_CASE("file http: a stalled upload is cut off at the read deadline and leaves nothing") {
  http::ServerOptions options;
  options.read_timeout = std::chrono::milliseconds(150);
  Loopback net(options);
  asio::io_context ctx;
  tcp::socket socket(ctx);
  socket.connect(net.server->local_endpoint());
  std::string head =
      "PUT /file/content?path=slow/x.bin HTTP/1.1\r\nHost: x\r\nContent-Length: "
      "100\r\n\r\n0123456789";
  asio::write(socket, asio::buffer(head));
  auto started = std::chrono::steady_clock::now();
  char byte;
  boost::system::error_code ec;
  socket.read_some(asio::buffer(&byte, 1), ec);  // blocks until the server gives up
  CHECK(ec);                                     // closed, no answer
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(3));
  // The deadline closes the socket first, then the handler removes its part file.
  for (int i = 0; i < 200 && !fs::is_empty(net.root_a() / "slow"); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  CHECK_FALSE(fs::exists(net.root_a() / "slow/x.bin"));
  CHECK(fs::is_empty(net.root_a() / "slow"));
}

TEST_CASE("file http: PUT /file/store checks the hash and is idempotent") {
  Loopback net;
  std::string target = std::string("/file/store?sha256=") + kAbc;
  CHECK(net.raw(bhttp::verb::get, target).result_int() == 404);
  auto bad = net.raw(bhttp::verb::put, target, "abd");
  CHECK(bad.result_int() == 400);
  CHECK_FALSE(fs::exists(net.root_a() / "store" / kAbc));
  auto first = net.raw(bhttp::verb::put, target, "abc");
  CHECK(first.result_int() == 201);
  CHECK(slurp(net.root_a() / "store" / kAbc) == "abc");
  CHECK((fs::status(net.root_a() / "store" / kAbc).permissions() & fs::perms::owner_write) ==
        fs::perms::none);
  auto again = net.raw(bhttp::verb::put, target, "abc");
  CHECK(again.result_int() == 200);
  auto got = net.raw(bhttp::verb::get, target);
  CHECK(got.result_int() == 200);
  auto entry = http::parse_body<model::FileEntry>(got.body());
  REQUIRE(entry.ok());
  CHECK(entry->path == std::string("store/") + kAbc);
  CHECK(entry->sha256 == kAbc);
  CHECK(entry->size == 3);
  CHECK(net.raw(bhttp::verb::get, "/file/store?sha256=xyz").result_int() == 400);
  CHECK(net.raw(bhttp::verb::put, "/file/store", "abc").result_int() == 400);

  // The client side: hashes, asks, uploads only what is missing.
  fs::path local = net.dir.path / "in.bin";
  put(local, "abc");
  auto e = await(net.io.ioc, upload_to_store(net.client, net.address, local));
  REQUIRE(e.ok());
  CHECK(e->sha256 == kAbc);
  put(local, "hello");
  auto e2 = await(net.io.ioc, upload_to_store(net.client, net.address, local));
  REQUIRE(e2.ok());
  CHECK(slurp(net.root_a() / "store" / sha_of("hello")) == "hello");

  // A fetch into the store of a file already there is a no-op.
  FileRef ref{"x", kAbc, 3, net.address, "whatever", false};
  CHECK(await(net.io.ioc, net.a->service->fetch(ref, std::string("store/") + kAbc)).ok());
}

TEST_CASE("file http: GET /file/content streams the file or a range, with errors as <error>") {
  Loopback net;
  std::string data = random_bytes(2500000, 3);
  put(net.root_a() / "d/big.bin", data);
  auto all = net.raw(bhttp::verb::get, "/file/content?path=d/big.bin");
  CHECK(all.result_int() == 200);
  CHECK(all.body() == data);
  CHECK(all[kSizeHeader] == std::to_string(data.size()));
  auto part = net.raw(bhttp::verb::get, "/file/content?path=d/big.bin&offset=100&length=50");
  CHECK(part.result_int() == 200);
  CHECK(part.body() == data.substr(100, 50));
  CHECK(part[kSizeHeader] == std::to_string(data.size()));
  CHECK(net.raw(bhttp::verb::get, "/file/content?path=d/none").result_int() == 404);
  CHECK(net.raw(bhttp::verb::get, "/file/content?path=/etc/passwd").result_int() == 403);
  CHECK(net.raw(bhttp::verb::get, "/file/content?path=d").result_int() == 400);
  CHECK(net.raw(bhttp::verb::get, "/file/content?path=d/big.bin&offset=x").result_int() == 400);
  auto missing = net.raw(bhttp::verb::get, "/file/content");
  CHECK(missing.result_int() == 400);
  CHECK(missing.body().find("'path'") != std::string::npos);
}

TEST_CASE("file http: FileRemote speaks the whole interface") {
  Loopback net;
  FileRemote remote(net.client, net.address);
  auto& ioc = net.io.ioc;
  REQUIRE(await(ioc, remote.mkdir("r/s")).ok());
  REQUIRE(await(ioc, remote.write("r/s/t.txt", "a\nb\nc\n")).ok());
  CHECK(slurp(net.root_a() / "r/s/t.txt") == "a\nb\nc\n");
  auto l = await(ioc, remote.list("r/s"));
  REQUIRE(l.ok());
  REQUIRE(l->entries.size() == 1);
  CHECK(l->entries[0].path == "r/s/t.txt");
  auto st = await(ioc, remote.stat("r/s/t.txt", true));
  REQUIRE(st.ok());
  CHECK(st->sha256 == sha_of("a\nb\nc\n"));
  CHECK(*await(ioc, remote.read("r/s/t.txt", 2, 3)) == "b\nc");
  CHECK(*await(ioc, remote.read_lines("r/s/t.txt", 2, 2)) == "b\n");
  auto found = await(ioc, remote.find("r", "*.txt", 10));
  REQUIRE(found.ok());
  CHECK(found->entries.size() == 1);
  CHECK(await(ioc, remote.list("../")).status().code() == ErrorCode::forbidden);
  CHECK(await(ioc, remote.stat("r/none", false)).status().code() == ErrorCode::not_found);
  CHECK(await(ioc, remote.remove("r")).ok());
  CHECK_FALSE(fs::exists(net.root_a() / "r"));
  CHECK(await(ioc, remote.remove("r")).code() == ErrorCode::not_found);
  auto bad = net.raw(bhttp::verb::get, "/file/lines?path=x&first=1");
  CHECK(bad.result_int() == 400);
  CHECK(bad.body().find("'last'") != std::string::npos);
}

TEST_CASE("file http: an upload is not held to the server's body limit for requests") {
  // The body limit is for what the server reads into memory; a streamed upload has its own
  // (the file service's max-upload). An upload several times the body limit goes through.
  http::ServerOptions options;
  options.max_body = 64u << 10;
  Loopback net(options);
  std::string data = random_bytes((5u << 20) + 7, 11);
  fs::path local = net.dir.path / "big.bin";
  put(local, data);
  auto entry = await(net.io.ioc, upload(net.client, net.address, local, "in/big.bin"));
  REQUIRE_MESSAGE(entry.ok(), entry.status().message());
  CHECK(entry->size == data.size());
  CHECK(slurp(net.root_a() / "in/big.bin") == data);
  auto stored = await(net.io.ioc, upload_to_store(net.client, net.address, local));
  REQUIRE_MESSAGE(stored.ok(), stored.status().message());
  CHECK(stored->sha256 == sha_of(data));
  // A request read into memory still is: a 100 kB body there is 413.
  auto big = net.raw(bhttp::verb::post, "/file/mkdir?path=x", std::string(100'000, 'x'));
  CHECK(big.result_int() == 413);
}

TEST_CASE("file http: FileRemote streams a range, and a writer that stops short leaves nothing") {
  Loopback net;
  std::string data = random_bytes(3'000'000, 5);
  put(net.root_a() / "s/data.bin", data);
  FileRemote remote(net.client, net.address);
  auto& ioc = net.io.ioc;
  auto reader = await(ioc, remote.open_read("s/data.bin", 1000, 2'000'000));
  REQUIRE(reader.ok());
  CHECK((*reader)->size() == 2'000'000);
  CHECK((*reader)->file_size() == data.size());
  std::string got;
  std::vector<char> chunk(65536);
  for (;;) {
    auto n = await(ioc, (*reader)->read(chunk.data(), chunk.size()));
    REQUIRE(n.ok());
    if (*n == 0) break;
    got.append(chunk.data(), *n);
  }
  CHECK(got == data.substr(1000, 2'000'000));
  CHECK(await(ioc, remote.open_read("s/none", 0, kToEnd)).status().code() == ErrorCode::not_found);

  WriteOptions opts;
  opts.size = 10;
  auto writer = await(ioc, remote.open_write("s/short.bin", opts));
  REQUIRE(writer.ok());
  REQUIRE(await(ioc, (*writer)->write("12345", 5)).ok());
  auto committed = await(ioc, (*writer)->commit());
  CHECK(committed.status().code() == ErrorCode::invalid_argument);
  writer->reset();
  for (int i = 0; i < 200 && fs::exists(net.root_a() / "s/short.bin"); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  CHECK_FALSE(fs::exists(net.root_a() / "s/short.bin"));
  std::size_t parts = 0;
  for (auto& e : fs::directory_iterator(net.root_a() / "s"))
    parts += e.path().filename().string().find(".part-") != std::string::npos;
  // The peer drops the part file once the connection is gone.
  for (int i = 0; i < 200 && parts > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    parts = 0;
    for (auto& e : fs::directory_iterator(net.root_a() / "s"))
      parts += e.path().filename().string().find(".part-") != std::string::npos;
  }
  CHECK(parts == 0);
}

}  // namespace
}  // namespace fvce::file::test
