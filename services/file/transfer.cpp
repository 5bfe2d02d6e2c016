#include "services/file/transfer.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace fvce::file {

namespace fs = std::filesystem;

namespace {

std::string errno_text(int err) {
  return std::strerror(err);
}

}  // namespace

bool is_sha256_hex(std::string_view text) {
  if (text.size() != 64) return false;
  for (char c : text)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

struct Sha256::Ctx {
  EVP_MD_CTX* md = nullptr;
  Ctx() : md(EVP_MD_CTX_new()) {
    if (md == nullptr || EVP_DigestInit_ex(md, EVP_sha256(), nullptr) != 1)
      throw std::runtime_error("OpenSSL cannot initialise SHA-256");
  }
  ~Ctx() { EVP_MD_CTX_free(md); }
};

Sha256::Sha256() : ctx_(std::make_unique<Ctx>()) {}
Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

void Sha256::update(const void* data, std::size_t n) {
  if (n > 0) EVP_DigestUpdate(ctx_->md, data, n);
}

std::string Sha256::final_hex() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx_->md, md, &len);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[md[i] >> 4]);
    out.push_back(kHex[md[i] & 0xf]);
  }
  return out;
}

void UniqueFd::reset() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

Result<UniqueFd> open_for_reading(const fs::path& path, std::uint64_t* size_out) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    int err = errno;
    if (err == ENOENT || err == ENOTDIR) return Status::NotFound(path.string() + ": no such file");
    return Status::IOError(path.string() + ": cannot open: " + errno_text(err));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0)
    return Status::IOError(path.string() + ": cannot stat: " + errno_text(errno));
  if (!S_ISREG(st.st_mode)) return Status::InvalidArgument(path.string() + ": not a regular file");
  if (size_out != nullptr) *size_out = static_cast<std::uint64_t>(st.st_size);
  return fd;
}

Result<std::size_t> read_at(int fd, char* data, std::size_t n, std::uint64_t offset) {
  std::size_t got = 0;
  while (got < n) {
    ssize_t r = ::pread(fd, data + got, n - got, static_cast<off_t>(offset + got));
    if (r < 0) {
      if (errno == EINTR) continue;
      return Status::IOError("read failed: " + errno_text(errno));
    }
    if (r == 0) break;
    got += static_cast<std::size_t>(r);
  }
  return got;
}

Result<Digest> sha256_file(const fs::path& path) {
  std::uint64_t size = 0;
  auto fd = open_for_reading(path, &size);
  if (!fd.ok()) return fd.status();
  Sha256 hash;
  std::vector<char> buf(kChunkSize);
  std::uint64_t offset = 0;
  for (;;) {
    auto n = read_at(fd->get(), buf.data(), buf.size(), offset);
    if (!n.ok()) return Status::IOError(path.string() + ": " + n.status().message());
    if (*n == 0) break;
    hash.update(buf.data(), *n);
    offset += *n;
  }
  return Digest{hash.final_hex(), offset};
}

Status make_parent_dirs(const fs::path& path) {
  std::error_code ec;
  auto parent = path.parent_path();
  if (parent.empty() || fs::is_directory(parent, ec)) return Status::Ok();
  fs::create_directories(parent, ec);
  if (ec) return Status::IOError(parent.string() + ": cannot create directory: " + ec.message());
  return Status::Ok();
}

void sync_dir(const fs::path& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd) ::fsync(fd.get());
}

Result<PartialFile> PartialFile::Create(const fs::path& dest, Random& random) {
  // O_EXCL: a random name that already exists is someone else's part file; try another.
  for (int tries = 0; tries < 4; ++tries) {
    fs::path part = dest;
    part += ".part-" + random_suffix(random);
    int fd = ::open(part.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd >= 0) return PartialFile(dest, std::move(part), UniqueFd(fd));
    if (errno != EEXIST)
      return Status::IOError(part.string() + ": cannot create: " + errno_text(errno));
  }
  return Status::IOError(dest.string() + ": cannot create a temporary file beside it");
}

PartialFile::PartialFile(PartialFile&& o) noexcept
    : dest_(std::move(o.dest_)),
      part_(std::move(o.part_)),
      fd_(std::move(o.fd_)),
      hash_(std::move(o.hash_)),
      size_(o.size_),
      done_(o.done_) {
  o.done_ = true;  // the moved-from object must not remove the part file
}

PartialFile& PartialFile::operator=(PartialFile&& o) noexcept {
  if (this != &o) {
    abandon();
    dest_ = std::move(o.dest_);
    part_ = std::move(o.part_);
    fd_ = std::move(o.fd_);
    hash_ = std::move(o.hash_);
    size_ = o.size_;
    done_ = o.done_;
    o.done_ = true;
  }
  return *this;
}

PartialFile::~PartialFile() {
  abandon();
}

Status PartialFile::append(const char* data, std::size_t n) {
  if (!fd_) return Status::Internal(part_.string() + ": append after finish");
  hash_.update(data, n);
  std::size_t left = n;
  while (left > 0) {
    ssize_t w = ::write(fd_.get(), data, left);
    if (w < 0) {
      if (errno == EINTR) continue;
      return Status::IOError(part_.string() + ": write failed: " + errno_text(errno));
    }
    data += w;
    left -= static_cast<std::size_t>(w);
  }
  size_ += n;
  return Status::Ok();
}

Result<Digest> PartialFile::finish() {
  if (!fd_) return Status::Internal(part_.string() + ": finished twice");
  if (::fsync(fd_.get()) != 0)
    return Status::IOError(part_.string() + ": fsync failed: " + errno_text(errno));
  if (::close(fd_.release()) != 0)
    return Status::IOError(part_.string() + ": close failed: " + errno_text(errno));
  return Digest{hash_.final_hex(), size_};
}

Status PartialFile::commit(mode_t mode) {
  if (done_ || part_.empty()) return Status::Internal(dest_.string() + ": nothing to commit");
  if (fd_) return Status::Internal(part_.string() + ": commit before finish");
  if (::chmod(part_.c_str(), mode) != 0)
    return Status::IOError(part_.string() + ": chmod failed: " + errno_text(errno));
  if (::rename(part_.c_str(), dest_.c_str()) != 0) {
    int err = errno;
    if (err == EISDIR || err == ENOTEMPTY || err == EEXIST)
      return Status::Conflict(dest_.string() + " is a directory");
    return Status::IOError(dest_.string() + ": rename failed: " + errno_text(err));
  }
  done_ = true;
  sync_dir(dest_.parent_path());
  return Status::Ok();
}

void PartialFile::abandon() {
  if (done_) return;
  done_ = true;
  fd_.reset();
  if (!part_.empty()) ::unlink(part_.c_str());
}

}  // namespace fvce::file
