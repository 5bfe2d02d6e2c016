#include "files.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace marmousi {

namespace {

std::string ErrnoText() {
  return std::strerror(errno);
}

Status FsyncPath(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return Status::Error(path + ": cannot open for fsync: " + ErrnoText());
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return Status::Error(path + ": fsync failed: " + ErrnoText());
  return Status::Ok();
}

}  // namespace

std::string TempPathFor(const std::string& path) {
  return path + ".tmp." + std::to_string(::getpid());
}

Status CommitTempFile(const std::string& temp_path, const std::string& path) {
  Status s = FsyncPath(temp_path);
  if (!s.ok()) return s;
  if (std::rename(temp_path.c_str(), path.c_str()) != 0) {
    return Status::Error(path + ": cannot rename " + temp_path + " onto it: " + ErrnoText());
  }
  return Status::Ok();
}

AtomicFile::~AtomicFile() {
  if (file_ != nullptr) std::fclose(file_);
  if (!committed_ && !temp_path_.empty()) std::remove(temp_path_.c_str());
}

Status AtomicFile::Open(const std::string& path) {
  path_ = path;
  temp_path_ = TempPathFor(path);
  file_ = std::fopen(temp_path_.c_str(), "wb");
  if (file_ == nullptr) {
    std::string why = ErrnoText();
    temp_path_.clear();
    return Status::Error(path + ": cannot create output file: " + why);
  }
  return Status::Ok();
}

Status AtomicFile::Write(const void* data, size_t bytes) {
  if (file_ == nullptr) return Status::Error(path_ + ": write to a file that is not open");
  if (bytes > 0 && std::fwrite(data, 1, bytes, file_) != bytes) {
    return Status::Error(path_ + ": write failed: " + ErrnoText());
  }
  return Status::Ok();
}

Status AtomicFile::Commit() {
  if (file_ == nullptr) return Status::Error(path_ + ": commit of a file that is not open");
  bool flushed = std::fflush(file_) == 0 && ::fsync(::fileno(file_)) == 0;
  std::string why = flushed ? "" : ErrnoText();
  bool closed = std::fclose(file_) == 0;
  file_ = nullptr;
  if (!flushed || !closed) return Status::Error(path_ + ": cannot flush output: " + why);
  if (std::rename(temp_path_.c_str(), path_.c_str()) != 0) {
    return Status::Error(path_ + ": cannot rename temporary file onto it: " + ErrnoText());
  }
  committed_ = true;
  return Status::Ok();
}

Status ReadFile(const std::string& path, std::vector<uint8_t>* bytes) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"),
                                                       &std::fclose);
  if (!file) return Status::Error(path + ": cannot open: " + ErrnoText());
  bytes->clear();
  uint8_t buffer[1 << 16];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, file.get())) > 0) {
    bytes->insert(bytes->end(), buffer, buffer + n);
  }
  if (std::ferror(file.get())) return Status::Error(path + ": read failed: " + ErrnoText());
  return Status::Ok();
}

Status ReadGzipFile(const std::string& path, size_t max_bytes, std::vector<uint8_t>* bytes) {
  gzFile file = gzopen(path.c_str(), "rb");
  if (file == nullptr) return Status::Error(path + ": cannot open: " + ErrnoText());
  bytes->clear();
  uint8_t buffer[1 << 16];
  int n;
  while ((n = gzread(file, buffer, sizeof buffer)) > 0) {
    bytes->insert(bytes->end(), buffer, buffer + n);
    if (bytes->size() > max_bytes) {
      gzclose(file);
      return Status::Error(path + ": decompresses to more than " + std::to_string(max_bytes) +
                           " bytes; not the expected model");
    }
  }
  int err = Z_OK;
  const char* message = gzerror(file, &err);
  std::string what = (n < 0 || (err != Z_OK && err != Z_STREAM_END)) ? message : "";
  gzclose(file);
  if (!what.empty()) {
    return Status::Error(path + ": corrupt or truncated gzip data (" + what + ")");
  }
  return Status::Ok();
}

std::string Sha256Hex(std::span<const uint8_t> data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr);
  static const char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 15];
  }
  return hex;
}

}  // namespace marmousi
