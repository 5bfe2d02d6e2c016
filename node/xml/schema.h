// Schema validation of every document fvce reads: request bodies, peers' answers and
// deploy.xml. The XSDs in xsd/ are compiled into the binary, loaded once into a locked
// Xerces-C grammar pool and shared by all threads; each thread keeps its own parser.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "node/core/status.h"

namespace fvce::xml {

struct EmbeddedFile {
  std::string_view name;
  std::string_view text;
};
// The files of xsd/, embedded at build time (generated source).
const std::vector<EmbeddedFile>& embedded_schemas();

// A validation failure, located in the document.
struct ValidationError {
  int line = 0;
  int column = 0;
  std::string reason;
};

struct ThreadGrammar;  // schema.cpp: one thread's compiled grammar

class SchemaSet {
 public:
  // The process-wide schema set. The first call loads and compiles the grammar (and
  // initialises Xerces-C); later calls are cheap. Thread-safe.
  static const SchemaSet& instance();

  // Validates text against the fvce schema. On failure returns an invalid-argument Status
  // "LINE:COL: reason" (prefixed with "source:" when source is not empty) and, when
  // where is given, fills it. DOCTYPE declarations and external entities are refused.
  // Thread-safe.
  Status validate(std::string_view text, std::string_view source = {},
                  ValidationError* where = nullptr) const;

  // As validate(), against another schema embedded from xsd/ (named by its file name, e.g.
  // "jsdl.xsd"): a document format fvce reads but that is not part of its own wire. Each
  // thread compiles that schema once, on first use. internal when no such file is embedded.
  Status validate_with(std::string_view schema, std::string_view text, std::string_view source = {},
                       ValidationError* where = nullptr) const;

  // Checks only that text is well-formed XML within the shape limits (limits.h: depth,
  // element count, attribute and text length), with the same refusals of DOCTYPE and
  // entities, but not against the schema. validate() applies the same limits; this is the
  // parser's half alone (the schema usually objects first).
  Status check_shape(std::string_view text, ValidationError* where = nullptr) const;

 private:
  SchemaSet();
  Status parse(std::string_view text, std::string_view source, ValidationError* where,
               bool validate) const;
  Status parse(ThreadGrammar& grammar, std::string_view text, std::string_view source,
               ValidationError* where, bool validate) const;
  struct Impl;
  Impl* impl_;  // lives for the whole process
};

// SchemaSet::instance().validate(text): the body check a node installs (body_check.h).
Status validate_body(std::string_view text);

}  // namespace fvce::xml
