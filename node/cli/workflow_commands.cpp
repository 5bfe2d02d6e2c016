#include "node/cli/workflow_commands.h"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <random>
#include <thread>

#include "node/cli/session.h"
#include "node/core/files.h"
#include "node/core/random.h"
#include "node/core/units.h"
#include "node/model/codec.h"
#include "services/file/remote.h"
#include "services/file/transfer.h"
#include "services/submit/remote.h"

namespace fvce::cli {

namespace asio = boost::asio;
namespace fs = std::filesystem;

std::string current_user() {
  if (auto c = load_credentials(); c.ok() && !c->user.empty()) return c->user;
  if (auto* pw = ::getpwuid(::getuid())) return pw->pw_name;
  return "uid" + std::to_string(::getuid());
}

namespace {

// Runs one coroutine to completion on a private io_context and returns its result.
template <typename T, typename F>
T run(F make) {
  asio::io_context ioc;
  std::optional<T> out;
  asio::co_spawn(
      ioc, [&]() -> asio::awaitable<void> { out.emplace(co_await make(ioc)); }, asio::detached);
  ioc.run();
  return std::move(*out);
}

template <typename T>
bool failed(const Result<T>& r, const ClientOptions& o) {
  if (r.ok()) return false;
  std::cerr << "fvce: " << o.node << ": " << r.status().message() << "\n";
  return true;
}

std::string when(std::optional<std::int64_t> ms) {
  if (!ms) return "-";
  std::time_t t = static_cast<std::time_t>(*ms / 1000);
  char buf[32];
  std::strftime(buf, sizeof buf, "%H:%M:%S", std::localtime(&t));
  return buf;
}

std::string duration_between(std::optional<std::int64_t> a, std::optional<std::int64_t> b) {
  if (!a || !b) return "-";
  return format_duration(std::chrono::milliseconds(*b - *a));
}

void table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> w;
  for (const auto& r : rows)
    for (std::size_t i = 0; i < r.size(); ++i) {
      if (w.size() <= i) w.push_back(0);
      w[i] = std::max(w[i], r[i].size());
    }
  for (const auto& r : rows) {
    std::string line;
    for (std::size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(w[i] - r[i].size() + 2, ' ');
    }
    std::cout << line << "\n";
  }
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

submit::SubmitRemote remote(http::Client& client, const ClientOptions& o) {
  return submit::SubmitRemote(client, o.node, submit::SubmitRemote::Scope::federation,
                              {std::chrono::milliseconds(o.timeout_ms), 1});
}

// A workflow's status from the node (one request on a private io_context); wait as
// SubmitLogic::status.
Result<model::WorkflowStatus> status_of(const ClientOptions& o, const std::string& id,
                                        submit::TaskDetail detail, std::chrono::milliseconds wait) {
  return run<Result<model::WorkflowStatus>>([&](asio::io_context& ioc) {
    return
        [](asio::io_context& ioc, const ClientOptions& o, std::string id, submit::TaskDetail detail,
           std::chrono::milliseconds wait) -> asio::awaitable<Result<model::WorkflowStatus>> {
          Session session(ioc, o);
          auto& client = session.client();
          auto r = remote(client, o);
          co_return co_await r.status(std::move(id), detail, wait);
        }(ioc, o, id, detail, wait);
  });
}

}  // namespace

int submit(const ClientOptions& o, const std::string& workflow_file, bool watch_it) {
  auto text = read_file(workflow_file);
  if (!text.ok()) {
    std::cerr << "fvce: " << text.status().message() << "\n";
    return 1;
  }
  // The node checks the document against the schema and reports a mistake as LINE:COL of
  // the text it was sent: the user's own file, sent as it is, unless fvce must fill in the
  // checksums of files it uploads — then the node checks the user's text first, so that
  // nothing is uploaded for a document it would refuse.
  auto about_file = [&](const Status& s) {
    if (s.code() != ErrorCode::invalid_argument) return false;
    const auto& m = s.message();
    bool located = !m.empty() && m[0] >= '0' && m[0] <= '9';  // "LINE:COL: reason"
    std::cerr << "fvce: " << workflow_file << (located ? ":" : ": ") << m << "\n";
    return true;
  };
  auto doc = model::from_xml<model::WorkflowDoc>(*text);
  bool uploads = doc.ok() && std::any_of(doc->files.begin(), doc->files.end(),
                                         [](const auto& f) { return !f.src.empty(); });
  auto send = [&](std::optional<model::WorkflowDoc> filled) {
    return run<Result<model::Submitted>>([&](asio::io_context& ioc) {
      return [](asio::io_context& ioc, const ClientOptions& o, std::string xml,
                std::optional<model::WorkflowDoc> filled)
                 -> asio::awaitable<Result<model::Submitted>> {
        Session session(ioc, o);
        auto& client = session.client();
        auto r = remote(client, o);
        auto user = current_user();
        if (filled) co_return co_await r.submit(std::move(*filled), std::move(user));
        co_return co_await r.submit_text(std::move(xml), std::move(user));
      }(ioc, o, *text, std::move(filled));
    });
  };
  auto finish = [&](const Result<model::Submitted>& out) {
    if (!out.ok()) {
      if (!about_file(out.status())) failed(out, o);
      return 1;
    }
    if (o.xml)
      std::cout << model::to_xml(*out);
    else
      std::cout << out->id << "\n";
    std::cout.flush();
    std::cerr << "submitted workflow " << out->id << " (" << out->name << ", " << out->tasks
              << " task" << (out->tasks == 1 ? "" : "s") << ") to " << o.node << "\n";
    return watch_it ? watch(o, out->id) : 0;
  };
  if (!uploads) return finish(send(std::nullopt));

  auto checked = run<Status>([&](asio::io_context& ioc) {
    return [](asio::io_context& ioc, const ClientOptions& o,
              std::string xml) -> asio::awaitable<Status> {
      Session session(ioc, o);
      auto& client = session.client();
      auto r = remote(client, o);
      co_return co_await r.check_text(std::move(xml));
    }(ioc, o, *text);
  });
  if (!checked.ok()) {
    if (!about_file(checked)) std::cerr << "fvce: " << o.node << ": " << checked.message() << "\n";
    return 1;
  }
  fs::path base = fs::path(workflow_file).parent_path();
  // Inputs go to the node's content-addressed store (skipped when it has them already).
  for (auto& f : doc->files) {
    if (f.src.empty()) {
      if (f.sha256.empty() || !f.size) {
        std::cerr << "fvce: " << workflow_file << ": file '" << f.name
                  << "' needs src= (or sha256= and size= of a file the node already has)\n";
        return 1;
      }
      continue;
    }
    fs::path src = fs::path(f.src).is_absolute() ? fs::path(f.src) : base / f.src;
    auto entry = run<Result<model::FileEntry>>([&](asio::io_context& ioc) {
      return [](asio::io_context& ioc, ClientOptions o, std::string node,
                fs::path src) -> asio::awaitable<Result<model::FileEntry>> {
        Session session(ioc, o);
        auto& client = session.client();
        co_return co_await file::upload_to_store(client, std::move(node), std::move(src));
      }(ioc, o, o.node, src);
    });
    if (!entry.ok()) {
      std::cerr << "fvce: file '" << f.name << "' (" << src.string()
                << "): " << entry.status().message() << "\n";
      return 1;
    }
    if (!f.sha256.empty() && f.sha256 != entry->sha256) {
      std::cerr << "fvce: file '" << f.name << "' (" << src.string() << ") has SHA-256 "
                << entry->sha256 << ", but the workflow says " << f.sha256 << "\n";
      return 1;
    }
    if (f.size && *f.size != entry->size) {
      std::cerr << "fvce: file '" << f.name << "' has " << entry->size
                << " bytes, but the workflow says " << *f.size << "\n";
      return 1;
    }
    f.sha256 = entry->sha256;
    f.size = entry->size;
  }
  return finish(send(std::move(*doc)));
}

int watch(const ClientOptions& o, const std::string& id) {
  bool tty = ::isatty(STDERR_FILENO);
  auto started = std::chrono::steady_clock::now();
  int failures = 0;
  std::string last;
  // wait: the node answers at once when the workflow ends, else after wait (a long poll).
  auto fetch = [&](submit::TaskDetail detail, std::chrono::milliseconds wait) {
    return status_of(o, id, detail, wait);
  };
  // The first answer at once, so that the progress line appears; then one each
  // kWatchInterval while the workflow runs, and one the moment it ends.
  constexpr std::chrono::milliseconds kWatchInterval{200};
  std::chrono::milliseconds wait{0};
  for (;;) {
    // The summary only while it runs: a large workflow's task list is not sent each time.
    auto st = fetch(submit::TaskDetail::none, wait);
    wait = kWatchInterval;
    if (!st.ok()) {
      // The node may be restarting: keep trying for a while before giving up.
      if (++failures > 60 || st.status().code() == ErrorCode::not_found) {
        failed(st, o);
        return 1;
      }
      std::this_thread::sleep_for(std::chrono::seconds(1));
      continue;
    }
    failures = 0;
    const auto& s = st->summary;
    auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - started);
    int finished = s.done + s.failed + s.cancelled;
    std::string eta = "-";
    if (s.done > 0 && finished < s.tasks)
      eta = format_duration(std::chrono::milliseconds(elapsed.count() * (s.tasks - finished) /
                                                      std::max(1, finished)));
    char line[256];
    std::snprintf(line, sizeof line,
                  "%s  %d tasks: %d pending, %d ready, %d running, %d done, %d failed, %d "
                  "cancelled  elapsed %s  ETA %s",
                  std::string(model::to_string(s.state)).c_str(), s.tasks, s.pending, s.ready,
                  s.running, s.done, s.failed, s.cancelled, format_duration(elapsed).c_str(),
                  eta.c_str());
    if (tty)
      std::cerr << "\r\033[K" << line << std::flush;
    else if (line != last)
      std::cerr << line << "\n";
    last = line;
    if (s.state != model::WorkflowState::running) {
      if (tty) std::cerr << "\n";
      auto final_state = s.state;
      if (s.failed > 0) st = fetch(submit::TaskDetail::failed, {});
      if (!st.ok()) return 1;
      for (const auto& t : st->tasks)
        if (t.state == model::TaskState::failed)
          std::cerr << "task " << t.id << " failed"
                    << (t.exit_code ? " (exit " + std::to_string(*t.exit_code) + ")" : "") << ": "
                    << t.message << "\n";
      return final_state == model::WorkflowState::done ? 0 : 1;
    }
  }
}

int workflows(const ClientOptions& o, bool all, std::uint64_t offset, std::uint64_t limit) {
  auto list = run<Result<model::WorkflowList>>([&](asio::io_context& ioc) {
    return [](asio::io_context& ioc, const ClientOptions& o, bool all, std::uint64_t offset,
              std::uint64_t limit) -> asio::awaitable<Result<model::WorkflowList>> {
      Session session(ioc, o);
      auto& client = session.client();
      auto r = remote(client, o);
      submit::WorkflowQuery query;
      query.owner = all ? std::string() : current_user();
      query.offset = offset;
      query.limit = limit;
      co_return co_await r.workflows(std::move(query));
    }(ioc, o, all, offset, limit);
  });
  if (failed(list, o)) return 1;
  if (o.xml) {
    std::cout << model::to_xml(*list);
    return 0;
  }
  std::vector<std::vector<std::string>> rows{
      {"ID", "NAME", "OWNER", "NODE", "STATE", "PROGRESS", "SUBMITTED", "DURATION"}};
  for (const auto& w : list->workflows) {
    int finished = w.done + w.failed + w.cancelled;
    rows.push_back(
        {w.id, w.name, w.owner, w.node, std::string(model::to_string(w.state)),
         std::to_string(finished) + "/" + std::to_string(w.tasks) +
             (w.failed ? " (" + std::to_string(w.failed) + " failed)" : ""),
         when(w.submitted),
         duration_between(w.submitted, w.finished ? w.finished : std::optional(now_ms()))});
  }
  table(rows);
  if (list->workflows.empty())
    std::cerr << (list->total == 0 ? "no workflows\n"
                                   : "no workflows past the first " + std::to_string(offset) +
                                         " (of " + std::to_string(list->total) + ")\n");
  else if (list->offset > 0 || list->workflows.size() < list->total)
    std::cerr << "workflows " << list->offset + 1 << "-" << list->offset + list->workflows.size()
              << " of " << list->total << " (newest first; more with --offset "
              << list->offset + list->workflows.size() << ")\n";
  for (const auto& u : list->unreachable)
    std::cerr << "fvce: the workflows of " << u.node << " (" << u.address
              << ") are missing: " << u.reason << "\n";
  return 0;
}

int status(const ClientOptions& o, const std::string& id) {
  auto st = status_of(o, id, submit::TaskDetail::all, {});
  if (failed(st, o)) return 1;
  if (o.xml) {
    std::cout << model::to_xml(*st);
    return 0;
  }
  const auto& s = st->summary;
  std::cout << "workflow " << s.id << " (" << s.name << ") of " << s.owner << " on " << s.node
            << ": " << model::to_string(s.state) << ", " << s.done << "/" << s.tasks << " done, "
            << s.failed << " failed, " << s.cancelled << " cancelled, " << s.running
            << " running; submitted " << when(s.submitted)
            << (s.finished ? ", took " + duration_between(s.submitted, s.finished) : "") << "\n\n";
  std::vector<std::vector<std::string>> rows{{"TASK", "STATE", "HOST", "ATTEMPTS", "EXIT",
                                              "STARTED", "WALL", "CPU", "MAX RSS", "MESSAGE"}};
  for (const auto& t : st->tasks) {
    std::string msg = t.message.size() > 80 ? t.message.substr(0, 79) + "~" : t.message;
    for (auto& c : msg)
      if (c == '\n') c = ' ';
    rows.push_back({t.id, std::string(model::to_string(t.state)), t.host.empty() ? "-" : t.host,
                    std::to_string(t.attempts), t.exit_code ? std::to_string(*t.exit_code) : "-",
                    when(t.started),
                    t.wall_ms ? format_duration(std::chrono::milliseconds(*t.wall_ms)) : "-",
                    t.cpu_ms ? format_duration(std::chrono::milliseconds(*t.cpu_ms)) : "-",
                    t.max_rss ? format_bytes(*t.max_rss) : "-", msg});
  }
  table(rows);
  return 0;
}

int logs(const ClientOptions& o, const std::string& id, const std::string& task,
         bool stderr_stream) {
  auto text = run<Result<std::string>>([&](asio::io_context& ioc) {
    return [](asio::io_context& ioc, const ClientOptions& o, std::string id, std::string task,
              std::string stream) -> asio::awaitable<Result<std::string>> {
      Session session(ioc, o);
      auto& client = session.client();
      auto r = remote(client, o);
      co_return co_await r.logs(std::move(id), std::move(task), std::move(stream));
    }(ioc, o, id, task, stderr_stream ? "stderr" : "stdout");
  });
  if (failed(text, o)) return 1;
  std::cout << *text;
  return 0;
}

int cancel(const ClientOptions& o, const std::string& id) {
  auto s = run<Status>([&](asio::io_context& ioc) {
    return [](asio::io_context& ioc, const ClientOptions& o,
              std::string id) -> asio::awaitable<Status> {
      Session session(ioc, o);
      auto& client = session.client();
      auto r = remote(client, o);
      co_return co_await r.cancel(std::move(id));
    }(ioc, o, id);
  });
  if (!s.ok()) {
    std::cerr << "fvce: " << o.node << ": " << s.message() << "\n";
    return 1;
  }
  std::cout << "workflow " << id << " cancelled\n";
  return 0;
}

int migrate(const ClientOptions& o, const std::string& id, const std::string& task,
            const std::string& to, bool wait) {
  auto t0 = std::chrono::steady_clock::now();
  auto out = run<Status>([&](asio::io_context& ioc) {
    return [](asio::io_context& ioc, const ClientOptions& o, std::string id, std::string task,
              std::string to) -> asio::awaitable<Status> {
      Session session(ioc, o);
      auto& client = session.client();
      auto r = remote(client, o);
      co_return co_await r.migrate(std::move(id), std::move(task), std::move(to));
    }(ioc, o, id, task, to);
  });
  if (!out.ok()) {
    std::cerr << "fvce: " << o.node << ": " << out.message() << "\n";
    return 1;
  }
  auto since = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  std::printf("task %s of %s given back by its host after %.2f s; moving to %s\n", task.c_str(),
              id.c_str(), since(), to.c_str());
  if (!wait) return 0;
  // Until it runs there (or ends): the user sees the move through.
  for (int failures = 0;;) {
    auto st = status_of(o, id, submit::TaskDetail::all, std::chrono::milliseconds(0));
    if (!st.ok()) {
      if (++failures > 30) {
        failed(st, o);
        return 1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      continue;
    }
    for (const auto& t : st->tasks) {
      if (t.id != task) continue;
      if (t.state == model::TaskState::running && t.host == to) {
        std::printf(
            "task %s runs on %s %.2f s after the request%s\n", task.c_str(), to.c_str(), since(),
            t.message.find("checkpoint") != std::string::npos ? ", resumed from its checkpoint"
                                                              : "");
        return 0;
      }
      if (model::is_final(t.state)) {
        std::printf("task %s ended %s on %s (%s)\n", task.c_str(),
                    std::string(model::to_string(t.state)).c_str(), t.host.c_str(),
                    t.message.c_str());
        return t.state == model::TaskState::done ? 0 : 1;
      }
    }
    if (since() > 600) {
      std::cerr << "fvce: task " << task << " is not running on " << to << " after 10 min\n";
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

int retry(const ClientOptions& o, const std::string& id) {
  auto out = run<Result<model::Submitted>>([&](asio::io_context& ioc) {
    return [](asio::io_context& ioc, const ClientOptions& o,
              std::string id) -> asio::awaitable<Result<model::Submitted>> {
      Session session(ioc, o);
      auto& client = session.client();
      auto r = remote(client, o);
      co_return co_await r.retry(std::move(id));
    }(ioc, o, id);
  });
  if (!out.ok()) {
    std::cerr << "fvce: " << o.node << ": " << out.status().message() << "\n";
    return 1;
  }
  std::cout << "workflow " << id << ": " << out->tasks
            << (out->tasks == 1 ? " task runs again\n" : " tasks run again\n");
  return 0;
}

int fetch(const ClientOptions& o, const std::string& id, const std::string& dir) {
  auto list = run<Result<model::ResultList>>([&](asio::io_context& ioc) {
    return [](asio::io_context& ioc, const ClientOptions& o,
              std::string id) -> asio::awaitable<Result<model::ResultList>> {
      Session session(ioc, o);
      auto& client = session.client();
      auto r = remote(client, o);
      co_return co_await r.results(std::move(id));
    }(ioc, o, id);
  });
  if (failed(list, o)) return 1;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    std::cerr << "fvce: cannot create " << dir << ": " << ec.message() << "\n";
    return 1;
  }
  int bad = 0;
  for (const auto& r : list->results) {
    fs::path dest = fs::path(dir) / r.name;
    if (auto s = file::make_parent_dirs(dest); !s.ok()) {
      std::cerr << "fvce: " << s.message() << "\n";
      ++bad;
      continue;
    }
    Random random(std::random_device{}());
    auto part = file::PartialFile::Create(dest, random);
    if (!part.ok()) {
      std::cerr << "fvce: " << dest.string() << ": " << part.status().message() << "\n";
      ++bad;
      continue;
    }
    // From the node whose store holds it (the workflow's owner), which may not be o.node.
    std::string from = r.source.empty() ? o.node : r.source;
    auto got = run<Result<file::Digest>>([&](asio::io_context& ioc) {
      return [](asio::io_context& ioc, ClientOptions o, std::string from, model::FileRef ref,
                file::PartialFile* into) -> asio::awaitable<Result<file::Digest>> {
        Session session(ioc, o);
        auto& client = session.client();
        file::FileRemote remote(client, from);
        auto reader = co_await remote.open_read(ref.path, 0, file::kToEnd);
        if (!reader.ok()) co_return reader.status();
        if ((*reader)->size() != ref.size)
          co_return Status::InvalidArgument("size mismatch: expected " + std::to_string(ref.size) +
                                            " bytes, the node has " +
                                            std::to_string((*reader)->size()));
        std::vector<char> chunk(file::kChunkSize);
        for (;;) {
          auto n = co_await (*reader)->read(chunk.data(), chunk.size());
          if (!n.ok()) co_return n.status();
          if (*n == 0) break;
          if (auto s = into->append(chunk.data(), *n); !s.ok()) co_return s;
        }
        co_return into->finish();
      }(ioc, o, from, r, &*part);
    });
    if (got.ok() && got->sha256 != r.sha256)
      got = Status::InvalidArgument("checksum mismatch: expected " + r.sha256 + ", got " +
                                    got->sha256);
    if (!got.ok()) {
      part->abandon();
      std::cerr << "fvce: " << r.name << ": " << got.status().message() << "\n";
      ++bad;
      continue;
    }
    if (auto s = part->commit(r.executable ? 0755 : 0644); !s.ok()) {
      std::cerr << "fvce: " << dest.string() << ": " << s.message() << "\n";
      ++bad;
      continue;
    }
    std::cout << dest.string() << "  " << format_bytes(r.size) << "  sha256 " << r.sha256
              << " ok\n";
  }
  if (list->results.empty()) std::cout << "workflow " << id << " declared no results\n";
  return bad ? 1 : 0;
}

}  // namespace fvce::cli
