#include "services/file/impl/local.h"

#include <fcntl.h>
#include <fnmatch.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/this_coro.hpp>
#include <cerrno>
#include <cstring>
#include <queue>
#include <vector>

#include "node/core/timer.h"

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

Status check_work_root(const fs::path& given) {
  std::error_code ec;
  fs::path root = fs::weakly_canonical(fs::absolute(given, ec), ec);
  if (ec) root = fs::absolute(given, ec).lexically_normal();
  auto refuse = [&](const std::string& why) {
    return Status::InvalidArgument("work root " + given.string() +
                                   (root != given ? " (" + root.string() + ")" : "") + " " + why +
                                   "; give the node a directory of its own");
  };
  // The system's own trees, and the directories that hold other people's files.
  static const char* const kSystem[] = {
      "/",       "/bin",  "/boot",    "/dev",     "/etc", "/lib", "/lib32", "/lib64",
      "/libx32", "/proc", "/sbin",    "/sys",     "/usr", "/run", "/root",  "/home",
      "/var",    "/tmp",  "/var/tmp", "/var/lib", "/srv", "/opt", "/mnt",   "/media"};
  for (const char* s : kSystem)
    if (root == fs::path(s)) return refuse("is a system directory");
  static const char* const kInside[] = {"/bin",   "/boot",   "/dev",  "/etc",  "/lib", "/lib32",
                                        "/lib64", "/libx32", "/proc", "/sbin", "/sys", "/usr"};
  for (const char* s : kInside)
    if (within(fs::path(s), root))
      return refuse("lies inside the system directory " + std::string(s));
  // A home directory itself: the work root would expose its owner's files to every user.
  ::setpwent();
  std::string home;
  while (struct passwd* pw = ::getpwent()) {
    if (pw->pw_dir && pw->pw_dir[0] == '/' && fs::path(pw->pw_dir).lexically_normal() == root) {
      home = pw->pw_name;
      break;
    }
  }
  ::endpwent();
  if (!home.empty()) return refuse("is the home directory of user '" + home + "'");
  return Status::Ok();
}

Result<std::shared_ptr<LocalFileService>> LocalFileService::Create(const NodeContext& ctx,
                                                                   LocalFileOptions options) {
  std::error_code ec;
  fs::path root = options.work_root;
  if (root.empty()) return Status::InvalidArgument("the file service needs a work root");
  if (root.is_relative()) root = fs::absolute(root, ec);
  if (auto s = check_work_root(root); !s.ok()) return s;
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
  fs::path captures = options.capture_root.empty() ? root / "captures" : options.capture_root;
  if (captures.is_relative()) captures = fs::absolute(captures, ec);
  fs::create_directories(captures, ec);
  if (ec)
    return Status::IOError("cannot create the capture root " + captures.string() + ": " +
                           ec.message());
  options.capture_root = fs::canonical(captures, ec);
  if (ec)
    return Status::IOError("cannot resolve the capture root " + captures.string() + ": " +
                           ec.message());
  return std::shared_ptr<LocalFileService>(new LocalFileService(ctx, std::move(options), root));
}

Result<UniqueFd> LocalFileService::open_confined(const ResolvedPath& where,
                                                 std::uint64_t* size_out) const {
  auto fd = open_for_reading(where.absolute, size_out);
  if (!fd.ok()) return fd;
  std::error_code ec;
  auto reached = fs::read_symlink("/proc/self/fd/" + std::to_string(fd->get()), ec);
  if (ec)
    return Status::IOError("cannot tell where '" + where.relative + "' leads: " + ec.message());
  if (!within(root_, reached))
    return Status::Forbidden("'" + printable(where.relative) +
                             "' leads outside the work root (a link was swapped in)");
  return fd;
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
    auto fd = open_confined(*where, &size);
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
    auto fd = open_confined(*where, nullptr);
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

asio::awaitable<Result<std::uint64_t>> LocalFileService::count_lines(std::string path) {
  auto self = shared_from_this();
  auto where = resolve_path(path);
  if (!where.ok()) co_return where.status();
  co_return co_await on_workers(ctx_.workers, [&]() -> Result<std::uint64_t> {
    auto fd = open_confined(*where, nullptr);
    if (!fd.ok()) return prefixed(fd.status(), "reading '" + where->relative + "'");
    std::vector<char> buf(256u << 10);
    std::uint64_t lines = 0, offset = 0;
    char last = '\n';
    for (;;) {
      auto n = read_at(fd->get(), buf.data(), buf.size(), offset);
      if (!n.ok()) return prefixed(n.status(), "reading '" + where->relative + "'");
      if (*n == 0) break;
      offset += *n;
      lines += static_cast<std::uint64_t>(std::count(buf.data(), buf.data() + *n, '\n'));
      last = buf[*n - 1];
    }
    return lines + (last != '\n' ? 1 : 0);
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
    auto part = PartialFile::Create(where->absolute, ctx_.random);
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

// --- streaming ------------------------------------------------------------------------

namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

class LocalReader final : public FileReader {
 public:
  LocalReader(UniqueFd fd, std::uint64_t offset, std::uint64_t size, std::uint64_t file_size,
              std::string relative, asio::thread_pool* workers)
      : fd_(std::move(fd)),
        at_(offset),
        left_(size),
        size_(size),
        file_size_(file_size),
        relative_(std::move(relative)),
        workers_(workers) {}

  std::uint64_t size() const override { return size_; }
  std::uint64_t file_size() const override { return file_size_; }

  asio::awaitable<Result<std::size_t>> read(char* data, std::size_t max) override {
    std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(max, left_));
    if (want == 0) co_return std::size_t{0};
    auto n = co_await on_workers(workers_, [&] { return read_at(fd_.get(), data, want, at_); });
    if (!n.ok()) co_return prefixed(n.status(), "reading '" + relative_ + "'");
    if (*n == 0)
      co_return Status::IOError("'" + relative_ + "' shrank while it was read (" +
                                std::to_string(left_) + " bytes missing)");
    at_ += *n;
    left_ -= *n;
    co_return *n;
  }

 private:
  UniqueFd fd_;
  std::uint64_t at_, left_, size_, file_size_;
  std::string relative_;
  asio::thread_pool* workers_;
};

class LocalWriter final : public FileWriter {
 public:
  LocalWriter(PartialFile part, std::string relative, WriteOptions options, mode_t mode,
              std::uint64_t limit, asio::thread_pool* workers)
      : part_(std::move(part)),
        relative_(std::move(relative)),
        options_(std::move(options)),
        mode_(mode),
        limit_(limit),
        workers_(workers) {}

  ~LocalWriter() override { part_.abandon(); }

  asio::awaitable<Status> write(const char* data, std::size_t n) override {
    if (spent_) co_return Status::Internal("'" + relative_ + "': write after commit");
    if (part_.size() + n > limit_)
      co_return Status::TooLarge("'" + relative_ + "': more than " + std::to_string(limit_) +
                                 " bytes");
    co_return co_await on_workers(workers_, [&] { return part_.append(data, n); });
  }

  asio::awaitable<Result<model::FileEntry>> commit() override {
    if (spent_) co_return Status::Internal("'" + relative_ + "': committed twice");
    spent_ = true;
    co_return co_await on_workers(workers_, [&]() -> Result<model::FileEntry> {
      auto d = part_.finish();
      if (!d.ok()) {
        part_.abandon();
        return d.status();
      }
      if (options_.size && d->size != *options_.size) {
        part_.abandon();
        return Status::InvalidArgument("'" + relative_ + "': size mismatch: expected " +
                                       std::to_string(*options_.size) + " bytes, got " +
                                       std::to_string(d->size));
      }
      if (!options_.sha256.empty() && d->sha256 != options_.sha256) {
        part_.abandon();
        return Status::InvalidArgument("'" + relative_ + "': checksum mismatch: expected " +
                                       options_.sha256 + ", got " + d->sha256);
      }
      if (auto c = part_.commit(mode_); !c.ok()) return c;
      auto entry = entry_at(part_.dest(), relative_);
      if (!entry.ok()) return entry.status();
      entry->sha256 = d->sha256;
      return entry;
    });
  }

  asio::awaitable<void> abandon() override {
    spent_ = true;
    co_await on_workers(workers_, [&] {
      part_.abandon();
      return 0;
    });
  }

 private:
  PartialFile part_;
  std::string relative_;
  WriteOptions options_;
  mode_t mode_;
  std::uint64_t limit_;
  asio::thread_pool* workers_;
  bool spent_ = false;
};

}  // namespace

asio::awaitable<Result<std::unique_ptr<FileReader>>> LocalFileService::open_read(
    std::string path, std::uint64_t offset, std::uint64_t length) {
  auto self = shared_from_this();
  auto where = resolve_path(path);
  if (!where.ok()) co_return where.status();
  std::uint64_t size = 0;
  auto fd = co_await on_workers(ctx_.workers, [&] { return open_confined(*where, &size); });
  if (!fd.ok()) {
    if (fd.status().code() == ErrorCode::not_found)
      co_return Status::NotFound("no such file: '" + where->relative + "'");
    if (fd.status().code() == ErrorCode::invalid_argument)
      co_return Status::InvalidArgument("'" + where->relative + "' is not a regular file");
    co_return prefixed(fd.status(), "reading '" + where->relative + "'");
  }
  if (offset > size)
    co_return Status::InvalidArgument("offset " + std::to_string(offset) + " is past the end of '" +
                                      where->relative + "' (" + std::to_string(size) + " bytes)");
  std::uint64_t n = std::min(length, size - offset);
  co_return std::unique_ptr<FileReader>(std::make_unique<LocalReader>(
      std::move(*fd), offset, n, size, where->relative, ctx_.workers));
}

asio::awaitable<Result<std::unique_ptr<FileWriter>>> LocalFileService::open_write(
    std::string path, WriteOptions options) {
  auto self = shared_from_this();
  auto where = resolve_path(path);
  if (!where.ok()) co_return where.status();
  if (where->relative == ".") co_return Status::Conflict("the work root is a directory");
  if (!options.sha256.empty() && !is_sha256_hex(options.sha256))
    co_return Status::InvalidArgument("'" + printable(options.sha256) +
                                      "' is not a SHA-256 (64 lowercase hex digits)");
  if (options.size && *options.size > options_.max_upload)
    co_return Status::TooLarge(
        "'" + where->relative + "' would be " + std::to_string(*options.size) +
        " bytes; this node accepts at most " + std::to_string(options_.max_upload));
  mode_t mode = options.executable ? 0755 : 0644;
  if (where->relative.rfind("store/", 0) == 0) {
    std::string name = where->relative.substr(6);
    if (name != options.sha256)
      co_return Status::InvalidArgument("'" + where->relative +
                                        "': a store file is named by its SHA-256, and the "
                                        "content's is " +
                                        (options.sha256.empty() ? "not given" : options.sha256));
    mode = kStoreMode | (options.executable ? 0111 : 0);
  }
  auto part = co_await on_workers(ctx_.workers, [&]() -> Result<PartialFile> {
    std::error_code ec;
    if (fs::is_directory(fs::symlink_status(where->absolute, ec)))
      return Status::Conflict("'" + where->relative + "' is a directory");
    if (auto s = make_parent_dirs(where->absolute); !s.ok())
      return Status::Conflict("cannot write '" + where->relative +
                              "': a parent is not a directory");
    return PartialFile::Create(where->absolute, ctx_.random);
  });
  if (!part.ok()) co_return part.status();
  co_return std::unique_ptr<FileWriter>(
      std::make_unique<LocalWriter>(std::move(*part), where->relative, std::move(options), mode,
                                    options_.max_upload, ctx_.workers));
}

asio::awaitable<Result<FileEntry>> LocalFileService::store_entry(std::string sha256) {
  auto self = shared_from_this();
  if (!is_sha256_hex(sha256))
    co_return Status::InvalidArgument("'" + printable(sha256) +
                                      "' is not a SHA-256 (64 lowercase hex digits)");
  std::string rel = store_path(sha256);
  auto where = resolve_path(rel);
  if (!where.ok()) co_return where.status();
  auto entry = co_await on_workers(ctx_.workers, [&] { return entry_at(where->absolute, rel); });
  if (!entry.ok() || entry->type != FileType::file)
    co_return Status::NotFound("this node has no file " + sha256);
  entry->sha256 = sha256;
  co_return entry;
}

// --- transfers ------------------------------------------------------------------------

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
  // A store file is named by its content: when the ref names one and this node's store holds
  // it too, this node's copy is as good as the source's (whichever node that is).
  if (ref.path == store_path(ref.sha256) || into_store) {
    auto stored = resolve_path(store_path(ref.sha256));
    if (!stored.ok()) co_return stored.status();
    struct ::stat st {};
    if (::stat(stored->absolute.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        static_cast<std::uint64_t>(st.st_size) == ref.size) {
      if (into_store) co_return Status::Ok();
      co_return co_await fetch_from_store(std::move(ref), std::move(*to), mode);
    }
  }
  Status last;
  bool damaged = false;
  int attempts = std::max(1, options_.fetch_attempts);
  for (int i = 0; i < attempts; ++i) {
    if (i > 0) co_await sleep_for(ctx_.clock, options_.fetch_backoff.delay(i, ctx_.random));
    damaged = false;
    last = co_await fetch_once(ref, *to, mode, &damaged);
    // A transfer cut short or corrupted on the way is tried again, as is a peer that did
    // not answer; nothing of a failed try is kept.
    if (last.ok() ||
        (!damaged && last.code() != ErrorCode::unavailable && last.code() != ErrorCode::timeout))
      break;
  }
  // The same mismatch in every try: the holder's copy is not the file that was made.
  if (damaged)
    co_return Status::NotFound("the copy of '" + ref.name + "' at " + ref.source +
                               " is damaged: it did not match its size and SHA-256 in " +
                               std::to_string(attempts) + " transfers (" + last.message() + ")");
  co_return last;
}

asio::awaitable<Status> LocalFileService::fetch_from_store(model::FileRef ref, ResolvedPath to,
                                                           mode_t mode) {
  std::string what = "fetching '" + ref.name + "' from this node's store";
  auto from = resolve_path(store_path(ref.sha256));
  if (!from.ok()) co_return prefixed(from.status(), what);
  co_return co_await on_workers(ctx_.workers, [&]() -> Status {
    std::uint64_t size = 0;
    auto in = open_confined(*from, &size);
    if (!in.ok()) return prefixed(in.status(), what);
    if (auto s = make_parent_dirs(to.absolute); !s.ok()) return s;
    // A store file is read-only and named by its hash: a hard link is a free, safe copy.
    // Not when it must become executable, which would change the store's copy too.
    struct ::stat st {};
    if (::fstat(in->get(), &st) == 0 && (!(mode & 0111) || (st.st_mode & 0111))) {
      fs::path part = to.absolute;
      part += ".part-" + random_suffix(ctx_.random);
      if (::link(from->absolute.c_str(), part.c_str()) == 0) {
        if (::rename(part.c_str(), to.absolute.c_str()) == 0) {
          sync_dir(to.absolute.parent_path());
          return Status::Ok();
        }
        ::unlink(part.c_str());
      }
      // Another file system, or links not allowed: copy.
    }
    auto out = PartialFile::Create(to.absolute, ctx_.random);
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

asio::awaitable<Status> LocalFileService::fetch_once(const model::FileRef& ref,
                                                     const ResolvedPath& to, mode_t mode,
                                                     bool* damaged) {
  std::string source = ref.source.empty() ? ctx_.self.address : ref.source;
  std::string what = "fetching '" + ref.name + "' from " + source + ":" + ref.path;
  PeerRef peer(source);
  auto& from = ctx_.peers.file(peer);
  auto reader = co_await from.open_read(ref.path, 0, kToEnd);
  if (!reader.ok()) co_return prefixed(reader.status(), what);
  if ((*reader)->size() != ref.size) {
    *damaged = true;
    co_return Status::InvalidArgument(what + ": size mismatch: expected " +
                                      std::to_string(ref.size) + " bytes, the source has " +
                                      std::to_string((*reader)->size()));
  }
  auto part = co_await on_workers(ctx_.workers, [&]() -> Result<PartialFile> {
    if (auto s = make_parent_dirs(to.absolute); !s.ok()) return s;
    return PartialFile::Create(to.absolute, ctx_.random);
  });
  if (!part.ok()) co_return part.status();
  std::vector<char> chunk(static_cast<std::size_t>(std::min<std::uint64_t>(kChunkSize, ref.size)));
  for (;;) {
    auto n = co_await (*reader)->read(chunk.data(), chunk.size());
    if (!n.ok()) co_return prefixed(n.status(), what);
    if (*n == 0) break;
    auto s = co_await on_workers(ctx_.workers, [&] { return part->append(chunk.data(), *n); });
    if (!s.ok()) co_return s;
  }
  co_return co_await on_workers(ctx_.workers, [&]() -> Status {
    auto digest = part->finish();
    if (!digest.ok()) return digest.status();
    if (digest->size != ref.size) {
      *damaged = true;
      return Status::InvalidArgument(what + ": size mismatch: expected " +
                                     std::to_string(ref.size) + " bytes, got " +
                                     std::to_string(digest->size));
    }
    if (digest->sha256 != ref.sha256) {
      *damaged = true;
      return Status::InvalidArgument(what + ": checksum mismatch: expected " + ref.sha256 +
                                     ", got " + digest->sha256);
    }
    return part->commit(mode);
  });
}

// --- task work directories ------------------------------------------------------------

namespace {

// A workflow or task id names one directory of the layout: one path component.
Status one_name(std::string_view what, std::string_view id) {
  if (id.empty() || id == "." || id == ".." || id.find('/') != std::string_view::npos ||
      id.find('\0') != std::string_view::npos)
    return Status::InvalidArgument(std::string(what) + " '" + printable(id) +
                                   "' cannot name a directory of the work root");
  return Status::Ok();
}

Status task_names(std::string_view workflow, std::string_view task) {
  if (auto s = one_name("workflow id", workflow); !s.ok()) return s;
  if (!task.empty()) return one_name("task id", task);
  return Status::Ok();
}

}  // namespace

std::string task_dir_name(std::string_view task) {
  auto open = task.find('[');
  if (open == std::string_view::npos || task.empty() || task.back() != ']')
    return std::string(task);
  return std::string(task.substr(0, open)) + "." +
         std::string(task.substr(open + 1, task.size() - open - 2));
}

asio::awaitable<Result<TaskDir>> LocalFileService::prepare_task_dir(
    std::string workflow, std::string task, int attempt, std::vector<std::string> input_names) {
  auto self = shared_from_this();
  if (auto s = task_names(workflow, task); !s.ok()) co_return s;
  if (task.empty()) co_return Status::InvalidArgument("a task directory needs a task id");
  // The task's directory is resolved with the confinement checks; the attempt's directory
  // and capture files are new names inside it (and are opened without following links).
  std::string task_rel = "work/" + workflow + "/" + task_dir_name(task);
  auto task_abs = resolve(task_rel);
  if (!task_abs.ok()) co_return task_abs.status();
  std::string a = "a" + std::to_string(attempt);
  TaskDir dir;
  dir.workdir = task_rel + "/" + a;
  dir.workdir_abs = *task_abs / a;
  // The captures: capture_root/<workflow>/<task-dir>/a<N>.out and .err (names checked above).
  fs::path captures = options_.capture_root / workflow / task_dir_name(task);
  dir.out_abs = captures / (a + ".out");
  dir.err_abs = captures / (a + ".err");
  std::vector<fs::path> parents;
  for (const auto& name : input_names) {
    if (name.find('/') == std::string::npos) continue;
    auto p = resolve(dir.workdir + "/" + name);
    if (!p.ok()) co_return p.status();
    parents.push_back(p->parent_path());
  }
  Status made = co_await on_workers(ctx_.workers, [&]() -> Status {
    std::error_code ec;
    if (::mkdir(dir.workdir_abs.c_str(), 0755) != 0) {
      if (errno == ENOENT) {  // the task's first attempt here: its parents come first
        fs::create_directories(*task_abs, ec);
        if (ec) return Status::IOError("cannot create " + task_rel + ": " + ec.message());
      } else if (errno == EEXIST) {
        // Left by an earlier run of this very attempt (a restart): stale.
        fs::remove_all(dir.workdir_abs, ec);
        if (ec) return Status::IOError("cannot clear " + dir.workdir + ": " + ec.message());
      } else {
        return Status::IOError("cannot create " + dir.workdir + ": " + std::strerror(errno));
      }
      if (::mkdir(dir.workdir_abs.c_str(), 0755) != 0)
        return Status::IOError("cannot create " + dir.workdir + ": " + std::strerror(errno));
    }
    for (const auto& p : parents) {
      fs::create_directories(p, ec);
      if (ec) return Status::IOError("cannot create " + p.string() + ": " + ec.message());
    }
    fs::create_directories(captures, ec);
    if (ec) return Status::IOError("cannot create " + captures.string() + ": " + ec.message());
    return Status::Ok();
  });
  if (!made.ok()) co_return made;
  co_return dir;
}

asio::awaitable<Result<model::FileRef>> LocalFileService::task_output(const TaskDir& dir,
                                                                      std::string name) {
  auto self = shared_from_this();
  std::string rel = dir.workdir + "/" + name;
  auto where = resolve_path(rel);
  if (!where.ok()) co_return where.status();
  struct Checked {
    Status status;
    bool executable = false;
    Digest digest;
  };
  Checked c = co_await on_workers(ctx_.workers, [&]() -> Checked {
    Checked out;
    struct ::stat st {};
    if (::stat(where->absolute.c_str(), &st) != 0) {
      out.status = Status::NotFound("the task did not write output '" + name + "'");
      return out;
    }
    if (!S_ISREG(st.st_mode)) {
      out.status = Status::InvalidArgument("output '" + name + "' is not a regular file");
      return out;
    }
    out.executable = (st.st_mode & S_IXUSR) != 0;
    auto d = sha256_file(where->absolute);
    if (!d.ok())
      out.status = prefixed(d.status(), "hashing output '" + name + "'");
    else
      out.digest = std::move(*d);
    return out;
  });
  if (!c.status.ok()) co_return c.status;
  co_return model::FileRef{
      name, c.digest.sha256, c.digest.size, ctx_.self.address, where->relative, c.executable};
}

namespace {

// The last max_bytes of a file; not-found when it does not exist. Blocking.
Result<std::string> read_tail(const fs::path& path, std::uint64_t max_bytes) {
  std::uint64_t size = 0;
  auto fd = open_for_reading(path, &size);
  if (!fd.ok()) return fd.status();
  auto from = size > max_bytes ? size - max_bytes : 0;
  std::string out(static_cast<std::size_t>(size - from), '\0');
  auto n = read_at(fd->get(), out.data(), out.size(), from);
  if (!n.ok()) return n.status();
  out.resize(*n);
  return out;
}

}  // namespace

asio::awaitable<Result<std::string>> LocalFileService::task_log(std::string workflow,
                                                                std::string task, int attempt,
                                                                std::string stream,
                                                                std::uint64_t max_bytes) {
  auto self = shared_from_this();
  if (stream != "stdout" && stream != "stderr")
    co_return Status::InvalidArgument("stream must be stdout or stderr, not '" + printable(stream) +
                                      "'");
  if (attempt < 0) co_return Status::InvalidArgument("attempt must be 0 (latest) or more");
  if (auto s = task_names(workflow, task); !s.ok()) co_return s;
  if (task.empty()) co_return Status::InvalidArgument("logs are a task's: name the task");
  std::string ext = stream == "stdout" ? ".out" : ".err";
  // Names checked above: one path component each, so this stays inside the capture root.
  fs::path captures = options_.capture_root / workflow / task_dir_name(task);
  max_bytes = std::min(max_bytes, kMaxRead);
  co_return co_await on_workers(ctx_.workers, [&]() -> Result<std::string> {
    int chosen = attempt;
    if (chosen == 0) {
      std::error_code ec;
      for (fs::directory_iterator it(captures, ec), end; !ec && it != end; it.increment(ec)) {
        auto name = it->path().filename().string();
        if (name.size() <= ext.size() + 1 || name[0] != 'a' ||
            name.compare(name.size() - ext.size(), ext.size(), ext) != 0)
          continue;
        auto digits = name.substr(1, name.size() - 1 - ext.size());
        if (digits.empty() || digits.size() > 9 ||
            !std::all_of(digits.begin(), digits.end(), is_digit))
          continue;
        chosen = std::max(chosen, std::stoi(digits));
      }
    }
    std::string what = "no " + stream + " of task " + task +
                       (attempt ? " attempt " + std::to_string(attempt) : "") + " of workflow " +
                       workflow + " on this host";
    if (chosen == 0) return Status::NotFound(what);
    auto tail = read_tail(captures / ("a" + std::to_string(chosen) + ext), max_bytes);
    if (!tail.ok() && tail.status().code() == ErrorCode::not_found) return Status::NotFound(what);
    return tail;
  });
}

asio::awaitable<Status> LocalFileService::remove_task_dirs(std::string workflow, std::string task,
                                                           std::set<std::string> keep) {
  auto self = shared_from_this();
  if (auto s = task_names(workflow, task); !s.ok()) co_return s;
  std::string root = "work/" + workflow;
  if (!task.empty()) root += "/" + task_dir_name(task);
  auto abs = resolve(root);
  if (!abs.ok()) co_return abs.status();
  co_return co_await on_workers(ctx_.workers, [&]() -> Status {
    std::error_code ec;
    if (!fs::is_directory(*abs, ec)) return Status::Ok();
    // work/<workflow>/<task-dir>/a<N>/ are removed (the captures live elsewhere and stay).
    std::vector<std::pair<std::string, fs::path>> task_dirs;
    if (task.empty()) {
      for (fs::directory_iterator it(*abs, ec), end; !ec && it != end; it.increment(ec))
        if (it->is_directory(ec) && !it->is_symlink(ec))
          task_dirs.emplace_back(root + "/" + it->path().filename().string(), it->path());
    } else {
      task_dirs.emplace_back(root, *abs);
    }
    std::vector<fs::path> doomed;  // collected first: no removal while a directory is read
    for (const auto& [rel, dir] : task_dirs) {
      for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        auto name = it->path().filename().string();
        if (name.size() < 2 || name[0] != 'a' ||
            !std::all_of(name.begin() + 1, name.end(), is_digit) || it->is_symlink(ec) ||
            !it->is_directory(ec) || keep.count(rel + "/" + name))
          continue;
        doomed.push_back(it->path());
      }
    }
    for (const auto& p : doomed) {
      fs::remove_all(p, ec);
      if (ec) return Status::IOError("cannot remove " + p.string() + ": " + ec.message());
    }
    return Status::Ok();
  });
}

}  // namespace fvce::file
