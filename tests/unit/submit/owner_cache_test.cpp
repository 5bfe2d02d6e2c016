// The node-wide cache of which member owns which workflow (federated.h).
#include <doctest/doctest.h>

#include "services/submit/federated.h"

namespace fvce::submit {
namespace {

model::Member member(const std::string& name) {
  model::Member m;
  m.id = "id-" + name;
  m.name = name;
  m.address = "127.0.0.1:" + std::to_string(7000 + name.size());
  return m;
}

TEST_CASE("the owner cache remembers a workflow's member and user, then forgets it") {
  OwnerCache cache;
  CHECK_FALSE(cache.find("wf-1").has_value());
  cache.put_user("wf-1", "alice");  // no member known yet: nothing is kept
  CHECK_FALSE(cache.find("wf-1").has_value());
  cache.put_member("wf-1", member("n2"));
  auto e = cache.find("wf-1");
  REQUIRE(e.has_value());
  CHECK(e->member.name == "n2");
  CHECK(e->user.empty());
  cache.put_user("wf-1", "alice");
  CHECK(cache.find("wf-1")->user == "alice");
  cache.put_member("wf-1", member("n3"));  // learned again: the member changes, the user stays
  CHECK(cache.find("wf-1")->member.name == "n3");
  CHECK(cache.find("wf-1")->user == "alice");
  cache.forget("wf-1");
  CHECK_FALSE(cache.find("wf-1").has_value());
}

TEST_CASE("the owner cache is bounded: the oldest entries go first") {
  OwnerCache cache(3);
  for (int i = 0; i < 5; ++i) cache.put_member("wf-" + std::to_string(i), member("n1"));
  CHECK_FALSE(cache.find("wf-0").has_value());
  CHECK_FALSE(cache.find("wf-1").has_value());
  for (int i = 2; i < 5; ++i) CHECK(cache.find("wf-" + std::to_string(i)).has_value());
  cache.put_member("wf-2", member("n2"));  // known already: not younger for that
  cache.put_member("wf-5", member("n1"));
  CHECK_FALSE(cache.find("wf-2").has_value());
  CHECK(cache.find("wf-5").has_value());
}

}  // namespace
}  // namespace fvce::submit
