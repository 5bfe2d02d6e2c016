// Codecs of the file service's documents (xsd/file.xsd).
#include "node/model/codec.h"
#include "node/model/codec_util.h"

namespace fvce::model {

using namespace detail;

namespace {

const char* file_type_name(FileType t) {
  switch (t) {
    case FileType::file:
      return "file";
    case FileType::dir:
      return "dir";
    case FileType::symlink:
      return "symlink";
    case FileType::other:
      return "other";
  }
  return "other";
}

void encode_entry(pugi::xml_node& n, const FileEntry& e) {
  n.append_attribute("path") = e.path.c_str();
  n.append_attribute("type") = file_type_name(e.type);
  n.append_attribute("size") = static_cast<unsigned long long>(e.size);
  n.append_attribute("mtime") = static_cast<long long>(e.mtime);
  n.append_attribute("mode") = e.mode;
  if (!e.sha256.empty()) n.append_attribute("sha256") = e.sha256.c_str();
}

Result<FileEntry> decode_entry(const pugi::xml_node& n) {
  FileEntry e;
  FVCE_TRY(read_string(n, "path", e.path));
  std::string type = n.attribute("type").value();
  if (type == "file")
    e.type = FileType::file;
  else if (type == "dir")
    e.type = FileType::dir;
  else if (type == "symlink")
    e.type = FileType::symlink;
  else if (type == "other")
    e.type = FileType::other;
  else
    return bad(n, "type", "file, dir, symlink or other");
  FVCE_TRY(read_int(n, "size", e.size));
  FVCE_TRY(read_int(n, "mtime", e.mtime));
  FVCE_TRY(read_int(n, "mode", e.mode));
  FVCE_TRY(read_string(n, "sha256", e.sha256, false));
  return e;
}

}  // namespace

// --- file ---

void Codec<FileEntry>::encode(pugi::xml_node& n, const FileEntry& e) {
  encode_entry(n, e);
}
Result<FileEntry> Codec<FileEntry>::decode(const pugi::xml_node& n) {
  return decode_entry(n);
}

void Codec<FileList>::encode(pugi::xml_node& n, const FileList& l) {
  n.append_attribute("path") = l.path.c_str();
  if (l.truncated) n.append_attribute("truncated") = "true";
  for (const auto& e : l.entries) {
    auto c = n.append_child("entry");
    encode_entry(c, e);
  }
}
Result<FileList> Codec<FileList>::decode(const pugi::xml_node& n) {
  FileList l;
  FVCE_TRY(read_string(n, "path", l.path));
  FVCE_TRY(read_bool(n, "truncated", l.truncated));
  for (auto c : n.children("entry")) {
    auto e = decode_entry(c);
    if (!e.ok()) return e.status();
    l.entries.push_back(std::move(*e));
  }
  return l;
}

}  // namespace fvce::model
