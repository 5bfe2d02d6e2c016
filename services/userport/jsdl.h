// JSDL 1.0 (OGF GFD.56) job descriptions as fvce workflows (docs/applications.md, "JSDL").
//
// One JSDL job becomes a workflow of one task, "job": the POSIXApplication's Executable,
// Arguments and Environment; Input/Output/Error as redirections of a shell that then runs
// the program; DataStaging with a Source as an input <file> (a local name or a file: URI,
// read by `fvce submit` from the submitting side) and with a Target as a result brought back
// to the submitting node; TotalCPUCount/IndividualCPUCount as the task's cores,
// TotalPhysicalMemory/IndividualPhysicalMemory as its memory (the least value each range
// allows); WallTimeLimit as its time limit. JobName names the workflow; the descriptive
// elements (Description, JobAnnotation, JobProject, ApplicationName, ApplicationVersion)
// are read and dropped. Everything else is refused, naming the element and its line: fvce
// does not pretend to honour what it cannot (other URI schemes, file systems, user names,
// candidate hosts, other limits, extension elements).
//
// Pure and thread-safe; used by the user port (POST /api/workflows with "format": "jsdl")
// and by `fvce import --from jsdl`.
#pragma once

#include <string_view>

#include "node/core/status.h"
#include "node/model/workflow.h"

namespace fvce::userport {

inline constexpr std::string_view kJsdlNamespace = "http://schemas.ggf.org/jsdl/2005/11/jsdl";
inline constexpr std::string_view kJsdlPosixNamespace =
    "http://schemas.ggf.org/jsdl/2005/11/jsdl-posix";

// Converts a JSDL JobDefinition. Errors (invalid-argument): "LINE:COL: reason" when it is not
// valid against xsd/jsdl.xsd; "line N: <Element>: reason" for what fvce does not support;
// the planner's message when the job cannot run as written. The result's input files carry
// src (relative to the JSDL file) and no sha256: `fvce submit` fills those in.
Result<model::WorkflowDoc> jsdl_to_workflow(std::string_view xml);

}  // namespace fvce::userport
