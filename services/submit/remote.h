// SubmitLogic spoken to a node over HTTP: with Scope::federation (what users reach) the node
// answers for the whole federation; with Scope::node, for its own workflows only (what peers
// ask each other, through Peers: a forwarded call must not be forwarded again).
//
// Errors: the node's own Status (its <error> document), or unavailable/timeout when it cannot
// be reached. Every call uses the CallOptions it was made with (default one attempt of 10 s).
// Thread-safe; client must outlive the object.
#pragma once

#include <string>

#include "node/core/call_options.h"
#include "node/http/client.h"
#include "services/submit/logic.h"

namespace fvce::submit {

class SubmitRemote final : public SubmitLogic {
 public:
  enum class Scope { federation, node };

  // The requesting user is the one whose token the client (or options.user_token) sends; the
  // owner arguments of submit() are not sent: the node takes the owner from the token.
  SubmitRemote(http::Client& client, std::string address, Scope scope = Scope::federation,
               CallOptions options = {});

  boost::asio::awaitable<Result<model::Submitted>> submit(model::WorkflowDoc workflow,
                                                          std::string owner) override;

  // Submits a workflow document as text, as its user wrote it: the node checks it against
  // the schema, so a mistake comes back as "LINE:COL: reason" of that text. Errors as
  // submit().
  boost::asio::awaitable<Result<model::Submitted>> submit_text(std::string xml, std::string owner);
  // Checks a document as submit would (schema, references, cycles) without submitting it
  // and without needing its inputs in the store: Ok, or the error submit would give.
  boost::asio::awaitable<Status> check_text(std::string xml);
  boost::asio::awaitable<Result<model::WorkflowList>> workflows(WorkflowQuery query) override;
  boost::asio::awaitable<Result<model::WorkflowStatus>> status(
      std::string id, TaskDetail detail, std::chrono::milliseconds wait) override;
  boost::asio::awaitable<Result<model::WorkflowView>> view(std::string id,
                                                           ViewQuery query) override;
  boost::asio::awaitable<Result<std::string>> owner_of(std::string id) override;
  boost::asio::awaitable<Status> cancel(std::string id) override;
  boost::asio::awaitable<Result<model::Submitted>> retry(std::string id) override;
  boost::asio::awaitable<Status> migrate(std::string id, std::string task, std::string to) override;
  boost::asio::awaitable<Status> reports(model::TaskReports reports) override;
  boost::asio::awaitable<Result<model::ResultList>> results(std::string id) override;
  boost::asio::awaitable<Result<std::string>> logs(std::string id, std::string task,
                                                   std::string stream) override;

 private:
  http::Client& client_;
  std::string address_;
  std::string scope_;  // the query parameter's value: "" (federation) or "node"
  http::RequestOptions options_;
};

}  // namespace fvce::submit
