// The query parameters of workflow lists and workflow views, one definition for the routes
// that read them (the XML API and the user port's JSON), and for SubmitRemote, which writes
// them: state=running,failed name= app= node= q= from= to= offset= limit= owner= for lists;
// parts=tasks,graph,timeline offset= limit= state= q= group= for a view.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "node/core/status.h"
#include "node/http/message.h"
#include "services/submit/logic.h"

namespace fvce::submit {

using QueryParams = std::vector<std::pair<std::string, std::string>>;

// Reads a list query. Errors: invalid-argument naming the parameter (an unknown state, a
// number that is not one, a limit outside 1..max_limit).
Result<WorkflowQuery> read_workflow_query(const http::RequestView& v,
                                          std::uint64_t max_limit = kMaxPage);
QueryParams workflow_query_params(const WorkflowQuery& q);

// Reads a view query (limit 0..max_limit; 0 with parts=graph asks for no tasks).
Result<ViewQuery> read_view_query(const http::RequestView& v, std::uint64_t max_limit = kMaxPage);
QueryParams view_query_params(const ViewQuery& q);

// route?k=v&..., as http::target does, for a list built at run time.
std::string target_with(std::string_view route, const QueryParams& params);

}  // namespace fvce::submit
