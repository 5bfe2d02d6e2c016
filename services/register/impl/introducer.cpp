#include "services/register/impl/introducer.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <charconv>

#include "node/core/files.h"
#include "node/core/timer.h"
#include "node/core/units.h"
#include "node/model/codec.h"

namespace fvce::reg {

namespace asio = boost::asio;
using model::Member;
using model::MemberState;

namespace {
bool is_gone(MemberState s) {
  return s == MemberState::dead || s == MemberState::left;
}
}  // namespace

Result<Identity> load_identity(const std::filesystem::path& state_dir, Random& random) {
  std::error_code ec;
  std::filesystem::create_directories(state_dir, ec);
  if (ec) return Status::IOError(state_dir.string() + ": cannot create: " + ec.message());
  Identity id;
  auto id_file = state_dir / "node-id";
  auto text = read_file(id_file);
  if (text.ok()) {
    id.id = *text;
    while (!id.id.empty() && (id.id.back() == '\n' || id.id.back() == ' ')) id.id.pop_back();
    if (id.id.size() != 36) return Status::InvalidArgument(id_file.string() + ": not a node id");
  } else if (text.status().code() == ErrorCode::not_found) {
    id.id = make_uuid(random);
    if (auto s = write_file_atomic(id_file, id.id + "\n"); !s.ok()) return s;
  } else {
    return text.status();
  }
  auto inc_file = state_dir / "incarnation";
  auto inc = read_file(inc_file);
  std::uint64_t last = 0;
  if (inc.ok()) {
    std::from_chars(inc->data(), inc->data() + inc->size(), last);
    id.incarnation = last + 1;
  }
  if (auto s = write_file_atomic(inc_file, std::to_string(id.incarnation) + "\n"); !s.ok())
    return s;
  return id;
}

std::filesystem::path Introducer::members_file(const std::filesystem::path& state_dir) {
  return state_dir / "members.xml";
}

Introducer::Introducer(NodeContext& ctx, Member self, MembershipConfig config)
    : ctx_(ctx),
      membership_(std::move(self), ctx.self.federation, config, ctx.clock, Rng(ctx.seed ^ 0x5eed)),
      saved_incarnation_(membership_.self().incarnation) {
  ctx_.metrics.describe("fvce_register_probes_total", "counter", "Probes this node sent.");
  ctx_.metrics.describe("fvce_register_probe_failures_total", "counter",
                        "Probes that got no answer in time.");
  ctx_.metrics.describe("fvce_register_broadcasts_total", "counter",
                        "News messages pushed to members.");
  ctx_.metrics.describe("fvce_register_members", "gauge", "Members known, by state.");
  ctx_.metrics.add_collector([this](http::Metrics& m) {
    std::map<MemberState, int> counts;
    {
      std::lock_guard lock(mu_);
      for (const auto& mem : membership_.all()) ++counts[mem.state];
    }
    for (auto s : {MemberState::alive, MemberState::suspect, MemberState::dead, MemberState::left})
      m.set("fvce_register_members", {{"state", std::string(model::to_string(s))}}, counts[s]);
  });
}

void Introducer::start(std::vector<std::string> join_addresses) {
  join_addresses_ = std::move(join_addresses);
  asio::co_spawn(ctx_.ioc, run(), asio::detached);
}

void Introducer::stop() {
  stopping_ = true;
}

std::vector<std::string> Introducer::remembered_addresses() const {
  std::vector<std::string> out;
  auto text = read_file(members_file(ctx_.state_dir));
  if (!text.ok()) return out;
  auto list = model::from_xml<model::MemberList>(*text);
  if (!list.ok()) {
    spdlog::warn("{}: ignored: {}", members_file(ctx_.state_dir).string(), list.status().message());
    return out;
  }
  for (const auto& m : list->members)
    if (m.id != ctx_.self.id && m.address != ctx_.self.address && !is_gone(m.state))
      out.push_back(m.address);
  return out;
}

std::vector<std::string> Introducer::join_candidates(bool with_lost) {
  std::vector<std::string> out;
  auto add = [&](const std::string& a) {
    if (!a.empty() && a != ctx_.self.address && std::find(out.begin(), out.end(), a) == out.end())
      out.push_back(a);
  };
  for (const auto& a : join_addresses_) add(a);
  for (const auto& a : remembered_addresses()) add(a);
  if (with_lost) {
    std::lock_guard lock(mu_);
    if (auto lost = membership_.reconnect_target()) add(lost->address);
  }
  return out;
}

asio::awaitable<Status> Introducer::try_join(const std::string& address, bool quiet) {
  model::JoinRequest req;
  req.federation = ctx_.self.federation;
  {
    std::lock_guard lock(mu_);
    req.member = membership_.self();
  }
  PeerRef peer(address);
  auto& introducer = ctx_.peers.reg(peer, {std::chrono::milliseconds(2000), 2});
  auto list = co_await introducer.join(std::move(req));
  if (!list.ok()) {
    if (quiet)
      spdlog::debug("joining through {} failed: {}", address, list.status().message());
    else
      spdlog::warn("joining through {} failed: {}", address, list.status().message());
    co_return list.status();
  }
  auto news = apply_all(list->members, list->self, true);
  std::size_t live = 0;
  for (const auto& m : list->members) live += is_gone(m.state) ? 0 : 1;
  spdlog::info("joined federation '{}' through {}: {} members", list->federation, address, live);
  dirty_ = true;
  save_members();
  co_return Status::Ok();
}

asio::awaitable<bool> Introducer::join_any(bool first) {
  auto candidates = join_candidates(!first);
  std::string tried;
  for (const auto& c : candidates) {
    if (stopping_) co_return false;
    auto s = co_await try_join(c, !first);
    if (s.ok()) {
      if (alone_rounds_ > 0)
        spdlog::info("no longer alone: joined through {} after {} rounds alone", c, alone_rounds_);
      alone_rounds_ = 0;
      co_return true;
    }
    tried += (tried.empty() ? "" : "; ") + c + " (" + s.message() + ")";
  }
  if (candidates.empty()) {
    if (first)
      spdlog::info("forming federation '{}' alone (no --join, no remembered members)",
                   ctx_.self.federation);
    co_return false;
  }
  // A node that had members to find and found none must say so: it may be cut off for
  // good (every member it knew moved), and it keeps trying in the background.
  ++alone_rounds_;
  auto every = format_duration(membership_.config().sync_interval);
  if (first) {
    spdlog::error(
        "no member of federation '{}' answered at any address this node knows: {}; running "
        "alone and trying again about every {}; give a live member with --join "
        "HOST:PORT[,HOST:PORT...]",
        ctx_.self.federation, tried, every);
  } else if ((alone_rounds_ & (alone_rounds_ - 1)) == 0 || alone_rounds_ % 64 == 0) {
    spdlog::warn(
        "still alone in federation '{}' after {} rounds: no member answered at {}; "
        "trying again about every {}",
        ctx_.self.federation, alone_rounds_, tried, every);
  }
  co_return false;
}

asio::awaitable<void> Introducer::run() {
  auto self = shared_from_this();
  co_await join_any(true);
  if (stopping_) co_return;
  asio::co_spawn(ctx_.ioc, probe_loop(), asio::detached);
  asio::co_spawn(ctx_.ioc, sync_loop(), asio::detached);
}

asio::awaitable<void> Introducer::probe_loop() {
  auto self = shared_from_this();
  std::minstd_rand jitter(static_cast<unsigned>(ctx_.seed));
  while (!stopping_) {
    std::vector<Member> targets, news;
    {
      std::lock_guard lock(mu_);
      if (membership_.self().state != MemberState::alive) break;
      targets = membership_.probe_targets();
      news = membership_.expire();
    }
    if (!news.empty()) {
      for (const auto& n : news)
        spdlog::info("member {} ({}) removed: suspicion not refuted in time", n.name, n.address);
      broadcast(news);
      dirty_ = true;
    }
    for (auto& t : targets) asio::co_spawn(ctx_.ioc, probe_one(std::move(t)), asio::detached);
    if (dirty_.exchange(false)) save_members();
    // ±10% jitter keeps the nodes' rounds from falling into step.
    auto base = membership_.config().probe_interval.count();
    std::uniform_int_distribution<long long> d(base * 9 / 10, base * 11 / 10);
    co_await sleep_for(ctx_.clock, std::chrono::milliseconds(d(jitter)));
  }
}

asio::awaitable<void> Introducer::probe_one(Member target) {
  auto self = shared_from_this();
  model::Ping ping;
  ping.to = target.id;
  {
    std::lock_guard lock(mu_);
    ping.from = membership_.self().id;
    ping.members = membership_.take_gossip();
    ping.members.push_back(membership_.self());
    // A suspect must hear that it is suspected, so it can refute.
    if (target.state == MemberState::suspect) ping.members.push_back(target);
  }
  ctx_.metrics.add("fvce_register_probes_total", {});
  PeerRef peer(target);
  auto& member = ctx_.peers.reg(peer, {membership_.config().probe_timeout, 1});
  auto ack = co_await member.ping(std::move(ping));
  if (ack.ok() && ack->from == target.id) {
    apply_all(ack->members, ack->from);
    std::lock_guard lock(mu_);
    membership_.probe_succeeded(target.id);
    co_return;
  }
  ctx_.metrics.add("fvce_register_probe_failures_total", {});
  std::optional<Member> news;
  {
    std::lock_guard lock(mu_);
    news = membership_.probe_failed(target.id);
  }
  if (news) {
    spdlog::info("member {} ({}) is now {}: probe failed: {}", news->name, news->address,
                 model::to_string(news->state),
                 ack.ok() ? "answered with another id" : ack.status().message());
    if (is_gone(news->state)) ctx_.peers.forget(news->address);
    broadcast({*news});
    dirty_ = true;
  }
}

asio::awaitable<void> Introducer::sync_loop() {
  auto self = shared_from_this();
  std::minstd_rand jitter(static_cast<unsigned>(ctx_.seed >> 7));
  auto base = membership_.config().sync_interval.count();
  while (!stopping_) {
    std::uniform_int_distribution<long long> d(base / 2, base * 3 / 2);
    co_await sleep_for(ctx_.clock, std::chrono::milliseconds(d(jitter)));
    if (stopping_) break;
    std::optional<Member> peer, lost;
    {
      std::lock_guard lock(mu_);
      if (membership_.self().state != MemberState::alive) break;
      peer = membership_.random_peer();
      lost = membership_.reconnect_target();
    }
    if (peer) {
      co_await push_pull(peer->address, std::chrono::milliseconds(3000));
      // Members removed as dead may be behind a partition that healed: each side removed
      // the other and probes only its own, so one of them must call across.
      if (lost && !reconnecting_.exchange(true))
        asio::co_spawn(ctx_.ioc, reconnect(std::move(*lost)), asio::detached);
    } else {
      // Alone: keep trying the --join addresses, the remembered members and the removed
      // ones, so a node that started before its peers joins them once they are up.
      co_await join_any(false);
    }
  }
}

asio::awaitable<void> Introducer::reconnect(Member lost) {
  auto self = shared_from_this();
  auto deadline = std::max(std::chrono::milliseconds(1000), 2 * membership_.config().probe_timeout);
  auto s = co_await push_pull(lost.address, deadline, 1);
  reconnecting_ = false;
  if (s.ok())
    spdlog::info("reached {} ({}) again, a member removed as dead: exchanged member lists",
                 lost.name, lost.address);
  else
    spdlog::debug("{} ({}), removed as dead, still does not answer: {}", lost.name, lost.address,
                  s.message());
}

asio::awaitable<Status> Introducer::push_pull(const std::string& address,
                                              std::chrono::milliseconds deadline, int attempts) {
  model::MemberList mine;
  {
    std::lock_guard lock(mu_);
    mine = membership_.snapshot(true);
  }
  PeerRef peer(address);
  auto& other = ctx_.peers.reg(peer, {deadline, attempts});
  auto theirs = co_await other.merge(std::move(mine));
  if (!theirs.ok()) co_return theirs.status();
  if (theirs->federation != ctx_.self.federation)
    co_return Status::Conflict("the node at " + address + " belongs to federation '" +
                               theirs->federation + "', not '" + ctx_.self.federation + "'");
  auto news = apply_all(theirs->members, theirs->self, true);
  if (!news.empty()) {
    broadcast(news, theirs->self);
    dirty_ = true;
  }
  co_return Status::Ok();
}

std::vector<Member> Introducer::apply_all(const std::vector<Member>& members,
                                          const std::string& from, bool listed) {
  std::vector<Member> news;
  bool refuted = false;
  {
    std::lock_guard lock(mu_);
    for (const auto& m : members) {
      if (auto n = listed ? membership_.apply_listed(m) : membership_.apply(m)) {
        if (n->id == membership_.self().id) refuted = true;
        news.push_back(*n);
      }
    }
    if (!from.empty()) membership_.heard_from(from);
  }
  for (const auto& n : news) {
    if (n.id == ctx_.self.id) {
      spdlog::warn("refuting a suspicion about this node: now incarnation {}", n.incarnation);
      persist_incarnation(n.incarnation);
    } else if (is_gone(n.state)) {
      spdlog::info("member {} ({}) is {}", n.name, n.address, model::to_string(n.state));
      ctx_.peers.forget(n.address);
    } else if (n.state == MemberState::alive) {
      spdlog::debug("member {} ({}) is alive, incarnation {}", n.name, n.address, n.incarnation);
    } else if (listed && n.state == MemberState::suspect) {
      spdlog::info(
          "member {} ({}) is now suspect: a member list from another node says it is "
          "dead",
          n.name, n.address);
    }
  }
  if (!news.empty()) dirty_ = true;
  // A refutation must reach everyone quickly, not only through piggy-backing.
  if (refuted) {
    std::lock_guard lock(mu_);
    auto me = membership_.self();
    asio::post(ctx_.ioc, [self = shared_from_this(), me] { self->broadcast({me}); });
  }
  return news;
}

void Introducer::broadcast(std::vector<Member> news, const std::string& except) {
  if (news.empty()) return;
  auto u = std::make_shared<model::Updates>();
  std::vector<Member> targets;
  {
    std::lock_guard lock(mu_);
    u->from = membership_.self().id;
    targets = membership_.live();
  }
  u->members = std::move(news);
  for (const auto& t : targets) {
    if (t.id == u->from || t.id == except) continue;
    ctx_.metrics.add("fvce_register_broadcasts_total", {});
    auto& member = ctx_.peers.reg(t, {std::chrono::milliseconds(1000), 2});
    asio::co_spawn(ctx_.ioc, send_updates(shared_from_this(), &member, u, nullptr), asio::detached);
  }
}

asio::awaitable<void> Introducer::broadcast_and_wait(std::vector<Member> news) {
  auto u = std::make_shared<model::Updates>();
  std::vector<Member> targets;
  {
    std::lock_guard lock(mu_);
    u->from = membership_.self().id;
    targets = membership_.live();
  }
  u->members = std::move(news);
  auto pending = std::make_shared<std::atomic<int>>(0);
  for (const auto& t : targets) {
    if (t.id == u->from) continue;
    ++*pending;
    auto& member = ctx_.peers.reg(t, {std::chrono::milliseconds(1000), 1});
    asio::co_spawn(ctx_.ioc, send_updates(shared_from_this(), &member, u, pending), asio::detached);
  }
  for (int i = 0; i < 150 && pending->load() > 0; ++i)
    co_await sleep_for(ctx_.clock, std::chrono::milliseconds(10));
}

asio::awaitable<void> Introducer::send_updates([[maybe_unused]] std::shared_ptr<Introducer> self,
                                               RegisterLogic* member,
                                               std::shared_ptr<model::Updates> updates,
                                               std::shared_ptr<std::atomic<int>> pending) {
  model::Updates copy = *updates;
  co_await member->updates(std::move(copy));
  if (pending) --*pending;
}

void Introducer::save_members() {
  model::MemberList list;
  {
    std::lock_guard lock(mu_);
    list = membership_.snapshot(false);
  }
  auto s = write_file_atomic(members_file(ctx_.state_dir), model::to_xml(list));
  if (!s.ok()) spdlog::warn("cannot remember the member list: {}", s.message());
}

void Introducer::persist_incarnation(std::uint64_t incarnation) {
  if (incarnation <= saved_incarnation_) return;
  saved_incarnation_ = incarnation;
  auto s = write_file_atomic(ctx_.state_dir / "incarnation", std::to_string(incarnation) + "\n");
  if (!s.ok()) spdlog::warn("cannot record the incarnation: {}", s.message());
}

// --- RegisterLogic ---

asio::awaitable<Result<model::MemberList>> Introducer::join(model::JoinRequest request) {
  if (request.federation != ctx_.self.federation)
    co_return Status::Conflict("this node belongs to federation '" + ctx_.self.federation +
                               "', not '" + request.federation + "'");
  if (request.member.id == ctx_.self.id)
    co_return Status::Conflict("a node cannot join through itself");
  request.member.state = MemberState::alive;
  std::optional<Member> news;
  model::MemberList list;
  {
    std::lock_guard lock(mu_);
    news = membership_.apply(request.member);
    membership_.heard_from(request.member.id);
    list = membership_.snapshot(false);
    // Removed here at the incarnation it joins with (a partition, not a restart): it must
    // hear it, so that it refutes with a higher one and everyone takes it back.
    if (!news)
      for (const auto& m : membership_.all())
        if (m.id == request.member.id && is_gone(m.state)) list.members.push_back(m);
  }
  if (news) {
    spdlog::info("member {} ({}) joined", news->name, news->address);
    broadcast({*news}, request.member.id);
    dirty_ = true;
  }
  co_return list;
}

asio::awaitable<Result<model::Ack>> Introducer::ping(model::Ping ping) {
  if (!ping.to.empty() && ping.to != ctx_.self.id)
    co_return Status::Conflict("this address now belongs to node " + ctx_.self.id + ", not " +
                               ping.to);
  apply_all(ping.members, ping.from);
  model::Ack ack;
  std::lock_guard lock(mu_);
  ack.from = membership_.self().id;
  ack.to = ping.from;
  ack.members = membership_.take_gossip();
  ack.members.push_back(membership_.self());
  co_return ack;
}

asio::awaitable<Status> Introducer::updates(model::Updates updates) {
  if (!updates.to.empty() && updates.to != ctx_.self.id)
    co_return Status::Conflict("this address now belongs to node " + ctx_.self.id);
  apply_all(updates.members, updates.from);
  co_return Status::Ok();
}

asio::awaitable<Result<model::MemberList>> Introducer::merge(model::MemberList list) {
  if (list.federation != ctx_.self.federation)
    co_return Status::Conflict("federation '" + list.federation + "' cannot merge with '" +
                               ctx_.self.federation +
                               "': the nodes of one federation share its name (deploy.xml "
                               "federation=)");
  auto news = apply_all(list.members, list.self, true);
  if (!news.empty()) {
    // What the other side taught us, our members have not heard either.
    broadcast(news, list.self);
    dirty_ = true;
  }
  std::lock_guard lock(mu_);
  co_return membership_.snapshot(true);
}

asio::awaitable<Result<model::MemberList>> Introducer::probe(model::ProbeRequest request) {
  if (request.address == ctx_.self.address)
    co_return Status::InvalidArgument("'" + request.address + "' is this node itself");
  auto s = co_await push_pull(request.address, std::chrono::milliseconds(3000));
  if (!s.ok()) co_return Status(s.code(), "probing " + request.address + " failed: " + s.message());
  std::lock_guard lock(mu_);
  co_return membership_.snapshot(false);
}

asio::awaitable<Result<model::MemberList>> Introducer::members(bool with_gone) {
  std::lock_guard lock(mu_);
  co_return membership_.snapshot(with_gone);
}

asio::awaitable<Status> Introducer::leave() {
  Member me;
  {
    std::lock_guard lock(mu_);
    if (membership_.self().state == MemberState::left)
      co_return Status::Conflict("this node is already leaving");
    me = membership_.leave();
  }
  spdlog::info("leaving federation '{}'", ctx_.self.federation);
  stopping_ = true;
  std::vector<Member> news{me};  // not inline: GCC 12 miscompiles a braced list in co_await
  co_await broadcast_and_wait(std::move(news));
  // Remember that we left: on restart the node rejoins through the remembered members.
  save_members();
  if (on_left_) asio::post(ctx_.ioc, on_left_);
  co_return Status::Ok();
}

// --- MembershipView ---

Member Introducer::self() const {
  std::lock_guard lock(mu_);
  return membership_.self();
}

std::vector<Member> Introducer::live_members() const {
  std::lock_guard lock(mu_);
  return membership_.live();
}

std::uint64_t Introducer::version() const {
  std::lock_guard lock(mu_);
  return membership_.version();
}

std::optional<Member> Introducer::find(std::string_view name_or_id) const {
  std::lock_guard lock(mu_);
  return membership_.find(name_or_id);
}

}  // namespace fvce::reg
