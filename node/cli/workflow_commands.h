// Client commands for workflows: submit, workflows, status, logs, fetch, cancel, retry.
// Exit codes: 0 success, 1 the operation (or, with --watch, the workflow) failed.
#pragma once

#include <string>

#include "node/cli/client_commands.h"

namespace fvce::cli {

int submit(const ClientOptions& o, const std::string& workflow_file, bool watch);
// A page of the federation's workflows (every member is asked), newest first.
int workflows(const ClientOptions& o, bool all, std::uint64_t offset, std::uint64_t limit);
int status(const ClientOptions& o, const std::string& id);
int logs(const ClientOptions& o, const std::string& id, const std::string& task,
         bool stderr_stream);
int fetch(const ClientOptions& o, const std::string& id, const std::string& dir);
int cancel(const ClientOptions& o, const std::string& id);
// Runs a failed or cancelled workflow again from where it stopped.
int retry(const ClientOptions& o, const std::string& id);
// Moves a task of a running workflow to the member `to`; with wait, until it runs there.
int migrate(const ClientOptions& o, const std::string& id, const std::string& task,
            const std::string& to, bool wait);

// Follows a workflow until it ends, printing a progress line to stderr. 0 when it is done.
int watch(const ClientOptions& o, const std::string& id);

// The user signed in (`fvce login`), else the OS user running the CLI.
std::string current_user();

}  // namespace fvce::cli
