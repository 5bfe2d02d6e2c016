// The web user port's terminal: a shell on a chosen member of the federation, in a pty,
// over a WebSocket, as the user's mapped local account (docs/web.md, "Terminal";
// docs/SECURITY.md, "The terminal").
//
//   GET /api/terminal?member=NAME&cols=C&rows=R        user   the browser's WebSocket
//   GET /userport/terminal?user=U&origin=N&from=A&...  peer   a member relaying one
//
// The node the browser reached opens the shell itself (member empty, or this node) or
// relays the WebSocket, frame by frame, to the member named, which opens it. Binary frames
// carry the terminal's bytes both ways; a text frame {"resize":[cols,rows]} resizes it.
//
// Before the upgrade a request is refused with an HTTP status: 400 (not a WebSocket
// upgrade), 401 (no or bad credentials: the server), 403 (an Origin that is not this node's
// own: a page of another site may not open a shell with the user's cookie). Anything later
// (no such member, an unmapped user, too many terminals, an unreachable member) closes the
// WebSocket with the reason, which a browser can read and an HTTP answer it could not.
//
// A shell starts in the user's directory under the work root, users/<user> (the account's,
// mode 0700), with TERM, HOME, USER, LOGNAME, SHELL, PATH and LANG set. A session ends when
// the shell exits, when the WebSocket closes, after the idle time without input, when the
// user's token stops being valid (signed out, password changed, removed: checked every few
// seconds, and at once by close_for_token), and when the node stops; then the session's
// processes get SIGHUP and, after a grace, SIGKILL. Each session is logged at start and end
// at info level (the audit lines): user, member, account, address, times, bytes.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "node/deploy/registry.h"
#include "node/http/client.h"
#include "node/http/router.h"
#include "node/model/member.h"
#include "node/node_context.h"
#include "services/execute/accounts.h"

namespace fvce::userport {

struct TerminalOptions {
  bool enabled = true;                             // off: the routes answer 404
  std::chrono::milliseconds idle{15 * 60 * 1000};  // closed after this long without input
  // Who a user's shell runs as (pty.h, shell_account): the execute service's map, applied
  // when the node runs as root; not root, the shell runs as the node's own account.
  execute::AccountMap accounts;
  bool node_is_root = false;
  std::filesystem::path work_root;          // the file service's; shells start in users/<user>
  std::size_t max_per_user = 8;             // open sessions of one user at this node
  std::size_t max_per_node = 64;            // open sessions at this node, relayed ones included
  std::chrono::milliseconds recheck{2000};  // how often the users' tokens are checked
  std::chrono::milliseconds hangup_grace{2000};     // SIGHUP → SIGKILL
  std::chrono::milliseconds connect_timeout{5000};  // to reach the member of a relay
};

// The userport parameters the terminal reads ("terminal" on|off, "terminal-idle"), for the
// userport service's registry, and reading them into options. Errors name the parameter.
std::vector<deploy::ParamSpec> terminal_param_specs();
Status read_terminal_params(const deploy::Params& params, TerminalOptions& options);

// What the terminal needs of the rest of the node, given by the composition root.
struct TerminalLinks {
  // Connections to other members, with this node's credentials (signature or certificate).
  http::Client* client = nullptr;
  // The member with this name or id, if it is one (register's MembershipView::find).
  std::function<std::optional<model::Member>(std::string_view)> find_member;
  // Whether a user's token is still good (auth::Accounts::verify); null: not rechecked.
  std::function<bool(std::string_view token)> token_valid;
};

// Thread-safe. Lives as long as a session holds it (each holds a shared_ptr).
class Terminals : public std::enable_shared_from_this<Terminals> {
 public:
  static std::shared_ptr<Terminals> Create(NodeContext& ctx, TerminalOptions options,
                                           TerminalLinks links);
  ~Terminals();

  // Registers the two routes (above). The router must not outlive this object's sessions'
  // need for it: register once, at start-up.
  void add_routes(http::Router& router);

  // Closes every session opened with this token (the user signed out). Any thread.
  void close_for_token(std::string_view token);
  // Closes every session and refuses new ones (the node stops). Any thread; returns at once,
  // the sessions end within the hang-up grace.
  void stop();

  // Open sessions (local shells and relays).
  std::size_t open_sessions() const;

  const TerminalOptions& options() const { return options_; }

 private:
  class Session;
  class ShellSession;
  class RelaySession;
  Terminals(NodeContext& ctx, TerminalOptions options, TerminalLinks links);

  boost::asio::awaitable<void> serve_browser(http::StreamExchange& ex);
  boost::asio::awaitable<void> serve_peer(http::StreamExchange& ex);
  // Why a request is refused before the upgrade (ok: it is not).
  Status check_request(const http::StreamExchange& ex, bool from_browser) const;
  // Starts the user's shell here and serves it over ws until the session ends.
  template <typename WebSocketT>
  boost::asio::awaitable<void> open_shell(std::shared_ptr<ShellSession> session, WebSocketT& ws,
                                          unsigned cols, unsigned rows);
  // Closes ws with why, logged with the full reason (a close frame holds 123 bytes of it).
  template <typename WebSocketT, typename Info, typename Reason>
  static boost::asio::awaitable<void> refuse(WebSocketT& ws, const Info& info, Reason why,
                                             std::string full = {});
  // Counts a session in, or says why not (too many).
  Status enter(const std::shared_ptr<Session>& session);
  void leave(const Session& session);

  NodeContext& ctx_;
  const TerminalOptions options_;
  TerminalLinks links_;
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace fvce::userport
