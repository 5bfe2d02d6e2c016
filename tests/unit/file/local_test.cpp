// The local file impl: confinement to the work root, the operations and their errors,
// hashing and local fetches.
#include "services/file/impl/local.h"

#include <sys/stat.h>

#include "tests/unit/file/file_test_util.h"

namespace fvce::file::test {
namespace {

using model::FileRef;
using model::FileType;

constexpr const char* kAbc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

struct Fixture {
  RunningIo io;
  asio::thread_pool workers{2};
  TempDir dir;
  FileNode node{io, workers, dir.path, "127.0.0.1:1"};
  LocalFileService& svc = *node.service;
  const fs::path& root = svc.work_root();

  template <typename T>
  T run(asio::awaitable<T> op) {
    return await(io.ioc, std::move(op));
  }
};

ErrorCode code_of(const Result<fs::path>& r) {
  return r.status().code();
}

TEST_CASE("file: the work root is created with its store and work folders") {
  Fixture f;
  CHECK(fs::is_directory(f.root / "store"));
  CHECK(fs::is_directory(f.root / "work"));
  CHECK(f.root == fs::canonical(f.dir.path / "work"));
}

TEST_CASE("file: confinement refuses paths that leave the work root") {
  Fixture f;
  fs::path outside = f.dir.path / "outside";
  put(outside / "secret", "secret");
  // A sibling whose name starts with the root's: a string-prefix check would let it in.
  fs::path sibling = f.dir.path / "work2";
  put(sibling / "file", "sibling");
  fs::create_directories(f.root / "sub");
  put(f.root / "sub" / "inner", "inner");
  fs::create_symlink(outside, f.root / "out");
  fs::create_symlink("../work2", f.root / "sib");
  fs::create_symlink("sub", f.root / "in");
  fs::create_symlink(outside / "secret", f.root / "sub" / "leak");

  CHECK(code_of(f.svc.resolve("")) == ErrorCode::invalid_argument);
  CHECK(code_of(f.svc.resolve("/etc/passwd")) == ErrorCode::forbidden);
  CHECK(code_of(f.svc.resolve("..")) == ErrorCode::forbidden);
  CHECK(code_of(f.svc.resolve("../work2/file")) == ErrorCode::forbidden);
  CHECK(code_of(f.svc.resolve("sub/../../outside")) == ErrorCode::forbidden);
  CHECK(code_of(f.svc.resolve(std::string("sub\0x", 5))) == ErrorCode::forbidden);
  CHECK(code_of(f.svc.resolve("out")) == ErrorCode::forbidden);
  CHECK(code_of(f.svc.resolve("out/secret")) == ErrorCode::forbidden);
  CHECK(code_of(f.svc.resolve("out/new/deeper")) == ErrorCode::forbidden);
  CHECK(code_of(f.svc.resolve("sib/file")) == ErrorCode::forbidden);
  CHECK(code_of(f.svc.resolve("sub/leak")) == ErrorCode::forbidden);

  auto msg = f.svc.resolve("out/secret").status().message();
  CHECK(msg.find("out/secret") != std::string::npos);
  CHECK(msg.find("outside the work root") != std::string::npos);
  CHECK(f.svc.resolve("../x").status().message().find("'..'") != std::string::npos);
  CHECK(f.svc.resolve("/x").status().message().find("absolute") != std::string::npos);

  // Links that stay inside are fine, and so are "." and doubled slashes.
  auto in = f.svc.resolve("in/inner");
  REQUIRE(in.ok());
  CHECK(*in == f.root / "in" / "inner");
  CHECK(*f.svc.resolve(".") == f.root);
  CHECK(f.svc.resolve_path("./sub//inner")->relative == "sub/inner");

  // The operations refuse too, and touch nothing.
  CHECK(f.run(f.svc.write("out/new", "x")).code() == ErrorCode::forbidden);
  CHECK_FALSE(fs::exists(outside / "new"));
  CHECK(f.run(f.svc.write("../evil", "x")).code() == ErrorCode::forbidden);
  CHECK_FALSE(fs::exists(f.dir.path / "evil"));
  CHECK(f.run(f.svc.mkdir("out/dir")).code() == ErrorCode::forbidden);
  CHECK_FALSE(fs::exists(outside / "dir"));
  CHECK(f.run(f.svc.read("out/secret", 0, 100)).status().code() == ErrorCode::forbidden);
  CHECK(f.run(f.svc.read("sib/file", 0, 100)).status().code() == ErrorCode::forbidden);
  CHECK(f.run(f.svc.list("out")).status().code() == ErrorCode::forbidden);
  CHECK(f.run(f.svc.hash("sub/leak")).status().code() == ErrorCode::forbidden);
  CHECK(f.run(f.svc.remove("out/secret")).code() == ErrorCode::forbidden);
  CHECK(f.run(f.svc.remove("..")).code() == ErrorCode::forbidden);
  CHECK(f.run(f.svc.remove(".")).code() == ErrorCode::forbidden);
  CHECK(fs::exists(f.root));
  // Removing the link itself is allowed and leaves its target alone.
  CHECK(f.run(f.svc.remove("out")).ok());
  CHECK_FALSE(fs::exists(fs::symlink_status(f.root / "out")));
  CHECK(slurp(outside / "secret") == "secret");
  CHECK(slurp(sibling / "file") == "sibling");
}

TEST_CASE("file: a system directory or a home directory is no work root") {
  for (const char* dir : {"/", "/etc", "/usr", "/var", "/tmp", "/home", "/root", "/usr/share/x",
                          "/etc/fvce", "/usr/../etc", "/proc/self"}) {
    auto s = check_work_root(dir);
    CHECK_MESSAGE(s.code() == ErrorCode::invalid_argument, dir);
    CHECK_MESSAGE(s.message().find(dir) != std::string::npos, s.message());
  }
  CHECK(check_work_root("/var/lib/fvce").ok());
  CHECK(check_work_root("/tmp/fvce-work").ok());
  CHECK(check_work_root("/srv/fvce").ok());
}

TEST_CASE("file: a link swapped in after the path was checked is caught on the descriptor") {
  Fixture f;
  fs::path outside = f.dir.path / "outside";
  put(outside / "secret", "secret");
  put(f.root / "plain.txt", "plain");
  auto where = f.svc.resolve_path("plain.txt");
  REQUIRE(where.ok());
  // Checked as a regular file; now a link to outside takes its place.
  fs::remove(f.root / "plain.txt");
  fs::create_symlink(outside / "secret", f.root / "plain.txt");
  std::uint64_t size = 0;
  auto fd = f.svc.open_confined(*where, &size);
  REQUIRE_FALSE(fd.ok());
  CHECK(fd.status().code() == ErrorCode::forbidden);
  CHECK(fd.status().message().find("leads outside the work root") != std::string::npos);
  // Undisturbed, it opens.
  put(f.root / "kept.txt", "kept");
  auto kept = f.svc.resolve_path("kept.txt");
  REQUIRE(kept.ok());
  CHECK(f.svc.open_confined(*kept, &size).ok());
  CHECK(size == 4);
}

TEST_CASE("file: write, read, read_lines, stat") {
  Fixture f;
  REQUIRE(f.run(f.svc.write("a/b/c.txt", "one\ntwo\nthree\nfour")).ok());
  CHECK(slurp(f.root / "a/b/c.txt") == "one\ntwo\nthree\nfour");
  // Replaced atomically, no part file left.
  REQUIRE(f.run(f.svc.write("a/b/c.txt", "l1\nl2\nl3\nl4\nl5\n")).ok());
  auto listed = f.run(f.svc.list("a/b"));
  REQUIRE(listed.ok());
  CHECK(listed->entries.size() == 1);

  CHECK(*f.run(f.svc.read("a/b/c.txt", 0, 100)) == "l1\nl2\nl3\nl4\nl5\n");
  CHECK(*f.run(f.svc.read("a/b/c.txt", 3, 5)) == "l2\nl3");
  CHECK(f.run(f.svc.read("a/b/c.txt", 15, 100))->empty());
  CHECK(f.run(f.svc.read("a/b/c.txt", 16, 1)).status().code() == ErrorCode::invalid_argument);
  CHECK(f.run(f.svc.read("a/b/none", 0, 1)).status().code() == ErrorCode::not_found);
  CHECK(f.run(f.svc.read("a/b", 0, 1)).status().code() == ErrorCode::invalid_argument);

  CHECK(*f.run(f.svc.read_lines("a/b/c.txt", 2, 3)) == "l2\nl3\n");
  CHECK(*f.run(f.svc.read_lines("a/b/c.txt", 4, 100)) == "l4\nl5\n");
  CHECK(f.run(f.svc.read_lines("a/b/c.txt", 9, 10))->empty());
  CHECK(f.run(f.svc.read_lines("a/b/c.txt", 0, 1)).status().code() == ErrorCode::invalid_argument);
  CHECK(f.run(f.svc.read_lines("a/b/c.txt", 3, 2)).status().code() == ErrorCode::invalid_argument);

  auto e = f.run(f.svc.stat("a/b/c.txt", false));
  REQUIRE(e.ok());
  CHECK(e->path == "a/b/c.txt");
  CHECK(e->type == FileType::file);
  CHECK(e->size == 15);
  CHECK(e->mtime > 1'600'000'000'000);
  CHECK(e->mode == 0644);
  CHECK(e->sha256.empty());
  auto d = f.run(f.svc.stat("a", true));
  REQUIRE(d.ok());
  CHECK(d->type == FileType::dir);
  CHECK(d->sha256.empty());
  CHECK(f.run(f.svc.stat("zzz", false)).status().code() == ErrorCode::not_found);

  // Writing over a directory is a conflict, writing under a file too.
  CHECK(f.run(f.svc.write("a/b", "x")).code() == ErrorCode::conflict);
  CHECK(f.run(f.svc.write("a/b/c.txt/x", "x")).code() == ErrorCode::conflict);
}

TEST_CASE("file: hash and stat with sha256") {
  Fixture f;
  put(f.root / "abc", "abc");
  auto h = f.run(f.svc.hash("abc"));
  REQUIRE(h.ok());
  CHECK(h->first == kAbc);
  CHECK(h->second == 3);
  auto e = f.run(f.svc.stat("abc", true));
  REQUIRE(e.ok());
  CHECK(e->sha256 == kAbc);
  put(f.root / "empty", "");
  CHECK(f.run(f.svc.hash("empty"))->first ==
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(f.run(f.svc.hash("nope")).status().code() == ErrorCode::not_found);
  CHECK(f.run(f.svc.hash("store")).status().code() == ErrorCode::invalid_argument);
}

TEST_CASE("file: mkdir, list, remove") {
  Fixture f;
  REQUIRE(f.run(f.svc.mkdir("w/x/y")).ok());
  CHECK(f.run(f.svc.mkdir("w/x/y")).ok());  // idempotent
  CHECK(fs::is_directory(f.root / "w/x/y"));
  put(f.root / "w/b.txt", "bb");
  put(f.root / "w/a.txt", "a");
  CHECK(f.run(f.svc.mkdir("w/a.txt")).code() == ErrorCode::conflict);
  CHECK(f.run(f.svc.mkdir("w/a.txt/sub")).code() == ErrorCode::conflict);

  auto l = f.run(f.svc.list("w"));
  REQUIRE(l.ok());
  CHECK(l->path == "w");
  REQUIRE(l->entries.size() == 3);
  CHECK(l->entries[0].path == "w/a.txt");
  CHECK(l->entries[1].path == "w/b.txt");
  CHECK(l->entries[1].size == 2);
  CHECK(l->entries[2].path == "w/x");
  CHECK(l->entries[2].type == FileType::dir);
  CHECK_FALSE(l->truncated);
  auto top = f.run(f.svc.list("."));
  REQUIRE(top.ok());
  CHECK(top->path == ".");
  CHECK(f.run(f.svc.list("w/a.txt")).status().code() == ErrorCode::invalid_argument);
  CHECK(f.run(f.svc.list("nope")).status().code() == ErrorCode::not_found);

  CHECK(f.run(f.svc.remove("w/a.txt")).ok());
  CHECK_FALSE(fs::exists(f.root / "w/a.txt"));
  CHECK(f.run(f.svc.remove("w/a.txt")).code() == ErrorCode::not_found);
  CHECK(f.run(f.svc.remove("w")).ok());
  CHECK_FALSE(fs::exists(f.root / "w"));
}

TEST_CASE("file: list and find are bounded by list-limit") {
  TempDir dir;
  RunningIo io;
  asio::thread_pool workers{1};
  LocalFileOptions options;
  options.list_limit = 3;
  FileNode node(io, workers, dir.path, "127.0.0.1:1", options);
  auto& svc = *node.service;
  for (char c : std::string("edcba"))
    put(svc.work_root() / "d" / (std::string(1, c) + ".sgy"), "x");
  auto l = await(io.ioc, svc.list("d"));
  REQUIRE(l.ok());
  CHECK(l->truncated);
  REQUIRE(l->entries.size() == 3);
  CHECK(l->entries[0].path == "d/a.sgy");
  auto found = await(io.ioc, svc.find("d", "*.sgy", 100));
  REQUIRE(found.ok());
  CHECK(found->truncated);
  REQUIRE(found->entries.size() == 3);
  // The smallest paths, whatever order the walk took.
  CHECK(found->entries[2].path == "d/c.sgy");
}

TEST_CASE("file: find walks below a directory matching names against a glob") {
  Fixture f;
  put(f.root / "wf/t1/a1/shot1.sgy", "1");
  put(f.root / "wf/t2/a1/shot2.sgy", "22");
  put(f.root / "wf/t2/a1/raw2.bin", "333");
  put(f.root / "wf/t3/shot10.sgy", "4");
  fs::create_symlink(f.dir.path, f.root / "wf" / "loop");  // not followed
  auto r = f.run(f.svc.find("wf", "shot?.sgy", 0));
  REQUIRE(r.ok());
  CHECK(r->path == "wf");
  REQUIRE(r->entries.size() == 2);
  CHECK(r->entries[0].path == "wf/t1/a1/shot1.sgy");
  CHECK(r->entries[1].path == "wf/t2/a1/shot2.sgy");
  CHECK(r->entries[1].size == 2);
  CHECK_FALSE(r->truncated);
  auto all = f.run(f.svc.find("wf", "*.sgy", 2));
  REQUIRE(all.ok());
  CHECK(all->truncated);
  CHECK(all->entries.size() == 2);
  CHECK(f.run(f.svc.find("wf", "[rs]*", 0))->entries.size() == 4);
  CHECK(f.run(f.svc.find("wf", "", 0)).status().code() == ErrorCode::invalid_argument);
  CHECK(f.run(f.svc.find("nope", "*", 0)).status().code() == ErrorCode::not_found);
  CHECK(f.run(f.svc.find("../", "*", 0)).status().code() == ErrorCode::forbidden);
}

TEST_CASE("file: a local fetch checks the hash, links from the store, and copies the rest") {
  Fixture f;
  put(f.root / "store" / kAbc, "abc");
  ::chmod((f.root / "store" / kAbc).c_str(), kStoreMode);
  FileRef ref{"input", kAbc, 3, "127.0.0.1:1", std::string("store/") + kAbc, false};
  REQUIRE(f.run(f.svc.fetch(ref, "work/wf/t/a1/in.txt")).ok());
  CHECK(slurp(f.root / "work/wf/t/a1/in.txt") == "abc");
  struct ::stat a {
  }, b{};
  ::stat((f.root / "store" / kAbc).c_str(), &a);
  ::stat((f.root / "work/wf/t/a1/in.txt").c_str(), &b);
  CHECK(a.st_ino == b.st_ino);  // a hard link: no copy

  // Executable: copied (the store's copy keeps its mode), with the bit set.
  ref.executable = true;
  REQUIRE(f.run(f.svc.fetch(ref, "work/wf/t/a1/tool")).ok());
  CHECK((fs::status(f.root / "work/wf/t/a1/tool").permissions() & fs::perms::owner_exec) !=
        fs::perms::none);
  CHECK((fs::status(f.root / "store" / kAbc).permissions() & fs::perms::owner_exec) ==
        fs::perms::none);

  // From outside the store the source is hashed; a wrong hash leaves nothing behind, and
  // after every try has found it, the source's copy is damaged: not to be had from there.
  put(f.root / "out.txt", "abd");
  FileRef wrong{"out", kAbc, 3, "", "out.txt", false};
  Status s = f.run(f.svc.fetch(wrong, "copy/out.txt"));
  CHECK(s.code() == ErrorCode::not_found);
  CHECK(s.message().find("is damaged") != std::string::npos);
  CHECK(s.message().find("checksum mismatch: expected " + std::string(kAbc)) != std::string::npos);
  CHECK_FALSE(fs::exists(f.root / "copy/out.txt"));
  CHECK(fs::is_empty(f.root / "copy"));
  put(f.root / "good.txt", "abc");
  REQUIRE(f.run(f.svc.fetch({"good", kAbc, 3, "", "good.txt", false}, "copy/good.txt")).ok());
  CHECK(slurp(f.root / "copy/good.txt") == "abc");

  CHECK(f.run(f.svc.fetch({"x", "nothex", 3, "", "good.txt", false}, "y")).code() ==
        ErrorCode::invalid_argument);
  CHECK(f.run(f.svc.fetch({"x", kAbc, 3, "", "../good.txt", false}, "y")).code() ==
        ErrorCode::forbidden);
  CHECK(f.run(f.svc.fetch({"x", kAbc, 3, "", "good.txt", false}, "/tmp/y")).code() ==
        ErrorCode::forbidden);
  CHECK(f.run(f.svc.fetch({"x", kAbc, 3, "", "missing", false}, "y")).code() ==
        ErrorCode::not_found);
}

TEST_CASE("task ids map to directory names") {
  CHECK(task_dir_name("model[17]") == "model.17");
  CHECK(task_dir_name("split") == "split");
}

TEST_CASE("file: sha256 of a stream equals sha256 of the whole") {
  Sha256 a;
  a.update("a", 1);
  a.update("bc", 2);
  CHECK(a.final_hex() == kAbc);
  CHECK(is_sha256_hex(kAbc));
  CHECK_FALSE(is_sha256_hex(std::string(kAbc).substr(1)));
  CHECK_FALSE(is_sha256_hex("BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"));
}

}  // namespace
}  // namespace fvce::file::test
