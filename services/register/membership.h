// The membership state machine, free of I/O: what a node knows about the members of its
// federation and how news changes it. The Introducer drives it with probes and messages;
// tests drive it with a ManualClock and a seeded Rng.
//
// Each member's record is ordered by (incarnation, state rank), with rank alive < suspect <
// dead < left: news replaces a record only when it is strictly greater. So a suspicion
// overrides the alive record of the same incarnation, removal overrides suspicion, and a
// member refutes both by announcing itself alive with a higher incarnation — which only it
// can do. Dead and departed members stay as tombstones for a while, so stale news cannot
// bring them back.
//
// A member removed as dead is tried again now and then for reconnect_for (see
// reconnect_target): after a partition each side has removed the other and probes only
// live members, so nothing else would bring them back together. And a whole list from
// another node (a sync, a merge, a join's answer) is old state, not news: its verdict that a
// member this node hears from is dead only makes that member a suspect here, which it
// refutes if it is alive (apply_listed).
//
// Not thread-safe: the owner serialises calls (the Introducer holds a mutex).
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "node/core/clock.h"
#include "node/model/member.h"

namespace fvce::reg {

// No incarnation reaches this: news claiming one is not believed, so a member can always
// refute what is said about it (its refutation never wraps around).
inline constexpr std::uint64_t kIncarnationLimit = std::uint64_t{1} << 62;
// How far past the incarnation known here others may report a member's: only the member
// raises its own incarnation, one step per refutation or restart.
inline constexpr std::uint64_t kIncarnationLead = std::uint64_t{1} << 20;

class MembershipView;

// What of the news member `sender` (its authenticated name) sent may be believed; the rest
// is dropped and described in *dropped. Only a member itself says it left; nobody pushes
// another member's incarnation far ahead, nor any to the limit. See docs/SECURITY.md.
std::vector<model::Member> believable(std::vector<model::Member> news, std::string_view sender,
                                      const MembershipView& view, std::string* dropped);

struct MembershipConfig {
  std::chrono::milliseconds probe_interval{1000};  // one probe round per interval
  int probes_per_round = 3;                        // random members probed each round
  std::chrono::milliseconds probe_timeout{500};    // a probe not answered by then failed
  int suspect_after = 1;  // consecutive failed probes before a member is suspected
  int remove_after = 3;   // consecutive failed probes before a suspect is removed
  std::chrono::milliseconds suspect_timeout{4000};  // unrefuted suspicion is confirmed then
  std::chrono::milliseconds tombstone{60'000};      // how long dead/left records are kept
  // How long after its removal a member removed as dead (not one that left) is still a
  // reconnect_target, its tombstone gone or not.
  std::chrono::milliseconds reconnect_for{std::chrono::hours(24)};
  int gossip_repeat = 4;                            // how many messages carry each piece of news
  int gossip_max = 16;                              // news items per message at most
  std::chrono::milliseconds sync_interval{10'000};  // push-pull with one random member
};

class Membership {
 public:
  Membership(model::Member self, std::string federation, MembershipConfig config,
             const Clock& clock, Rng rng);

  const model::Member& self() const { return self_; }
  const std::string& federation() const { return federation_; }
  const MembershipConfig& config() const { return config_; }

  // Applies news about one member. Returns the record as it now stands when the news
  // changed anything (the caller spreads it), nullopt when it was old news. News that this
  // node is suspect or dead is refuted: the returned record is this node, alive, with a
  // higher incarnation.
  std::optional<model::Member> apply(const model::Member& news);
  // Applies one record of a whole member list another node sent (a push-pull sync, a
  // merge, a join's answer) — a picture of what it knows, perhaps from the other side of a
  // partition that has just healed. As apply(), except that a record saying that a member
  // this node holds alive is dead makes it a suspect here instead: it is probed, and
  // refutes if it is alive; if not, its suspicion is confirmed as usual. So a heal does not
  // remove the members each side kept (and their work) on the word of the other side.
  std::optional<model::Member> apply_listed(const model::Member& record);

  // Marks that we heard from id directly (a probe answered, a message received).
  void heard_from(const std::string& id);

  // The members to probe now: up to probes_per_round random alive members, plus every
  // suspect (suspects are re-probed each round until they refute or are removed).
  std::vector<model::Member> probe_targets();

  // A probe of id failed. Returns news when the failure changed the member's state
  // (alive → suspect, suspect → dead).
  std::optional<model::Member> probe_failed(const std::string& id);
  // A probe of id succeeded: its failure count is reset.
  void probe_succeeded(const std::string& id);

  // Periodic housekeeping: confirms suspicions older than suspect_timeout (returned as
  // news) and drops tombstones older than tombstone.
  std::vector<model::Member> expire();

  // News to piggy-back on the next message: the most recent changes, each handed out at
  // most gossip_repeat times, at most gossip_max items.
  std::vector<model::Member> take_gossip();
  // Queues news for piggy-backing (apply() already does this for what it accepts).
  void queue_gossip(const model::Member& news);

  // This node leaves: its record becomes left, with its current incarnation.
  model::Member leave();

  // A random live member other than this node, for push-pull sync.
  std::optional<model::Member> random_peer();
  // A random member removed as dead (not one that left) less than reconnect_for ago, to
  // try to reach again: a tombstone, or one whose tombstone expire() has dropped. Not one
  // whose address a live member (or this node) now has. nullopt when there is none.
  std::optional<model::Member> reconnect_target();

  // Live members (alive or suspect), this node first.
  std::vector<model::Member> live() const;
  // Every record including tombstones, this node first.
  std::vector<model::Member> all() const;
  std::optional<model::Member> find(std::string_view name_or_id) const;
  model::MemberList snapshot(bool with_gone) const;
  std::size_t live_count() const;
  // One more every time a member's record changes (news accepted, a state changed).
  std::uint64_t version() const { return version_; }

 private:
  struct Record {
    model::Member member;
    std::chrono::steady_clock::time_point changed;  // when state/incarnation last changed
    int failures = 0;                               // consecutive failed probes (ours)
  };
  struct Gossip {
    model::Member member;
    int sent = 0;
  };
  // A member removed as dead whose tombstone has gone, still tried for reconnect_for.
  struct Lost {
    model::Member member;
    std::chrono::steady_clock::time_point removed;
  };
  static constexpr std::size_t kLostLimit = 256;
  static int rank(model::MemberState s);
  static bool newer(const model::Member& news, const model::Member& current);
  static bool is_live(model::MemberState s) {
    return s == model::MemberState::alive || s == model::MemberState::suspect;
  }
  model::Member refute(std::uint64_t seen_incarnation);
  void set_state(Record& r, model::MemberState state);

  model::Member self_;
  std::string federation_;
  MembershipConfig config_;
  const Clock& clock_;
  Rng rng_;
  std::map<std::string, Record> others_;  // by id; never holds self
  std::map<std::string, Lost> lost_;      // by id; never an id others_ holds
  std::vector<Gossip> gossip_;            // most recent last
  std::uint64_t version_ = 0;
};

}  // namespace fvce::reg
