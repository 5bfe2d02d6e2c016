#include "services/register/membership.h"

#include <algorithm>
#include <iterator>
#include <set>

#include "services/register/logic.h"

namespace fvce::reg {

using model::Member;
using model::MemberState;

Membership::Membership(Member self, std::string federation, MembershipConfig config,
                       const Clock& clock, Rng rng)
    : self_(std::move(self)),
      federation_(std::move(federation)),
      config_(config),
      clock_(clock),
      rng_(rng) {
  self_.state = MemberState::alive;
}

int Membership::rank(MemberState s) {
  switch (s) {
    case MemberState::alive:
      return 0;
    case MemberState::suspect:
      return 1;
    case MemberState::dead:
      return 2;
    case MemberState::left:
      return 3;
  }
  return 0;
}

bool Membership::newer(const Member& news, const Member& current) {
  if (news.incarnation != current.incarnation) return news.incarnation > current.incarnation;
  return rank(news.state) > rank(current.state);
}

std::vector<Member> believable(std::vector<Member> news, std::string_view sender,
                               const MembershipView& view, std::string* dropped) {
  std::vector<Member> out;
  out.reserve(news.size());
  auto drop = [&](const Member& m, const std::string& why) {
    if (dropped) *dropped += (dropped->empty() ? "" : "; ") + m.name + ": " + why;
  };
  for (auto& m : news) {
    bool own = m.name == sender;
    if (m.incarnation >= kIncarnationLimit) {
      drop(m, "incarnation " + std::to_string(m.incarnation) + " is beyond the limit");
      continue;
    }
    if (!own) {
      if (m.state == MemberState::left) {
        drop(m, "only a member itself says it left");
        continue;
      }
      auto known = view.find(m.id);
      if (known && m.incarnation > known->incarnation + kIncarnationLead) {
        drop(m, "incarnation " + std::to_string(m.incarnation) + " is far past the known " +
                    std::to_string(known->incarnation));
        continue;
      }
      // A member's name is its certificate's: news may not rename a known member.
      if (known && known->name != m.name) {
        drop(m, "renames member '" + known->name + "'");
        continue;
      }
    }
    out.push_back(std::move(m));
  }
  return out;
}

Member Membership::refute(std::uint64_t seen_incarnation) {
  // Believed news stays below kIncarnationLimit, so this never wraps.
  self_.incarnation =
      std::min(std::max(self_.incarnation, seen_incarnation), kIncarnationLimit) + 1;
  self_.state = MemberState::alive;
  queue_gossip(self_);
  return self_;
}

std::optional<Member> Membership::apply(const Member& news) {
  if (news.id == self_.id) {
    // Somebody thinks we are suspect, dead or gone: deny it with a higher incarnation.
    if (news.state != MemberState::alive && news.incarnation >= self_.incarnation &&
        self_.state == MemberState::alive)
      return refute(news.incarnation);
    return std::nullopt;
  }
  auto now = clock_.now();
  auto it = others_.find(news.id);
  if (it == others_.end()) {
    Record r{news, now, 0};
    r.member.last_seen = news.state == MemberState::alive ? clock_.unix_ms() : 0;
    if (auto lost = lost_.find(news.id); lost != lost_.end()) {
      // Known to be dead since then: a tombstone again, not a fresh removal.
      if (!is_live(news.state)) r.changed = lost->second.removed;
      lost_.erase(lost);
    }
    auto [ins, ok] = others_.emplace(news.id, std::move(r));
    queue_gossip(ins->second.member);
    // A tombstone for a member we never knew is not news worth spreading further, but it
    // is kept so stale alive news cannot resurrect the member.
    if (!is_live(news.state)) return std::nullopt;
    return ins->second.member;
  }
  Record& r = it->second;
  if (!newer(news, r.member)) return std::nullopt;
  auto last_seen = r.member.last_seen;
  bool was_live = is_live(r.member.state);
  r.member = news;
  r.member.last_seen = last_seen;
  r.changed = now;
  if (news.state == MemberState::alive) r.failures = 0;
  queue_gossip(r.member);
  if (!was_live && !is_live(news.state)) return std::nullopt;
  return r.member;
}

std::optional<Member> Membership::apply_listed(const Member& record) {
  if (record.id != self_.id && record.state == MemberState::dead) {
    auto it = others_.find(record.id);
    if (it != others_.end() && it->second.member.state == MemberState::alive) {
      Member suspicion = record;
      suspicion.state = MemberState::suspect;
      return apply(suspicion);
    }
  }
  return apply(record);
}

void Membership::heard_from(const std::string& id) {
  auto it = others_.find(id);
  if (it == others_.end()) return;
  it->second.member.last_seen = clock_.unix_ms();
  it->second.failures = 0;
}

std::vector<Member> Membership::probe_targets() {
  std::vector<const Record*> alive, suspects;
  for (const auto& [id, r] : others_) {
    if (r.member.state == MemberState::alive) alive.push_back(&r);
    if (r.member.state == MemberState::suspect) suspects.push_back(&r);
  }
  std::vector<Member> out;
  // Partial Fisher-Yates: the first k entries become a uniform random sample.
  std::size_t k = std::min<std::size_t>(alive.size(), std::max(0, config_.probes_per_round));
  for (std::size_t i = 0; i < k; ++i) {
    std::uniform_int_distribution<std::size_t> pick(i, alive.size() - 1);
    std::swap(alive[i], alive[pick(rng_)]);
    out.push_back(alive[i]->member);
  }
  for (const auto* s : suspects) out.push_back(s->member);
  return out;
}

void Membership::set_state(Record& r, MemberState state) {
  r.member.state = state;
  r.changed = clock_.now();
  queue_gossip(r.member);
}

std::optional<Member> Membership::probe_failed(const std::string& id) {
  auto it = others_.find(id);
  if (it == others_.end()) return std::nullopt;
  Record& r = it->second;
  if (!is_live(r.member.state)) return std::nullopt;
  ++r.failures;
  if (r.member.state == MemberState::alive && r.failures >= config_.suspect_after) {
    set_state(r, MemberState::suspect);
    return r.member;
  }
  if (r.member.state == MemberState::suspect && r.failures >= config_.remove_after) {
    set_state(r, MemberState::dead);
    return r.member;
  }
  return std::nullopt;
}

void Membership::probe_succeeded(const std::string& id) {
  heard_from(id);
}

std::vector<Member> Membership::expire() {
  std::vector<Member> news;
  auto now = clock_.now();
  for (auto it = others_.begin(); it != others_.end();) {
    Record& r = it->second;
    if (r.member.state == MemberState::suspect && now - r.changed >= config_.suspect_timeout) {
      set_state(r, MemberState::dead);
      news.push_back(r.member);
    } else if (!is_live(r.member.state) && now - r.changed >= config_.tombstone) {
      if (r.member.state == MemberState::dead && now - r.changed < config_.reconnect_for)
        lost_[it->first] = Lost{r.member, r.changed};
      it = others_.erase(it);
      continue;
    }
    ++it;
  }
  for (auto it = lost_.begin(); it != lost_.end();)
    it = now - it->second.removed >= config_.reconnect_for ? lost_.erase(it) : std::next(it);
  while (lost_.size() > kLostLimit) {
    auto oldest = std::min_element(lost_.begin(), lost_.end(), [](const auto& a, const auto& b) {
      return a.second.removed < b.second.removed;
    });
    lost_.erase(oldest);
  }
  return news;
}

void Membership::queue_gossip(const Member& news) {
  ++version_;
  // One entry per member: newer news about a member replaces what was queued.
  gossip_.erase(std::remove_if(gossip_.begin(), gossip_.end(),
                               [&](const Gossip& g) { return g.member.id == news.id; }),
                gossip_.end());
  gossip_.push_back({news, 0});
  // Bound the queue: the oldest news has had its chance.
  std::size_t bound = static_cast<std::size_t>(std::max(1, config_.gossip_max)) * 8;
  if (gossip_.size() > bound) gossip_.erase(gossip_.begin(), gossip_.end() - bound);
}

std::vector<Member> Membership::take_gossip() {
  std::vector<Member> out;
  // Most recent first.
  for (auto it = gossip_.rbegin();
       it != gossip_.rend() && static_cast<int>(out.size()) < config_.gossip_max; ++it) {
    out.push_back(it->member);
    ++it->sent;
  }
  gossip_.erase(std::remove_if(gossip_.begin(), gossip_.end(),
                               [&](const Gossip& g) { return g.sent >= config_.gossip_repeat; }),
                gossip_.end());
  return out;
}

Member Membership::leave() {
  self_.state = MemberState::left;
  return self_;
}

std::optional<Member> Membership::random_peer() {
  std::vector<const Member*> live_peers;
  for (const auto& [id, r] : others_)
    if (r.member.state == MemberState::alive) live_peers.push_back(&r.member);
  if (live_peers.empty()) return std::nullopt;
  std::uniform_int_distribution<std::size_t> pick(0, live_peers.size() - 1);
  return *live_peers[pick(rng_)];
}

std::optional<Member> Membership::reconnect_target() {
  auto now = clock_.now();
  std::set<std::string> taken{self_.address};
  for (const auto& [id, r] : others_)
    if (is_live(r.member.state)) taken.insert(r.member.address);
  std::vector<const Member*> candidates;
  for (const auto& [id, r] : others_)
    if (r.member.state == MemberState::dead && now - r.changed < config_.reconnect_for &&
        !taken.count(r.member.address))
      candidates.push_back(&r.member);
  for (const auto& [id, l] : lost_)
    if (now - l.removed < config_.reconnect_for && !taken.count(l.member.address))
      candidates.push_back(&l.member);
  if (candidates.empty()) return std::nullopt;
  std::uniform_int_distribution<std::size_t> pick(0, candidates.size() - 1);
  return *candidates[pick(rng_)];
}

std::vector<Member> Membership::live() const {
  std::vector<Member> out{self_};
  out.back().last_seen = clock_.unix_ms();
  for (const auto& [id, r] : others_)
    if (is_live(r.member.state)) out.push_back(r.member);
  return out;
}

std::vector<Member> Membership::all() const {
  std::vector<Member> out{self_};
  out.back().last_seen = clock_.unix_ms();
  for (const auto& [id, r] : others_) out.push_back(r.member);
  return out;
}

std::size_t Membership::live_count() const {
  std::size_t n = self_.state == MemberState::alive ? 1 : 0;
  for (const auto& [id, r] : others_) n += is_live(r.member.state) ? 1 : 0;
  return n;
}

std::optional<Member> Membership::find(std::string_view name_or_id) const {
  if (self_.id == name_or_id || self_.name == name_or_id) return self_;
  for (const auto& [id, r] : others_)
    if (is_live(r.member.state) && (id == name_or_id || r.member.name == name_or_id))
      return r.member;
  return std::nullopt;
}

model::MemberList Membership::snapshot(bool with_gone) const {
  return model::MemberList{federation_, self_.id, with_gone ? all() : live()};
}

}  // namespace fvce::reg
