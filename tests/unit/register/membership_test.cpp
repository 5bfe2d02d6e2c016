// The membership state machine, driven with a manual clock and seeded random generators.
#include "services/register/membership.h"

#include <doctest/doctest.h>

#include <map>
#include <memory>
#include <set>

#include "services/register/logic.h"

namespace fvce::reg {
namespace {

using model::Member;
using model::MemberState;

Member member(int i, std::uint64_t incarnation = 0, MemberState state = MemberState::alive) {
  char id[37];
  std::snprintf(id, sizeof id, "00000000-0000-4000-8000-%012d", i);
  Member m;
  m.id = id;
  m.name = "n" + std::to_string(i);
  m.address = "127.0.0.1:" + std::to_string(7700 + i);
  m.incarnation = incarnation;
  m.state = state;
  m.host.cores = 2;
  return m;
}

MembershipConfig config() {
  MembershipConfig c;
  c.probes_per_round = 2;
  c.suspect_after = 1;
  c.remove_after = 3;
  c.suspect_timeout = std::chrono::seconds(4);
  c.tombstone = std::chrono::seconds(60);
  c.gossip_repeat = 3;
  c.gossip_max = 4;
  return c;
}

bool lists(const Membership& m, int i) {
  return m.find(member(i).id).has_value();
}

TEST_CASE("join: a new member is news once") {
  ManualClock clock;
  Membership m(member(1), "lab", config(), clock, Rng(1));
  auto news = m.apply(member(2));
  REQUIRE(news);
  CHECK(news->state == MemberState::alive);
  CHECK_FALSE(m.apply(member(2)));  // old news
  CHECK(m.live_count() == 2);
  CHECK(m.live().front().id == member(1).id);  // this node first
}

TEST_CASE("suspect after failed probes, then removal, then a tombstone") {
  ManualClock clock;
  Membership m(member(1), "lab", config(), clock, Rng(1));
  m.apply(member(2));
  auto s = m.probe_failed(member(2).id);
  REQUIRE(s);
  CHECK(s->state == MemberState::suspect);
  CHECK(lists(m, 2));                         // a suspect is still a member
  CHECK_FALSE(m.probe_failed(member(2).id));  // 2 failures: still suspect
  auto d = m.probe_failed(member(2).id);      // 3 failures: removed
  REQUIRE(d);
  CHECK(d->state == MemberState::dead);
  CHECK_FALSE(lists(m, 2));
  CHECK(m.live_count() == 1);
  // Stale news of the same incarnation cannot bring it back.
  CHECK_FALSE(m.apply(member(2, 0, MemberState::alive)));
  CHECK_FALSE(m.apply(member(2, 0, MemberState::suspect)));
  CHECK_FALSE(lists(m, 2));
  // The tombstone is kept, then dropped.
  CHECK(m.all().size() == 2);
  clock.advance(std::chrono::seconds(61));
  m.expire();
  CHECK(m.all().size() == 1);
}

TEST_CASE("a successful probe resets the failure count") {
  ManualClock clock;
  auto c = config();
  c.suspect_after = 2;
  Membership m(member(1), "lab", c, clock, Rng(1));
  m.apply(member(2));
  CHECK_FALSE(m.probe_failed(member(2).id));
  m.probe_succeeded(member(2).id);
  CHECK_FALSE(m.probe_failed(member(2).id));  // counting starts again
  CHECK(m.probe_failed(member(2).id));
}

TEST_CASE("an unrefuted suspicion is confirmed after suspect-timeout") {
  ManualClock clock;
  Membership m(member(1), "lab", config(), clock, Rng(1));
  m.apply(member(2));
  m.apply(member(2, 0, MemberState::suspect));  // heard from someone else
  clock.advance(std::chrono::seconds(3));
  CHECK(m.expire().empty());
  clock.advance(std::chrono::seconds(1));
  auto news = m.expire();
  REQUIRE(news.size() == 1);
  CHECK(news[0].state == MemberState::dead);
  CHECK_FALSE(lists(m, 2));
}

TEST_CASE("refute: a live node denies its suspicion with a higher incarnation") {
  ManualClock clock;
  Membership m(member(1, 4), "lab", config(), clock, Rng(1));
  auto news = m.apply(member(1, 4, MemberState::suspect));
  REQUIRE(news);
  CHECK(news->id == member(1).id);
  CHECK(news->state == MemberState::alive);
  CHECK(news->incarnation == 5);
  CHECK(m.self().incarnation == 5);
  // Older suspicion is ignored.
  CHECK_FALSE(m.apply(member(1, 3, MemberState::dead)));
  // The refutation is queued for piggy-backing.
  auto gossip = m.take_gossip();
  REQUIRE_FALSE(gossip.empty());
  CHECK(gossip.front().id == member(1).id);

  // Elsewhere, the refutation overrides the suspicion.
  Membership other(member(2), "lab", config(), clock, Rng(2));
  other.apply(member(1, 4, MemberState::suspect));
  auto back = other.apply(*news);
  REQUIRE(back);
  CHECK(back->state == MemberState::alive);
  CHECK(other.find(member(1).id)->incarnation == 5);
}

TEST_CASE("a removed member rejoins with a higher incarnation") {
  ManualClock clock;
  Membership m(member(1), "lab", config(), clock, Rng(1));
  m.apply(member(2, 3));
  m.apply(member(2, 3, MemberState::dead));
  CHECK_FALSE(lists(m, 2));
  auto back = m.apply(member(2, 4));  // restarted: incarnation + 1
  REQUIRE(back);
  CHECK(lists(m, 2));
}

TEST_CASE("leave: the others drop the member at once") {
  ManualClock clock;
  Membership leaver(member(3, 2), "lab", config(), clock, Rng(3));
  Membership m(member(1), "lab", config(), clock, Rng(1));
  m.apply(member(3, 2));
  auto left = leaver.leave();
  CHECK(left.state == MemberState::left);
  CHECK(left.incarnation == 2);
  m.apply(left);
  CHECK_FALSE(lists(m, 3));
  CHECK_FALSE(m.apply(member(3, 2, MemberState::alive)));  // stale
  CHECK(m.snapshot(true).members.size() == 2);             // still a tombstone
  CHECK(m.snapshot(false).members.size() == 1);
}

TEST_CASE("merge: two federations exchange lists and both see everyone") {
  ManualClock clock;
  Membership a(member(1), "lab", config(), clock, Rng(1));
  Membership b(member(3), "lab", config(), clock, Rng(3));
  a.apply(member(2));
  b.apply(member(4));
  auto from_a = a.snapshot(true);
  for (const auto& x : from_a.members) b.apply(x);
  auto from_b = b.snapshot(true);
  for (const auto& x : from_b.members) a.apply(x);
  for (int i = 1; i <= 4; ++i) {
    CHECK(lists(a, i));
    CHECK(lists(b, i));
  }
}

TEST_CASE("probe targets: a few random alive members plus every suspect") {
  ManualClock clock;
  Membership m(member(0), "lab", config(), clock, Rng(42));
  for (int i = 1; i <= 10; ++i) m.apply(member(i));
  m.apply(member(7, 0, MemberState::suspect));
  std::map<std::string, int> counts;
  for (int round = 0; round < 3000; ++round) {
    auto t = m.probe_targets();
    CHECK(t.size() == 3);  // 2 random alive + the suspect
    std::set<std::string> distinct;
    for (const auto& x : t) {
      CHECK(x.id != member(0).id);
      distinct.insert(x.id);
      ++counts[x.id];
    }
    CHECK(distinct.size() == 3);
  }
  CHECK(counts[member(7).id] == 3000);
  // Each of the 9 alive members: expected 3000 * 2 / 9 ≈ 667.
  for (int i : {1, 2, 3, 4, 5, 6, 8, 9, 10}) {
    CHECK(counts[member(i).id] > 550);
    CHECK(counts[member(i).id] < 780);
  }
}

TEST_CASE("the same seed gives the same probe order") {
  ManualClock clock;
  Membership a(member(0), "lab", config(), clock, Rng(7));
  Membership b(member(0), "lab", config(), clock, Rng(7));
  for (int i = 1; i <= 20; ++i) {
    a.apply(member(i));
    b.apply(member(i));
  }
  for (int r = 0; r < 50; ++r) CHECK(a.probe_targets() == b.probe_targets());
}

TEST_CASE("gossip: each piece of news goes out a bounded number of times") {
  ManualClock clock;
  Membership m(member(0), "lab", config(), clock, Rng(1));
  for (int i = 1; i <= 6; ++i) m.apply(member(i));
  int handed = 0;
  for (int r = 0; r < 20; ++r) {
    auto g = m.take_gossip();
    CHECK(g.size() <= 4);  // gossip_max
    handed += static_cast<int>(g.size());
  }
  CHECK(handed == 6 * 3);  // gossip_repeat each
  CHECK(m.take_gossip().empty());
}

// A whole federation simulated in rounds: probes succeed unless the target is down; a
// node's news reaches the others by broadcast (as the Introducer does).
TEST_CASE("simulation: a dead node is removed everywhere within a few rounds") {
  ManualClock clock;
  const int n = 20;
  std::vector<std::unique_ptr<Membership>> nodes;
  for (int i = 0; i < n; ++i)
    nodes.push_back(std::make_unique<Membership>(member(i), "lab", config(), clock, Rng(100 + i)));
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j)
      if (i != j) nodes[i]->apply(member(j));
  const int dead = 13;
  auto broadcast = [&](int from, const Member& news) {
    for (int k = 0; k < n; ++k)
      if (k != from && k != dead) nodes[k]->apply(news);
  };
  int rounds = 0;
  auto gone_everywhere = [&] {
    for (int i = 0; i < n; ++i)
      if (i != dead && lists(*nodes[i], dead)) return false;
    return true;
  };
  while (!gone_everywhere() && rounds < 50) {
    ++rounds;
    clock.advance(std::chrono::seconds(1));
    for (int i = 0; i < n; ++i) {
      if (i == dead) continue;
      for (const auto& t : nodes[i]->probe_targets()) {
        if (t.id == member(dead).id) {
          if (auto news = nodes[i]->probe_failed(t.id)) broadcast(i, *news);
        } else {
          nodes[i]->probe_succeeded(t.id);
        }
      }
      for (const auto& news : nodes[i]->expire()) broadcast(i, news);
    }
  }
  CHECK(gone_everywhere());
  // 1 round to be probed (almost surely), then 2 more failed rounds to reach remove-after.
  CHECK(rounds <= 4);
  for (int i = 0; i < n; ++i)
    if (i != dead) CHECK(nodes[i]->live_count() == n - 1);
}

TEST_CASE("a whole list's word that a live member is dead only makes it a suspect") {
  ManualClock clock;
  Membership m(member(1), "lab", config(), clock, Rng(1));
  m.apply(member(2, 3));
  auto news = m.apply_listed(member(2, 3, MemberState::dead));
  REQUIRE(news);
  CHECK(news->state == MemberState::suspect);
  CHECK(lists(m, 2));
  bool probed = false;
  for (const auto& t : m.probe_targets()) probed = probed || t.id == member(2).id;
  CHECK(probed);                 // so it hears of it, and refutes
  CHECK(m.apply(member(2, 4)));  // its refutation
  CHECK(m.find(member(2).id)->state == MemberState::alive);
  // A suspect it does not refute is removed as any other.
  m.apply_listed(member(2, 4, MemberState::dead));
  clock.advance(std::chrono::seconds(5));
  CHECK(m.expire().size() == 1);
  CHECK_FALSE(lists(m, 2));
  // News (not a list) is believed as it stands; a list's dead record of a member not
  // known here, or known dead, stays a tombstone; about this node, it is refuted.
  m.apply(member(3, 1));
  CHECK(m.apply(member(3, 1, MemberState::dead))->state == MemberState::dead);
  CHECK_FALSE(m.apply_listed(member(4, 1, MemberState::dead)));
  CHECK_FALSE(lists(m, 4));
  auto refuted = m.apply_listed(member(1, 0, MemberState::dead));
  REQUIRE(refuted);
  CHECK(refuted->id == member(1).id);
  CHECK(refuted->state == MemberState::alive);
  CHECK(refuted->incarnation == 1);
}

TEST_CASE("reconnect targets: members removed as dead, for reconnect-for") {
  ManualClock clock;
  auto c = config();
  c.tombstone = std::chrono::seconds(60);
  c.reconnect_for = std::chrono::seconds(600);
  Membership m(member(1), "lab", c, clock, Rng(1));
  CHECK_FALSE(m.reconnect_target());
  for (int i = 2; i <= 5; ++i) m.apply(member(i, 1));
  m.apply(member(2, 1, MemberState::dead));
  m.apply(member(3, 1, MemberState::left));  // it left: not to be called back
  // n4 is removed, and n5 now has its address: whoever is there is not n4.
  m.apply(member(4, 1, MemberState::dead));
  Member moved = member(5, 2);
  moved.address = member(4).address;
  m.apply(moved);
  for (int i = 0; i < 50; ++i) {
    auto t = m.reconnect_target();
    REQUIRE(t);
    CHECK(t->id == member(2).id);
  }
  // Past its tombstone it is still tried, until reconnect-for.
  clock.advance(std::chrono::seconds(61));
  m.expire();
  CHECK(m.snapshot(true).members.size() == 2);  // n1 and n5: the tombstones have gone
  REQUIRE(m.reconnect_target());
  CHECK(m.reconnect_target()->id == member(2).id);
  // News of it (say, from its own list once it answers) makes it a member again.
  CHECK(m.apply(member(2, 1)));
  CHECK(lists(m, 2));
  CHECK_FALSE(m.reconnect_target());
  m.apply(member(2, 1, MemberState::dead));
  clock.advance(std::chrono::seconds(601));
  m.expire();
  CHECK_FALSE(m.reconnect_target());
}

// Two sides of a federation of four, a0 a1 | b2 b3, driven as the Introducer drives its
// Membership: probes carry gossip, news is pushed to every live member, each round a node
// syncs its whole list with a random live member and (when reconnect is on) with a member
// it removed as dead. Messages between the sides are lost while the link is cut.
struct Sides {
  ManualClock clock;
  std::vector<std::unique_ptr<Membership>> nodes;
  bool cut = false;
  bool reconnect = true;
  bool same_side_ever_dead = false;  // a node held a member of its own side dead

  explicit Sides(MembershipConfig c) {
    for (int i = 0; i < 4; ++i)
      nodes.push_back(std::make_unique<Membership>(member(i), "lab", c, clock, Rng(200 + i)));
    for (int i = 0; i < 4; ++i)
      for (int j = 0; j < 4; ++j)
        if (i != j) nodes[i]->apply(member(j));
  }
  static int index(const Member& m) { return std::stoi(m.id.substr(24)); }
  static bool same_side(int i, int j) { return (i < 2) == (j < 2); }
  bool reachable(int i, int j) const { return !cut || same_side(i, j); }
  void push(int from, const Member& news) {
    for (const auto& m : nodes[from]->live()) {
      int to = index(m);
      if (to == from || !reachable(from, to)) continue;
      if (auto answer = nodes[to]->apply(news); answer && answer->id == m.id) push(to, *answer);
    }
  }
  void exchange(int i, int j) {  // i's whole list to j, j's back to i
    if (!reachable(i, j)) return;
    std::vector<Member> to_j, to_i;
    for (const auto& x : nodes[i]->snapshot(true).members)
      if (auto n = nodes[j]->apply_listed(x)) to_j.push_back(*n);
    nodes[j]->heard_from(member(i).id);
    for (const auto& x : nodes[j]->snapshot(true).members)
      if (auto n = nodes[i]->apply_listed(x)) to_i.push_back(*n);
    nodes[i]->heard_from(member(j).id);
    check_own_sides();  // before any refutation could undo it
    for (const auto& n : to_j) push(j, n);
    for (const auto& n : to_i) push(i, n);
  }
  void round() {
    clock.advance(std::chrono::seconds(1));
    for (int i = 0; i < 4; ++i) {
      for (const auto& t : nodes[i]->probe_targets()) {
        int j = index(t);
        if (!reachable(i, j)) {
          if (auto news = nodes[i]->probe_failed(t.id)) push(i, *news);
          continue;
        }
        auto ping = nodes[i]->take_gossip();
        ping.push_back(nodes[i]->self());
        if (t.state == MemberState::suspect) ping.push_back(t);
        for (const auto& x : ping)
          if (auto n = nodes[j]->apply(x); n && n->id == member(j).id) push(j, *n);
        auto ack = nodes[j]->take_gossip();
        ack.push_back(nodes[j]->self());
        for (const auto& x : ack)
          if (auto n = nodes[i]->apply(x); n && n->id == member(i).id) push(i, *n);
        nodes[i]->probe_succeeded(t.id);
      }
      for (const auto& news : nodes[i]->expire()) push(i, news);
      if (auto peer = nodes[i]->random_peer()) exchange(i, index(*peer));
      if (reconnect)
        if (auto lost = nodes[i]->reconnect_target()) exchange(i, index(*lost));
    }
    check_own_sides();
  }
  void check_own_sides() {
    for (int i = 0; i < 4; ++i)
      for (int j = 0; j < 4; ++j)
        if (i != j && same_side(i, j) && !lists(*nodes[i], j)) same_side_ever_dead = true;
  }
  bool apart() const {
    for (int i = 0; i < 4; ++i)
      for (int j = 0; j < 4; ++j)
        if (!same_side(i, j) && lists(*nodes[i], j)) return false;
    return true;
  }
  bool whole() const {
    for (const auto& n : nodes) {
      auto live = n->live();
      if (live.size() != 4) return false;
      for (const auto& m : live)
        if (m.state != MemberState::alive) return false;
    }
    return true;
  }
};

TEST_CASE("a partition heals: both sides remove each other, then take each other back") {
  auto c = config();
  for (auto tombstone : {std::chrono::seconds(60), std::chrono::seconds(5)}) {
    CAPTURE(tombstone.count());  // a cut shorter, then longer, than the tombstones last
    c.tombstone = tombstone;
    Sides net(c);
    net.cut = true;
    int rounds = 0;
    while (!net.apart() && rounds < 20) {
      net.round();
      ++rounds;
    }
    CHECK(net.apart());
    CHECK(rounds <= 6);
    for (int r = 0; r < 10; ++r) net.round();  // the cut lasts
    CHECK(net.apart());
    net.cut = false;
    rounds = 0;
    while (!net.whole() && rounds < 20) {
      net.round();
      ++rounds;
    }
    CHECK(net.whole());
    CHECK(rounds <= 5);
    // Nobody dropped a member of its own side, on the cut or on the heal.
    CHECK_FALSE(net.same_side_ever_dead);
  }
}

TEST_CASE("without reconnecting to removed members a healed partition stays apart") {
  Sides net(config());
  net.reconnect = false;
  net.cut = true;
  for (int r = 0; r < 10; ++r) net.round();
  REQUIRE(net.apart());
  net.cut = false;
  for (int r = 0; r < 30; ++r) net.round();
  CHECK(net.apart());
}

class View : public MembershipView {
 public:
  std::vector<Member> members;
  Member self() const override { return members.front(); }
  std::vector<Member> live_members() const override { return members; }
  std::optional<Member> find(std::string_view id) const override {
    for (const auto& m : members)
      if (m.id == id || m.name == id) return m;
    return std::nullopt;
  }
  std::uint64_t version() const override { return 1; }
};

TEST_CASE("news is believed only as far as its sender can know it") {
  View view;
  view.members = {member(1, 3), member(2, 5), member(3, 7)};
  std::string dropped;
  // n2 says it leaves: believed. n2 says n3 left, or pushes n3's incarnation far ahead, or
  // renames n3: not believed. Its news about n3 at a near incarnation is.
  Member renamed = member(3, 8);
  renamed.name = "impostor";
  auto kept = believable({member(2, 6, MemberState::left), member(3, 8, MemberState::left),
                          member(3, 7 + kIncarnationLead + 1, MemberState::suspect), renamed,
                          member(3, 8, MemberState::suspect), member(9, 1)},
                         "n2", view, &dropped);
  REQUIRE(kept.size() == 3);
  CHECK(kept[0].state == MemberState::left);
  CHECK(kept[1] == member(3, 8, MemberState::suspect));
  CHECK(kept[2].id == member(9).id);  // a member not known here yet
  CHECK(dropped.find("only a member itself says it left") != std::string::npos);
  CHECK(dropped.find("far past") != std::string::npos);
  CHECK(dropped.find("renames") != std::string::npos);
  // Nobody, not even the member, reaches the limit: a refutation always fits above.
  CHECK(believable({member(2, kIncarnationLimit)}, "n2", view, nullptr).empty());
}

TEST_CASE("a refutation of the highest believable incarnation does not wrap") {
  ManualClock clock;
  Membership m(member(1), "lab", config(), clock, Rng(1));
  auto answer = m.apply(member(1, kIncarnationLimit - 1, MemberState::suspect));
  REQUIRE(answer);
  CHECK(answer->incarnation == kIncarnationLimit);
  CHECK(answer->state == MemberState::alive);
}

}  // namespace
}  // namespace fvce::reg
