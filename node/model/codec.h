// The XML codec of the model types (pugixml).
//
// Codec<T> knows the root element name of T and how to write and read it. to_xml() output
// validates against xsd/ (tests check this for every type); from_xml() expects a document
// that has already passed schema validation (the Resource layer validates every body), but
// still checks what it reads, so a peer's answer that slipped past validation yields an
// error rather than garbage.
#pragma once

#include <pugixml.hpp>
#include <string>
#include <string_view>

#include "node/core/status.h"
#include "node/model/account.h"
#include "node/model/error_doc.h"
#include "node/model/file.h"
#include "node/model/host.h"
#include "node/model/member.h"
#include "node/model/task.h"
#include "node/model/workflow.h"

namespace fvce::model {

inline constexpr const char* kNamespace = "urn:fvce:1";

template <typename T>
struct Codec;  // specialised per model type below

#define FVCE_DECLARE_CODEC(Type, Root)                           \
  template <>                                                    \
  struct Codec<Type> {                                           \
    static constexpr const char* root = Root;                    \
    static void encode(pugi::xml_node& node, const Type& value); \
    static Result<Type> decode(const pugi::xml_node& node);      \
  };

FVCE_DECLARE_CODEC(ErrorDoc, "error")
FVCE_DECLARE_CODEC(HostLoadReport, "host-load")
FVCE_DECLARE_CODEC(LoadHistory, "load-history")
FVCE_DECLARE_CODEC(HostInfo, "host-info")
FVCE_DECLARE_CODEC(HostsReport, "hosts")
FVCE_DECLARE_CODEC(MemberList, "members")
FVCE_DECLARE_CODEC(JoinRequest, "join")
FVCE_DECLARE_CODEC(Ping, "ping")
FVCE_DECLARE_CODEC(Ack, "ack")
FVCE_DECLARE_CODEC(Updates, "updates")
FVCE_DECLARE_CODEC(ProbeRequest, "probe")
FVCE_DECLARE_CODEC(FileEntry, "file-entry")
FVCE_DECLARE_CODEC(FileList, "file-list")
FVCE_DECLARE_CODEC(WorkflowDoc, "workflow")
FVCE_DECLARE_CODEC(TaskAssignment, "assignment")
FVCE_DECLARE_CODEC(TaskReports, "task-reports")
FVCE_DECLARE_CODEC(CancelRequest, "cancel")
FVCE_DECLARE_CODEC(ReleaseRequest, "release")
FVCE_DECLARE_CODEC(Drained, "drained")
FVCE_DECLARE_CODEC(Submitted, "submitted")
FVCE_DECLARE_CODEC(WorkflowList, "workflows")
FVCE_DECLARE_CODEC(WorkflowStatus, "workflow-status")
FVCE_DECLARE_CODEC(WorkflowView, "workflow-view")
FVCE_DECLARE_CODEC(ResultList, "results")
FVCE_DECLARE_CODEC(LoginRequest, "login")
FVCE_DECLARE_CODEC(TokenDoc, "token")
FVCE_DECLARE_CODEC(UserChange, "user-change")
FVCE_DECLARE_CODEC(UserList, "users")
FVCE_DECLARE_CODEC(AccountsDoc, "accounts")
#undef FVCE_DECLARE_CODEC

// Element-level pieces reused by several documents.
void encode_member(pugi::xml_node& node, const Member& m);
Result<Member> decode_member(const pugi::xml_node& node);
void encode_host_load(pugi::xml_node& node, const HostLoad& l);
Result<HostLoad> decode_host_load(const pugi::xml_node& node);

// Serialises value as a whole document with its root element in the fvce namespace.
template <typename T>
std::string to_xml(const T& value) {
  pugi::xml_document doc;
  auto decl = doc.append_child(pugi::node_declaration);
  decl.append_attribute("version") = "1.0";
  decl.append_attribute("encoding") = "UTF-8";
  auto root = doc.append_child(Codec<T>::root);
  root.append_attribute("xmlns") = kNamespace;
  Codec<T>::encode(root, value);
  struct Writer : pugi::xml_writer {
    std::string out;
    void write(const void* data, size_t size) override {
      out.append(static_cast<const char*>(data), size);
    }
  } w;
  doc.save(w, "  ", pugi::format_default, pugi::encoding_utf8);
  return std::move(w.out);
}

// Parses a document whose root must be T's root element. Reports line:column of XML
// syntax errors.
template <typename T>
Result<T> from_xml(std::string_view text);

// Parses text with pugixml; on failure the Status names line and column.
Result<pugi::xml_node> parse_document(pugi::xml_document& doc, std::string_view text);
// 1-based line and column of a byte offset in text.
std::pair<int, int> line_column(std::string_view text, std::ptrdiff_t offset);

template <typename T>
Result<T> from_xml(std::string_view text) {
  pugi::xml_document doc;
  auto root = parse_document(doc, text);
  if (!root.ok()) return root.status();
  if (std::string_view(root->name()) != Codec<T>::root)
    return Status::InvalidArgument(std::string("expected a <") + Codec<T>::root +
                                   "> document, got <" + root->name() + ">");
  return Codec<T>::decode(*root);
}

}  // namespace fvce::model
