#include "services/file/impl/local.h"

#include <fnmatch.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <cerrno>
#include <cstring>
#include <queue>
#include <random>
#include <vector>

#include "services/file/remote.h"

namespace fvce::file {

namespace fs = std::filesystem;
namespace asio = boost::asio;
using model::FileEntry;
using model::FileList;
using model::FileType;

namespace {

constexpr std::size_t kMaxPathLength = 4096;

// A path as it may appear in a message: control characters (a NUL above all) shown as '?',
// and long paths shortened, so an error document stays well-formed and readable.
std::string printable(std::string_view path) {
  std::string out;
  for (char c : path.substr(0, 300)) out.push_back(static_cast<unsigned char>(c) < 0x20 ? '?' : c);
  if (path.size() > 300) out += "...";
  return out;
}

// True when p is root or below it, compared component by component (so /w/work2 is not
// inside /w/work, which a string prefix test would say it is).
bool within(const fs::path& root, const fs::path& p) {
  auto q = p.begin();
  for (auto r = root.begin(); r != root.end(); ++r, ++q) {
    if (r->empty()) continue;  // a trailing separator
    if (q == p.end() || *r != *q) return false;
  }
  return true;
}

std::string join(const std::string& dir, std::string_view name) {
  if (dir.empty() || dir == ".") return std::string(name);
  return dir + "/" + std::string(name);
}

std::string store_path(const std::string& sha256) {
  return "store/" + sha256;
}

Status prefixed(const Status& s, const std::string& what) {
  return Status(s.code(), what + ": " + s.message());
}

}  // namespace

Result<FileEntry> entry_at(const fs::path& absolute, std::string relative) {
  struct ::stat st {};
  if (::lstat(absolute.c_str(), &st) != 0) {
    int err = errno;
    if (err == ENOENT || err == ENOTDIR)
      return Status::NotFound("no such file or directory: '" + printable(relative) + "'");
    return Status::IOError("'" + printable(relative) + "': cannot stat: " + std::strerror(err));
  }
  FileEntry e;
  e.path = std::move(relative);
  if (S_ISREG(st.st_mode))
    e.type = FileType::file;
  else if (S_ISDIR(st.st_mode))
    e.type = FileType::dir;
  else if (S_ISLNK(st.st_mode))
    e.type = FileType::symlink;
  else
    e.type = FileType::other;
  e.size = S_ISREG(st.st_mode) ? static_cast<std::uint64_t>(st.st_size) : 0;
  std::int64_t ms = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000 +
                    static_cast<std::int64_t>(st.st_mtim.tv_nsec) / 1'000'000;
  e.mtime = std::max<std::int64_t>(ms, 0);
  e.mode = static_cast<std::uint32_t>(st.st_mode & 07777);
  return e;
}

Result<std::shared_ptr<LocalFileService>> LocalFileService::Create(const NodeContext& ctx,
                                                                   LocalFileOptions options) {
  std::error_code ec;
  fs::path root = options.work_root;
  if (root.empty()) return Status::InvalidArgument("the file service needs a work root");
  if (root.is_relative()) root = fs::absolute(root, ec);
  for (const char* sub : {"", "store", "work"}) {
    fs::create_directories(*sub ? root / sub : root, ec);
    if (ec)
      return Status::IOError("cannot create the work root " + (root / sub).string() + ": " +
                             ec.message());
  }
  // Canonical, so that symlink targets (always canonical) compare against it.
  root = fs::canonical(root, ec);
  if (ec)
    return Status::IOError("cannot resolve the work root " + root.string() + ": " + ec.message());
  // A crash may have left part files of uploads into the store; nobody will finish them.
  for (auto it = fs::directory_iterator(root / "store", ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    if (it->path().filename().string().find(".part-") != std::string::npos)
      fs::remove(it->path(), ec);
  }
  options.work_root = root;
  return std::shared_ptr<LocalFileService>(new LocalFileService(ctx, std::move(options), root));
}

Result<fs::path> LocalFileService::resolve(std::string_view path) const {
  auto r = resolve_path(path, true);
  if (!r.ok()) return r.status();
  return std::move(r->absolute);
}

Result<ResolvedPath> LocalFileService::resolve_path(std::string_view path, bool check_final) const {
  if (path.empty())
    return Status::InvalidArgument(
        "empty path: give a path relative to the work root ('.' is the root itself)");
  if (path.size() > kMaxPathLength)
    return Status::InvalidArgument("path '" + printable(path) + "' is longer than " +
                                   std::to_string(kMaxPathLength) + " bytes");
  if (path.find('\0') != std::string_view::npos)
    return Status::Forbidden("path '" + printable(path) + "' contains a NUL byte");
  if (path.front() == '/')
    return Status::Forbidden("path '" + printable(path) +
                             "' is absolute; paths are relative to the work root");

  std::vector<std::string_view> parts;
  for (std::size_t pos = 0; pos <= path.size();) {
    auto slash = path.find('/', pos);
    if (slash == std::string_view::npos) slash = path.size();
    auto part = path.substr(pos, slash - pos);
    pos = slash + 1;
    if (part.empty() || part == ".") continue;
    if (part == "..")
      return Status::Forbidden("path '" + printable(path) +
                               "' contains '..'; paths must stay inside the work root");
    parts.push_back(part);
  }

  ResolvedPath out{root_, {}};
  // Walk the existing prefix: any symlink on it must lead to a place inside the root. Past
  // the first missing component nothing exists, so nothing can be a link.
  bool exists = true;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    out.absolute /= parts[i];
    out.relative = join(out.relative, parts[i]);
    if (!exists || (!check_final && i + 1 == parts.size())) continue;
    struct ::stat st {};
    if (::lstat(out.absolute.c_str(), &st) != 0) {
      exists = false;
      continue;
    }
    if (!S_ISLNK(st.st_mode)) continue;
    std::error_code ec;
    auto target = fs::weakly_canonical(out.absolute, ec);
    if (ec)
      return Status::Forbidden("path '" + printable(path) + "': '" + printable(out.relative) +
                               "' is a symbolic link that cannot be resolved (" + ec.message() +
                               ")");
    if (!within(root_, target))
      return Status::Forbidden("path '" + printable(path) + "': '" + printable(out.relative) +
                               "' is a symbolic link that leads outside the work root");
  }
  if (out.relative.empty()) out.relative = ".";
  return out;
}

asio::awaitable<Result<FileList>> LocalFileService::list(std::string path) {
  auto self = shared_from_this();
  auto where = resolve_path(path);
  if (!where.ok()) co_return where.status();
  co_return co_await on_workers(ctx_.workers, [&]() -> Result<FileList> {
    struct ::stat st {};
    if (::stat(where->absolute.c_str(), &st) != 0)
      return Status::NotFound("no such directory: '" + where->relative + "'");
    if (!S_ISDIR(st.st_mode))
      return Status::InvalidArgument("'" + where->relative + "' is not a directory");
    std::vector<std::string> names;
    std::error_code ec;
    for (auto it = fs::directory_iterator(where->absolute, ec);
         !ec && it != fs::directory_iterator(); it.increment(ec))
      names.push_back(it->path().filename().string());
    if (ec) return Status::IOError("cannot list '" + where->relative + "': " + ec.message());
    std::sort(names.begin(), names.end());
    FileList out;
    out.path = where->relative;
    if (names.size() > options_.list_limit) {
      names.resize(options_.list_limit);
      out.truncated = true;
    }
    for (const auto& name : names) {
      auto e = entry_at(where->absolute / name, join(where->relative, name));
      if (e.ok()) out.entries.push_back(std::move(*e));  // gone meanwhile: skip it
    }
    return out;
  });
}

asio::awaitable<Result<FileEntry>> LocalFileService::stat(std::string path, bool with_sha256) {
  auto self = shared_from_this();
  auto where = resolve_path(path);
  if (!where.ok()) co_return where.status();
  if (!with_sha256) co_return entry_at(where->absolute, where->relative);
  co_return co_await on_workers(ctx_.workers, [&]() -> Result<FileEntry> {
    auto e = entry_at(where->absolute, where->relative);
    if (!e.ok() || e->type != FileType::file) return e;
    auto digest = sha256_file(where->absolute);
    if (!digest.ok()) return prefixed(digest.status(), "hashing '" + where->relative + "'");
    e->sha256 = digest->sha256;
    e->size = digest->size;  // the size that was hashed, should the file have changed
    return e;
  });
}

asio::awaitable<Result<std::string>> LocalFileService::read(std::string path, std::uint64_t offset,
                                                            std::uint64_t length) {
  auto self = shared_from_this();
  auto where = resolve_path(path);
  if (!where.ok()) co_return where.status();
  co_return co_await on_workers(ctx_.workers, [&]() -> Result<std::string> {
    std::uint64_t size = 0;
    auto fd = open_for_reading(where->absolute, &size);
    if (!fd.ok()) return prefixed(fd.status(), "reading '" + where->relative + "'");
    if (offset > size)
      return Status::InvalidArgument("offset " + std::to_string(offset) + " is past the end of '" +
                                     where->relative + "' (" + std::to_string(size) + " bytes)");
    std::string out(std::min({length, kMaxRead, size - offset}), '\0');
    auto n = read_at(fd->get(), out.data(), out.size(), offset);
    if (!n.ok()) return prefixed(n.status(), "reading '" + where->relative + "'");
    out.resize(*n);
    return out;
  });
}

asio::awaitable<Result<std::string>> LocalFileService::read_lines(std::string path,
                                                                  std::uint64_t first,
                                                                  std::uint64_t last) {
  auto self = shared_from_this();
  if (first < 1 || last < first)
    co_return Status::InvalidArgument("lines " + std::to_string(first) + ".." +
                                      std::to_string(last) +
                                      ": first must be at least 1 and last at least first");
  last = std::min(last, first + kMaxLines - 1);
  auto where = resolve_path(path);
  if (!where.ok()) co_return where.status();
  co_return co_await on_workers(ctx_.workers, [&]() -> Result<std::string> {
    auto fd = open_for_reading(where->absolute, nullptr);
    if (!fd.ok()) return prefixed(fd.status(), "reading '" + where->relative + "'");
    // Scan in chunks rather than line by line: a file without newlines must not be read
    // into memory whole.
    std::vector<char> buf(64u << 10);
    std::string out;
    std::uint64_t line = 1, offset = 0;
    while (line <= last && out.size() < kMaxRead) {
      auto n = read_at(fd->get(), buf.data(), buf.size(), offset);
      if (!n.ok()) return prefixed(n.status(), "reading '" + where->relative + "'");
      if (*n == 0) break;
      offset += *n;
      const char* p = buf.data();
      const char* end = p + *n;
      while (p < end && line <= last) {
        const char* nl = static_cast<const char*>(std::memchr(p, '\n', end - p));
        const char* stop = nl ? nl + 1 : end;
        if (line >= first) out.append(p, std::min<std::size_t>(stop - p, kMaxRead - out.size()));
        if (nl) ++line;
        p = stop;
        if (out.size() >= kMaxRead) break;
      }
    }
    return out;
  });
}

asio::awaitable<Status> LocalFileService::write(std::string path, std::string content) {
  auto self = shared_from_this();
  auto where = resolve_path(path);
  if (!where.ok()) co_return where.status();
  if (where->relative == ".") co_return Status::Conflict("the work root is a directory");
  co_return co_await on_workers(ctx_.workers, [&]() -> Status {
    std::error_code ec;
    if (fs::is_directory(fs::symlink_status(where->absolute, ec)))
      return Status::Conflict("'" + where->relative + "' is a directory");
    if (auto s = make_parent_dirs(where->absolute); !s.ok())
      return Status::Conflict("cannot write '" + where->relative + "': " + s.message());
    auto part = PartialFile::Create(where->absolute);
    if (!part.ok()) return part.status();
    if (auto s = part->append(content.data(), content.size()); !s.ok()) return s;
    if (auto d = part->finish(); !d.ok()) return d.status();
    return part->commit(0644);
  });
}

asio::awaitable<Status> LocalFileService::mkdir(std::string path) {
  auto self = shared_from_this();
  auto where = resolve_path(path);
  if (!where.ok()) co_return where.status();
  co_return co_await on_workers(ctx_.workers, [&]() -> Status {
    std::error_code ec;
    auto st = fs::status(where->absolute, ec);
    if (fs::is_directory(st)) return Status::Ok();
    if (fs::exists(st))
      return Status::Conflict("'" + where->relative + "' exists and is not a directory");
    fs::create_directories(where->absolute, ec);
    if (ec == std::errc::not_a_directory || ec == std::errc::file_exists)
      return Status::Conflict("cannot create '" + where->relative +
                              "': a parent is not a directory");
    if (ec) return Status::IOError("cannot create '" + where->relative + "': " + ec.message());
    return Status::Ok();
  });
}

asio::awaitable<Status> LocalFileService::remove(std::string path) {
  auto self = shared_from_this();
  // The last component is not followed (remove_all removes a link, not its target), so a
  // link to outside can still be removed.
  auto where = resolve_path(path, false);
  if (!where.ok()) co_return where.status();
  if (where->relative == ".")
    co_return Status::Forbidden("refusing to remove the work root itself");
  co_return co_await on_workers(ctx_.workers, [&]() -> Status {
    std::error_code ec;
    if (!fs::exists(fs::symlink_status(where->absolute, ec)))
      return Status::NotFound("no such file or directory: '" + where->relative + "'");
    fs::remove_all(where->absolute, ec);
    if (ec) return Status::IOError("cannot remove '" + where->relative + "': " + ec.message());
    sync_dir(where->absolute.parent_path());
    return Status::Ok();
  });
}

asio::awaitable<Result<FileList>> LocalFileService::find(std::string path, std::string pattern,
                                                         std::size_t limit) {
  auto self = shared_from_this();
  if (pattern.empty())
    co_return Status::InvalidArgument("empty pattern: give a glob such as '*.sgy'");
  if (pattern.find('\0') != std::string::npos)
    co_return Status::InvalidArgument("the pattern contains a NUL byte");
  limit = limit == 0 ? options_.list_limit : std::min(limit, options_.list_limit);
  auto where = resolve_path(path);
  if (!where.ok()) co_return where.status();
  co_return co_await on_workers(ctx_.workers, [&]() -> Result<FileList> {
    struct ::stat st {};
    if (::stat(where->absolute.c_str(), &st) != 0)
      return Status::NotFound("no such directory: '" + where->relative + "'");
    if (!S_ISDIR(st.st_mode))
      return Status::InvalidArgument("'" + where->relative + "' is not a directory");
    // Keep the limit smallest paths (a max-heap), so a truncated answer is the same whatever
    // order the directories are walked in.
    std::priority_queue<std::string> best;
    std::size_t matched = 0;
    std::error_code ec;
    // Symlinked directories are not followed (the default), so the walk stays in the root.
    fs::recursive_directory_iterator it(where->absolute,
                                        fs::directory_options::skip_permission_denied, ec);
    for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      auto name = it->path().filename().string();
      if (::fnmatch(pattern.c_str(), name.c_str(), 0) != 0) continue;
      ++matched;
      auto rel =
          join(where->relative, it->path().lexically_relative(where->absolute).generic_string());
      if (best.size() < limit) {
        best.push(std::move(rel));
      } else if (rel < best.top()) {
        best.pop();
        best.push(std::move(rel));
      }
    }
    if (ec) return Status::IOError("cannot walk '" + where->relative + "': " + ec.message());
    std::vector<std::string> paths;
    for (; !best.empty(); best.pop()) paths.push_back(best.top());
    std::reverse(paths.begin(), paths.end());
    FileList out;
    out.path = where->relative;
    out.truncated = matched > limit;
    for (const auto& rel : paths) {
      auto e = entry_at(root_ / rel, rel);
      if (e.ok()) out.entries.push_back(std::move(*e));
    }
    return out;
  });
}

asio::awaitable<Result<std::pair<std::string, std::uint64_t>>> LocalFileService::hash(
    std::string path) {
  auto self = shared_from_this();
  auto where = resolve_path(path);
  if (!where.ok()) co_return where.status();
  auto digest = co_await on_workers(ctx_.workers, [&] { return sha256_file(where->absolute); });
  if (!digest.ok()) co_return prefixed(digest.status(), "hashing '" + where->relative + "'");
  co_return std::make_pair(std::move(digest->sha256), digest->size);
}

asio::awaitable<Status> LocalFileService::fetch(model::FileRef ref, std::string dest) {
  auto self = shared_from_this();
  if (!is_sha256_hex(ref.sha256))
    co_return Status::InvalidArgument("file '" + ref.name + "': '" + printable(ref.sha256) +
                                      "' is not a SHA-256 (64 lowercase hex digits)");
  auto to = resolve_path(dest);
  if (!to.ok()) co_return to.status();
  if (to->relative == ".")
    co_return Status::InvalidArgument("cannot fetch into the work root itself");
  bool into_store = to->relative == store_path(ref.sha256);
  mode_t mode = into_store ? kStoreMode : 0644;
  if (ref.executable) mode |= 0111;
  // A store file is named by its content: if it is there, it is right.
  if (into_store) {
    struct ::stat st {};
    if (::stat(to->absolute.c_str(), &st) == 0 && S_ISREG(st.st_mode)) co_return Status::Ok();
  }
  if (ref.source.empty() || ref.source == ctx_.self.address)
    co_return co_await fetch_local(std::move(ref), std::move(*to), mode);
  co_return co_await fetch_remote(std::move(ref), std::move(*to), mode);
}

asio::awaitable<Status> LocalFileService::fetch_local(model::FileRef ref, ResolvedPath to,
                                                      mode_t mode) {
  std::string what = "fetching '" + ref.name + "' from " + ref.path;
  auto from = resolve_path(ref.path);
  if (!from.ok()) co_return prefixed(from.status(), what);
  bool trusted = from->relative == store_path(ref.sha256);
  co_return co_await on_workers(ctx_.workers, [&]() -> Status {
    std::uint64_t size = 0;
    auto in = open_for_reading(from->absolute, &size);
    if (!in.ok()) return prefixed(in.status(), what);
    if (size != ref.size)
      return Status::InvalidArgument(what + ": size mismatch: expected " +
                                     std::to_string(ref.size) + " bytes, found " +
                                     std::to_string(size));
    if (from->absolute == to.absolute) {
      if (trusted) return Status::Ok();
      auto d = sha256_file(from->absolute);
      if (!d.ok()) return prefixed(d.status(), what);
      if (d->sha256 != ref.sha256)
        return Status::InvalidArgument(what + ": checksum mismatch: expected " + ref.sha256 +
                                       ", got " + d->sha256);
      return Status::Ok();
    }
    if (auto s = make_parent_dirs(to.absolute); !s.ok()) return s;
    // A store file is read-only and named by its hash: a hard link is a free, safe copy.
    // Not when it must become executable, which would change the store's copy too.
    struct ::stat st {};
    if (trusted && ::fstat(in->get(), &st) == 0 && (!(mode & 0111) || (st.st_mode & 0111))) {
      fs::path part = to.absolute;
      part += ".part-" + random_suffix();
      if (::link(from->absolute.c_str(), part.c_str()) == 0) {
        if (::rename(part.c_str(), to.absolute.c_str()) == 0) {
          sync_dir(to.absolute.parent_path());
          return Status::Ok();
        }
        ::unlink(part.c_str());
      }
      // Another file system, or links not allowed: copy.
    }
    auto out = PartialFile::Create(to.absolute);
    if (!out.ok()) return out.status();
    std::vector<char> buf(kChunkSize);
    for (std::uint64_t offset = 0;;) {
      auto n = read_at(in->get(), buf.data(), buf.size(), offset);
      if (!n.ok()) return prefixed(n.status(), what);
      if (*n == 0) break;
      if (auto s = out->append(buf.data(), *n); !s.ok()) return s;
      offset += *n;
    }
    auto d = out->finish();
    if (!d.ok()) return d.status();
    if (d->sha256 != ref.sha256)
      return Status::InvalidArgument(what + ": checksum mismatch: expected " + ref.sha256 +
                                     ", got " + d->sha256);
    return out->commit(mode);
  });
}

asio::awaitable<Status> LocalFileService::fetch_remote(model::FileRef ref, ResolvedPath to,
                                                       mode_t mode) {
  std::string what = "fetching '" + ref.name + "' from " + ref.source + ":" + ref.path;
  TransferOptions topts;
  topts.connect_timeout = options_.connect_timeout;
  topts.io_timeout = options_.transfer_timeout;
  std::minstd_rand jitter(std::random_device{}());
  Status last;
  int attempts = std::max(1, options_.fetch_attempts);
  for (int i = 0; i < attempts; ++i) {
    if (i > 0) {
      // Exponential back-off with full jitter, so peers retrying together spread out.
      auto cap = options_.fetch_backoff.count() << (i - 1);
      auto wait = std::uniform_int_distribution<long long>(cap / 2, cap)(jitter);
      asio::steady_timer timer(co_await asio::this_coro::executor, std::chrono::milliseconds(wait));
      co_await timer.async_wait(asio::use_awaitable);
    }
    auto part = co_await on_workers(ctx_.workers, [&]() -> Result<PartialFile> {
      if (auto s = make_parent_dirs(to.absolute); !s.ok()) return s;
      return PartialFile::Create(to.absolute);
    });
    if (!part.ok()) co_return part.status();
    auto digest = co_await download(ref.source, ref.path, ref.size, *part, ctx_.workers, topts);
    if (!digest.ok()) {
      last = prefixed(digest.status(), what);
      co_await on_workers(ctx_.workers, [&] {
        part->abandon();
        return 0;
      });
      if (last.code() == ErrorCode::unavailable || last.code() == ErrorCode::timeout) continue;
      co_return last;
    }
    co_return co_await on_workers(ctx_.workers, [&]() -> Status {
      if (digest->size != ref.size) {
        part->abandon();
        return Status::InvalidArgument(what + ": size mismatch: expected " +
                                       std::to_string(ref.size) + " bytes, got " +
                                       std::to_string(digest->size));
      }
      if (digest->sha256 != ref.sha256) {
        part->abandon();
        return Status::InvalidArgument(what + ": checksum mismatch: expected " + ref.sha256 +
                                       ", got " + digest->sha256);
      }
      return part->commit(mode);
    });
  }
  co_return last;
}

}  // namespace fvce::file
