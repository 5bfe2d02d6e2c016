// HTTP binding of the file service (see docs/file.md for every parameter and answer):
//   GET    /file/list?path=                          → <file-list>
//   GET    /file/stat?path=[&sha256=true]            → <file-entry>
//   GET    /file/find?path=&pattern=[&limit=]        → <file-list>
//   GET    /file/lines?path=&first=&last=            → text/plain
//   POST   /file/mkdir?path=                         → 204
//   DELETE /file/content?path=                       → 204
//   GET    /file/content?path=[&offset=&length=]     → the bytes (streamed), X-Fvce-Size
//   PUT    /file/content?path=   [X-Fvce-Sha256]     → 201 <file-entry> (streamed to disk)
//   PUT    /file/store?sha256=                       → 201 <file-entry>, 200 when present
//   GET    /file/store?sha256=                       → <file-entry> or 404
// Missing or malformed parameters are 400 naming the parameter, paths leaving the work root
// 403, missing files 404; every error is an <error> document.
#pragma once

#include <memory>

#include "node/http/router.h"
#include "services/file/logic.h"

namespace fvce::file {

// Registers the routes above on router. Contents stream through logic's readers and
// writers; an upload may be as large as logic->max_upload().
void add_routes(http::Router& router, std::shared_ptr<LocalFile> logic);

}  // namespace fvce::file
