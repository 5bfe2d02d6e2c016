#include "node/model/codec.h"

#include "node/model/codec_util.h"

namespace fvce::model {

using namespace detail;

std::string_view to_string(MemberState s) {
  switch (s) {
    case MemberState::alive:
      return "alive";
    case MemberState::suspect:
      return "suspect";
    case MemberState::dead:
      return "dead";
    case MemberState::left:
      return "left";
  }
  return "alive";
}

std::optional<MemberState> member_state_from_string(std::string_view s) {
  if (s == "alive") return MemberState::alive;
  if (s == "suspect") return MemberState::suspect;
  if (s == "dead") return MemberState::dead;
  if (s == "left") return MemberState::left;
  return std::nullopt;
}

std::pair<int, int> line_column(std::string_view text, std::ptrdiff_t offset) {
  int line = 1, column = 1;
  for (std::ptrdiff_t i = 0; i < offset && i < static_cast<std::ptrdiff_t>(text.size()); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return {line, column};
}

Result<pugi::xml_node> parse_document(pugi::xml_document& doc, std::string_view text) {
  auto r = doc.load_buffer(text.data(), text.size(), pugi::parse_default, pugi::encoding_utf8);
  if (!r) {
    auto [line, column] = line_column(text, r.offset);
    return Status::InvalidArgument(std::to_string(line) + ":" + std::to_string(column) + ": " +
                                   r.description());
  }
  auto root = doc.document_element();
  if (!root) return Status::InvalidArgument("1:1: the document has no root element");
  return root;
}

namespace {

void encode_static(pugi::xml_node& n, const HostStatic& h) {
  n.append_attribute("cores") = h.cores;
  n.append_attribute("cpu-model") = h.cpu_model.c_str();
  n.append_attribute("cpu-mhz") = fmt(h.cpu_mhz).c_str();
  n.append_attribute("memory") = static_cast<unsigned long long>(h.memory);
  n.append_attribute("disk") = static_cast<unsigned long long>(h.disk);
  n.append_attribute("os") = h.os.c_str();
  n.append_attribute("arch") = h.arch.c_str();
  n.append_attribute("speed") = fmt(h.speed).c_str();
  n.append_attribute("slots") = h.slots;
  n.append_attribute("info-impl") = h.info_impl.c_str();
  n.append_attribute("started") = static_cast<long long>(h.started);
  n.append_attribute("version") = h.version.c_str();
}

Result<HostStatic> decode_static(const pugi::xml_node& n) {
  HostStatic h;
  FVCE_TRY(read_int(n, "cores", h.cores));
  FVCE_TRY(read_string(n, "cpu-model", h.cpu_model));
  FVCE_TRY(read_double(n, "cpu-mhz", h.cpu_mhz));
  FVCE_TRY(read_int(n, "memory", h.memory));
  FVCE_TRY(read_int(n, "disk", h.disk));
  FVCE_TRY(read_string(n, "os", h.os));
  FVCE_TRY(read_string(n, "arch", h.arch));
  FVCE_TRY(read_double(n, "speed", h.speed));
  FVCE_TRY(read_int(n, "slots", h.slots));
  FVCE_TRY(read_string(n, "info-impl", h.info_impl));
  FVCE_TRY(read_int(n, "started", h.started));
  FVCE_TRY(read_string(n, "version", h.version));
  return h;
}

void encode_gossip(pugi::xml_node& n, const Gossip& g) {
  n.append_attribute("from") = g.from.c_str();
  if (!g.to.empty()) n.append_attribute("to") = g.to.c_str();
  for (const auto& m : g.members) {
    auto c = n.append_child("member");
    encode_member(c, m);
  }
}

template <typename G>
Result<G> decode_gossip(const pugi::xml_node& n) {
  G g;
  FVCE_TRY(read_string(n, "from", g.from));
  FVCE_TRY(read_string(n, "to", g.to, false));
  for (auto c : n.children("member")) {
    auto m = decode_member(c);
    if (!m.ok()) return m.status();
    g.members.push_back(std::move(*m));
  }
  return g;
}

}  // namespace

void encode_member(pugi::xml_node& n, const Member& m) {
  n.append_attribute("id") = m.id.c_str();
  n.append_attribute("name") = m.name.c_str();
  n.append_attribute("address") = m.address.c_str();
  n.append_attribute("incarnation") = static_cast<unsigned long long>(m.incarnation);
  n.append_attribute("state") = std::string(to_string(m.state)).c_str();
  if (m.last_seen > 0) n.append_attribute("last-seen") = static_cast<long long>(m.last_seen);
  auto h = n.append_child("host");
  encode_static(h, m.host);
}

Result<Member> decode_member(const pugi::xml_node& n) {
  Member m;
  FVCE_TRY(read_string(n, "id", m.id));
  FVCE_TRY(read_string(n, "name", m.name));
  FVCE_TRY(read_string(n, "address", m.address));
  FVCE_TRY(read_int(n, "incarnation", m.incarnation));
  auto state = member_state_from_string(n.attribute("state").value());
  if (!state) return bad(n, "state", "one of alive, suspect, dead, left");
  m.state = *state;
  FVCE_TRY(read_int(n, "last-seen", m.last_seen, false));
  auto h = n.child("host");
  if (!h) return Status::InvalidArgument("<member id=\"" + m.id + "\"> lacks its <host>");
  auto hs = decode_static(h);
  if (!hs.ok()) return hs.status();
  m.host = std::move(*hs);
  return m;
}

void encode_host_load(pugi::xml_node& n, const HostLoad& l) {
  n.append_attribute("time") = static_cast<long long>(l.time);
  n.append_attribute("load1") = fmt(l.load1).c_str();
  n.append_attribute("load5") = fmt(l.load5).c_str();
  n.append_attribute("load15") = fmt(l.load15).c_str();
  n.append_attribute("cpu") = fmt(l.cpu).c_str();
  n.append_attribute("memory-free") = static_cast<unsigned long long>(l.memory_free);
  n.append_attribute("memory-total") = static_cast<unsigned long long>(l.memory_total);
  n.append_attribute("free-slots") = l.free_slots;
  n.append_attribute("queue") = l.queue;
  if (l.disk_total) {
    n.append_attribute("disk-free") = static_cast<unsigned long long>(l.disk_free);
    n.append_attribute("disk-total") = static_cast<unsigned long long>(l.disk_total);
  }
  if (!l.down.empty()) n.append_attribute("down") = l.down.c_str();
}

Result<HostLoad> decode_host_load(const pugi::xml_node& n) {
  HostLoad l;
  FVCE_TRY(read_int(n, "time", l.time));
  FVCE_TRY(read_double(n, "load1", l.load1));
  FVCE_TRY(read_double(n, "load5", l.load5));
  FVCE_TRY(read_double(n, "load15", l.load15));
  FVCE_TRY(read_double(n, "cpu", l.cpu));
  FVCE_TRY(read_int(n, "memory-free", l.memory_free));
  FVCE_TRY(read_int(n, "memory-total", l.memory_total));
  FVCE_TRY(read_int(n, "free-slots", l.free_slots));
  FVCE_TRY(read_int(n, "queue", l.queue));
  FVCE_TRY(read_int(n, "disk-free", l.disk_free, false));
  FVCE_TRY(read_int(n, "disk-total", l.disk_total, false));
  FVCE_TRY(read_string(n, "down", l.down, false));
  return l;
}

// --- documents ---

void Codec<ErrorDoc>::encode(pugi::xml_node& n, const ErrorDoc& e) {
  n.append_attribute("code") = std::string(to_string(e.code)).c_str();
  if (e.line > 0) n.append_attribute("line") = e.line;
  if (e.column > 0) n.append_attribute("column") = e.column;
  n.text() = e.message.c_str();
}
Result<ErrorDoc> Codec<ErrorDoc>::decode(const pugi::xml_node& n) {
  ErrorDoc e;
  e.code = error_code_from_string(n.attribute("code").value());
  FVCE_TRY(read_int(n, "line", e.line, false));
  FVCE_TRY(read_int(n, "column", e.column, false));
  e.message = n.text().get();
  return e;
}

void Codec<HostLoadReport>::encode(pugi::xml_node& n, const HostLoadReport& r) {
  encode_host_load(n, r.load);
  n.append_attribute("id") = r.id.c_str();
  n.append_attribute("name") = r.name.c_str();
}
Result<HostLoadReport> Codec<HostLoadReport>::decode(const pugi::xml_node& n) {
  HostLoadReport r;
  FVCE_TRY(read_string(n, "id", r.id));
  FVCE_TRY(read_string(n, "name", r.name));
  auto l = decode_host_load(n);
  if (!l.ok()) return l.status();
  r.load = *l;
  return r;
}

void Codec<LoadHistory>::encode(pugi::xml_node& n, const LoadHistory& h) {
  n.append_attribute("id") = h.id.c_str();
  n.append_attribute("name") = h.name.c_str();
  n.append_attribute("interval") = h.interval_ms;
  for (const auto& s : h.samples) {
    auto c = n.append_child("sample");
    encode_host_load(c, s);
  }
}
Result<LoadHistory> Codec<LoadHistory>::decode(const pugi::xml_node& n) {
  LoadHistory h;
  FVCE_TRY(read_string(n, "id", h.id));
  FVCE_TRY(read_string(n, "name", h.name));
  FVCE_TRY(read_int(n, "interval", h.interval_ms));
  for (auto c : n.children("sample")) {
    auto l = decode_host_load(c);
    if (!l.ok()) return l.status();
    h.samples.push_back(*l);
  }
  return h;
}

void Codec<HostInfo>::encode(pugi::xml_node& n, const HostInfo& h) {
  auto m = n.append_child("member");
  encode_member(m, h.member);
  if (h.load) {
    auto l = n.append_child("load");
    encode_host_load(l, *h.load);
  }
  if (!h.load_error.empty()) n.append_attribute("load-error") = h.load_error.c_str();
}
Result<HostInfo> Codec<HostInfo>::decode(const pugi::xml_node& n) {
  HostInfo h;
  auto m = decode_member(n.child("member"));
  if (!m.ok()) return m.status();
  h.member = std::move(*m);
  if (auto l = n.child("load")) {
    auto hl = decode_host_load(l);
    if (!hl.ok()) return hl.status();
    h.load = *hl;
  }
  h.load_error = n.attribute("load-error").value();
  return h;
}

void Codec<HostsReport>::encode(pugi::xml_node& n, const HostsReport& r) {
  n.append_attribute("federation") = r.federation.c_str();
  n.append_attribute("self") = r.self.c_str();
  for (const auto& h : r.hosts) {
    auto c = n.append_child("host-info");
    Codec<HostInfo>::encode(c, h);
  }
}
Result<HostsReport> Codec<HostsReport>::decode(const pugi::xml_node& n) {
  HostsReport r;
  FVCE_TRY(read_string(n, "federation", r.federation));
  FVCE_TRY(read_string(n, "self", r.self));
  for (auto c : n.children("host-info")) {
    auto h = Codec<HostInfo>::decode(c);
    if (!h.ok()) return h.status();
    r.hosts.push_back(std::move(*h));
  }
  return r;
}

void Codec<MemberList>::encode(pugi::xml_node& n, const MemberList& l) {
  n.append_attribute("federation") = l.federation.c_str();
  n.append_attribute("self") = l.self.c_str();
  for (const auto& m : l.members) {
    auto c = n.append_child("member");
    encode_member(c, m);
  }
}
Result<MemberList> Codec<MemberList>::decode(const pugi::xml_node& n) {
  MemberList l;
  FVCE_TRY(read_string(n, "federation", l.federation));
  FVCE_TRY(read_string(n, "self", l.self));
  for (auto c : n.children("member")) {
    auto m = decode_member(c);
    if (!m.ok()) return m.status();
    l.members.push_back(std::move(*m));
  }
  return l;
}

void Codec<JoinRequest>::encode(pugi::xml_node& n, const JoinRequest& j) {
  n.append_attribute("federation") = j.federation.c_str();
  auto c = n.append_child("member");
  encode_member(c, j.member);
}
Result<JoinRequest> Codec<JoinRequest>::decode(const pugi::xml_node& n) {
  JoinRequest j;
  FVCE_TRY(read_string(n, "federation", j.federation));
  auto m = decode_member(n.child("member"));
  if (!m.ok()) return m.status();
  j.member = std::move(*m);
  return j;
}

void Codec<Ping>::encode(pugi::xml_node& n, const Ping& g) {
  encode_gossip(n, g);
}
Result<Ping> Codec<Ping>::decode(const pugi::xml_node& n) {
  return decode_gossip<Ping>(n);
}
void Codec<Ack>::encode(pugi::xml_node& n, const Ack& g) {
  encode_gossip(n, g);
}
Result<Ack> Codec<Ack>::decode(const pugi::xml_node& n) {
  return decode_gossip<Ack>(n);
}
void Codec<Updates>::encode(pugi::xml_node& n, const Updates& g) {
  encode_gossip(n, g);
}
Result<Updates> Codec<Updates>::decode(const pugi::xml_node& n) {
  return decode_gossip<Updates>(n);
}

void Codec<ProbeRequest>::encode(pugi::xml_node& n, const ProbeRequest& p) {
  n.append_attribute("address") = p.address.c_str();
}
Result<ProbeRequest> Codec<ProbeRequest>::decode(const pugi::xml_node& n) {
  ProbeRequest p;
  FVCE_TRY(read_string(n, "address", p.address));
  return p;
}

}  // namespace fvce::model
