#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include "node/xml/body_check.h"
#include "node/xml/schema.h"

namespace {
// The unit tests read bodies as a node does: checked against xsd/ first.
const bool kBodyCheck = (fvce::xml::set_body_check(&fvce::xml::validate_body), true);
}  // namespace
