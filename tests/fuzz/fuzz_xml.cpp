// Fuzzes what a node does with every XML body it reads: the shape limits and the schema
// (Xerces-C), then the decoder of every model type, whatever the schema said (a decoder must
// refuse, never crash, on a document that slipped past validation).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "node/model/codec.h"
#include "node/xml/schema.h"

namespace m = fvce::model;

template <typename... T>
void decode_all(std::string_view text) {
  (static_cast<void>(m::from_xml<T>(text)), ...);
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto& schemas = fvce::xml::SchemaSet::instance();
  static_cast<void>(schemas.check_shape(text));
  bool valid = schemas.validate(text).ok();
  decode_all<m::ErrorDoc, m::MemberList, m::JoinRequest, m::Ping, m::Ack, m::Updates,
             m::ProbeRequest, m::HostInfo, m::HostsReport, m::HostLoadReport, m::LoadHistory,
             m::TaskAssignment, m::TaskReports, m::CancelRequest, m::Submitted, m::WorkflowList,
             m::WorkflowStatus, m::ResultList, m::FileEntry, m::FileList, m::WorkflowDoc,
             m::LoginRequest, m::TokenDoc, m::UserChange, m::UserList, m::AccountsDoc>(text);
  // What passed the schema decodes and encodes again.
  if (valid) {
    if (auto wf = m::from_xml<m::WorkflowDoc>(text); wf.ok())
      static_cast<void>(schemas.validate(m::to_xml(*wf)));
  }
  return 0;
}
