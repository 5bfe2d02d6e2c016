// The applications a node offers on its Submit page, and their replication among members.
//
// Two sources, one list:
//  - bundled descriptions, installed with the node (share/fvce/apps; deploy/apps in the
//    source tree): read at start, the same at every member of one version;
//  - published ones: an admin publishes a description (or withdraws a name) at any member.
//    The member stores the record in STATE_DIR/apps/NAME.xml (an <app-record>, fsynced)
//    and pushes it at once to every live member (POST /apps/sync, members only); every
//    sync-interval (jittered) it exchanges its whole set with one random live member, so a
//    member that missed a push, was down or joined later converges. No restart is needed.
// A record carries (stamp, origin): the publishing member's clock in milliseconds (at least
// one more than the name's previous stamp) and its name. For each name the record with the
// greatest (stamp, origin) wins at every member; a withdrawal is a record without a
// description (a tombstone) and replicates the same way. A published record of a name
// hides the bundled description of that name; a withdrawal hides it too.
//
// Thread-safety: every method may be called from any thread. publish() and withdraw() are
// coroutines that write on the node's worker pool. on_change callbacks run on the thread
// that made the change, outside the store's lock; they must not block.
#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "node/core/status.h"
#include "node/http/client.h"
#include "node/http/router.h"
#include "node/model/member.h"
#include "node/node_context.h"
#include "services/userport/apps.h"

namespace fvce::userport {

// One version of a published name.
struct AppRecord {
  std::string name;
  std::uint64_t stamp = 0;
  std::string origin;  // the member that published it
  std::string by;      // the user who did
  bool removed = false;
  std::string xml;  // the description; "" for a withdrawal
  // Whether this record replaces o (same name): the greater (stamp, origin, xml) wins.
  bool newer_than(const AppRecord& o) const;
};

// <app-records> and back (xsd/application.xsd). from_records_doc() expects a document that
// passed the schema; records whose description does not parse are dropped (and named in
// *dropped when given).
std::string to_records_doc(const std::vector<AppRecord>& records, bool full);
Result<std::vector<AppRecord>> from_records_doc(std::string_view xml, bool* full = nullptr,
                                                std::vector<std::string>* dropped = nullptr);

class AppStore : public std::enable_shared_from_this<AppStore> {
 public:
  struct Options {
    std::filesystem::path state_dir;                  // published records: state_dir/NAME.xml
    std::vector<std::filesystem::path> bundled_dirs;  // read in order; the first of a name wins
    std::chrono::milliseconds sync_interval{5000};
    std::size_t max_apps = 512;  // names, withdrawn ones included
  };
  // The members to replicate with (this node's own entry may be among them).
  using LiveMembers = std::function<std::vector<model::Member>()>;
  // Sends an <app-records> document to a member's POST /apps/sync and returns its answer
  // (an <app-records> document). Errors: those of the transport and the member.
  using SyncCall = std::function<boost::asio::awaitable<Result<std::string>>(
      const model::Member& member, std::string body)>;

  // Reads the bundled descriptions and the records in state_dir (created when missing).
  // A bundled description that does not parse is skipped with a warning naming the file; a
  // damaged record too. Errors: io-error when state_dir cannot be made.
  static Result<std::shared_ptr<AppStore>> Create(NodeContext& ctx, Options options,
                                                  LiveMembers live_members, SyncCall sync);

  // The applications offered, by name.
  std::vector<App> list() const;
  std::optional<App> find(std::string_view name) const;

  // Checks a description (parse_app: its errors, with line numbers), stores it as the
  // newest version of its name, and pushes it to the live members. Returns the App.
  // Errors: invalid-argument (the description), too-large (max_apps names), io-error.
  boost::asio::awaitable<Result<App>> publish(std::string xml, std::string by);
  // Withdraws name everywhere. Errors: not-found when no application has that name.
  boost::asio::awaitable<Status> withdraw(std::string name, std::string by);

  // POST /apps/sync (members only): merges the records sent; answers the records of this
  // node's that are newer than those sent (and, for a full set, those the sender lacks).
  void add_peer_routes(http::Router& router);

  // Starts the periodic exchange; pushes begin with the first change. Call once.
  void start();
  // Stops the exchange. Idempotent.
  void stop();
  // Called after each change of the list (a publish or withdrawal here or learned from a
  // member).
  void on_change(std::function<void()> callback);

  // Merges records from a member (also what POST /apps/sync does); returns the records of
  // this node's to answer with. Blocking (writes the changed records): call on a worker.
  std::vector<AppRecord> merge(const std::vector<AppRecord>& theirs, bool full);
  // Every published record (withdrawals included).
  std::vector<AppRecord> records() const;

 private:
  AppStore(NodeContext& ctx, Options options, LiveMembers live_members, SyncCall sync);
  void load();
  // Writes the current record of each name (under persist_mu_, so the last write of a name
  // is of its current record).
  void persist(const std::vector<std::string>& names);
  void changed();
  boost::asio::awaitable<void> push(std::vector<AppRecord> delta);
  boost::asio::awaitable<void> exchange_loop();
  boost::asio::awaitable<void> exchange(const model::Member& peer, std::vector<AppRecord> mine,
                                        bool full);

  NodeContext& ctx_;
  Options options_;
  LiveMembers live_members_;
  SyncCall sync_;
  mutable std::mutex mu_;
  std::map<std::string, App> bundled_;
  std::map<std::string, AppRecord> records_;
  std::map<std::string, App> published_;  // parsed descriptions of the live records
  std::mutex persist_mu_;
  std::vector<std::function<void()>> callbacks_;
  std::atomic<bool> stopped_{false};
};

// The SyncCall of a running node: POST /apps/sync over the node's pooled client (which signs
// or authenticates every request as the member it is), with a 5 s deadline. client must
// outlive the store.
AppStore::SyncCall sync_over_http(http::Client& client);

// Where the bundled descriptions of a node are: DIR/../share/fvce/apps beside an installed
// program, DIR/share/fvce/apps in a build tree (DIR = the program's directory); those that
// exist.
std::vector<std::filesystem::path> bundled_app_dirs();

}  // namespace fvce::userport
