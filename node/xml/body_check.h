// The schema check a received body passes before it is decoded (http::parse_body).
//
// A node installs the XSD validator (schema.h, Xerces-C) when it starts, so every request
// body and every peer's answer it reads is checked against xsd/ first. The command-line
// client installs none: loading Xerces-C and compiling the schema would cost it about 15 ms
// at every start, more than the rest of a command. It decodes the node's answers with the
// codecs' own checks (each names the element and attribute it cannot read), and leaves the
// check of what a user submits to the node, which reports LINE:COL of the user's own text.
#pragma once

#include <string_view>

#include "node/core/status.h"

namespace fvce::xml {

// Checks text; on failure an invalid-argument Status "LINE:COL: reason".
using BodyCheck = Status (*)(std::string_view text);

// Installs the check for the whole process. Call it once, before any thread reads a body.
void set_body_check(BodyCheck check);

// Runs the installed check; Ok when the process installed none (the command-line client).
Status check_body(std::string_view text);

// Whether a check is installed.
bool has_body_check();

}  // namespace fvce::xml
