#include "services/file/register_impls.h"

#include <string>
#include <vector>

#include "services/file/impl/local.h"

namespace fvce::file {
namespace {

using deploy::Params;
using deploy::ParamSpec;

Status bad(const Params& params, const std::string& name, const std::string& why) {
  return Status::InvalidArgument(params.where(name) + ": parameter '" + name + "' of service '" +
                                 params.service() + "': " + why);
}

Result<std::shared_ptr<LocalFile>> build_local(const Params& params, NodeContext& ctx) {
  LocalFileOptions options;
  // A directory parameter: `fallback` in the state directory when not given, and a
  // relative one taken from the state directory.
  auto directory = [&](const char* name, const char* fallback) {
    std::filesystem::path dir = params.text(name);
    return dir.empty() ? ctx.state_dir / fallback : dir.is_relative() ? ctx.state_dir / dir : dir;
  };
  options.work_root = directory("work-root", "work");
  options.capture_root = directory("capture-root", "captures");
  auto max_upload = params.size("max-upload");
  if (!max_upload.ok()) return max_upload.status();
  if (*max_upload == 0) return bad(params, "max-upload", "must be above 0");
  options.max_upload = *max_upload;
  auto list_limit = params.integer("list-limit", 1, 10'000'000);
  if (!list_limit.ok()) return list_limit.status();
  options.list_limit = static_cast<std::size_t>(*list_limit);

  auto service = LocalFileService::Create(ctx, std::move(options));
  if (!service.ok()) return bad(params, "work-root", service.status().message());
  return std::shared_ptr<LocalFile>(std::move(*service));
}

}  // namespace

void register_file_impls(FileRegistry& registry) {
  std::vector<ParamSpec> local = {
      {"work-root", "",
       "the directory holding the store and the task work directories (default: "
       "<state-dir>/work; a relative path is taken from the state directory)",
       false},
      {"capture-root", "",
       "the directory holding the tasks' captured stdout and stderr (default: "
       "<state-dir>/captures, off a work root elsewhere, so a full work root cannot swallow a "
       "task's error messages; a relative path is taken from the state directory)",
       false},
      {"max-upload", "64GiB",
       "the largest file one upload (PUT /file/content or /file/store) may carry (a size above "
       "0, e.g. 8GiB)",
       false},
      {"list-limit", "10000",
       "the most entries one listing or find answers (a whole number, 1..10000000); more are "
       "reported as truncated",
       false},
  };
  registry.add("local",
               "a work directory on this host's file system: a content-addressed store, task "
               "work directories, streamed and checksummed transfers between nodes",
               std::move(local), build_local);
}

}  // namespace fvce::file
