// Model types of the register service: members of a federation and the news about them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "node/model/host.h"

namespace fvce::model {

enum class MemberState { alive, suspect, dead, left };
std::string_view to_string(MemberState s);
std::optional<MemberState> member_state_from_string(std::string_view s);

struct Member {
  std::string id;       // UUID, persistent across restarts of the node
  std::string name;     // human name, e.g. "n2"
  std::string address;  // HOST:PORT peers use
  std::uint64_t incarnation = 0;
  MemberState state = MemberState::alive;
  std::int64_t last_seen = 0;  // unix ms; local knowledge of the reporting node, 0 = unknown
  HostStatic host;

  bool operator==(const Member&) const = default;
};

// GET /register/members and the answer to join and merge.
struct MemberList {
  std::string federation;
  std::string self;  // id of the node that produced the list
  std::vector<Member> members;
  bool operator==(const MemberList&) const = default;
};

// POST /register/join
struct JoinRequest {
  std::string federation;
  Member member;
  bool operator==(const JoinRequest&) const = default;
};

// <ping>, <ack>, <updates>: news about members from one node.
struct Gossip {
  std::string from;
  std::string to;  // optional: the id the sender believes it talks to
  std::vector<Member> members;
  bool operator==(const Gossip&) const = default;
};
struct Ping : Gossip {};
struct Ack : Gossip {};
struct Updates : Gossip {};

// POST /register/probe
struct ProbeRequest {
  std::string address;
  bool operator==(const ProbeRequest&) const = default;
};

// GET /info/host: a member and, when it answered, its current load.
struct HostInfo {
  Member member;
  std::optional<HostLoad> load;
  std::string load_error;
  bool operator==(const HostInfo&) const = default;
};

// GET /info/hosts: every live member with its load.
struct HostsReport {
  std::string federation;
  std::string self;
  std::vector<HostInfo> hosts;
  bool operator==(const HostsReport&) const = default;
};

}  // namespace fvce::model
