// Fuzzes the workflow planner on documents that passed the schema, as a node receives them
// at POST /submit/workflows: array expansion, file names, dependencies, cycles, limits.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "node/model/codec.h"
#include "node/xml/schema.h"
#include "services/submit/plan.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  // Planning also runs on a document the schema would refuse: its checks must hold alone.
  auto doc = fvce::model::from_xml<fvce::model::WorkflowDoc>(text);
  if (!doc.ok()) return 0;
  // Array ranges the schema allows (7 digits) would make a run plan millions of tasks:
  // correct, but the fuzzer would spend its time there. The bound itself is unit-tested.
  std::size_t total = doc->tasks.size();
  for (const auto& a : doc->arrays)
    total +=
        a.tasks.size() * static_cast<std::size_t>(a.last >= a.first ? a.last - a.first + 1 : 0);
  if (total > 20000) return 0;
  auto plan = fvce::submit::plan_workflow(*doc);
  if (plan.ok()) {
    // What the planner accepts is a DAG whose names executors accept.
    for (const auto& t : plan->tasks) {
      for (const auto& in : t.inputs)
        if (!fvce::submit::check_file_name(in).ok()) __builtin_trap();
      for (int d : t.deps)
        if (d < 0 || static_cast<std::size_t>(d) >= plan->tasks.size()) __builtin_trap();
    }
  }
  return 0;
}
