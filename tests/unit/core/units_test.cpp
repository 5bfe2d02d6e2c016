#include "node/core/units.h"

#include <doctest/doctest.h>

#include <random>

#include "node/core/files.h"
#include "node/core/status.h"

namespace fvce {
namespace {

TEST_CASE("durations parse with their units") {
  CHECK(*parse_duration("500ms") == std::chrono::milliseconds(500));
  CHECK(*parse_duration("1s") == std::chrono::seconds(1));
  CHECK(*parse_duration("1.5s") == std::chrono::milliseconds(1500));
  CHECK(*parse_duration("2m") == std::chrono::minutes(2));
  CHECK(*parse_duration("24h") == std::chrono::hours(24));
  CHECK(*parse_duration("3") == std::chrono::seconds(3));
  CHECK_FALSE(parse_duration("fast").ok());
  CHECK_FALSE(parse_duration("5 parsecs").ok());
  CHECK_FALSE(parse_duration("-1s").ok());
  CHECK(parse_duration("10y").status().message().find("unknown unit 'y'") != std::string::npos);
}

TEST_CASE("sizes parse with binary units") {
  CHECK(*parse_size("4096") == 4096u);
  CHECK(*parse_size("64KiB") == 65536u);
  CHECK(*parse_size("8MiB") == 8u << 20);
  CHECK(*parse_size("2GiB") == 2ull << 30);
  CHECK(*parse_size("1.5GiB") == 3ull << 29);
  CHECK_FALSE(parse_size("lots").ok());
  CHECK_FALSE(parse_size("12 furlongs").ok());
}

TEST_CASE("formatting for people") {
  CHECK(format_bytes(512) == "512 B");
  CHECK(format_bytes(3ull << 30) == "3.0 GiB");
  CHECK(format_bytes(24ull << 30) == "24 GiB");
  CHECK(format_duration(std::chrono::milliseconds(850)) == "850ms");
  CHECK(format_duration(std::chrono::milliseconds(3200)) == "3.2s");
  CHECK(format_duration(std::chrono::seconds(245)) == "4m05s");
  CHECK(format_duration(std::chrono::minutes(130)) == "2h10m");
}

TEST_CASE("status codes map to HTTP and back") {
  CHECK(http_status(ErrorCode::invalid_argument) == 400);
  CHECK(http_status(ErrorCode::forbidden) == 403);
  CHECK(http_status(ErrorCode::conflict) == 409);
  CHECK(http_status(ErrorCode::too_large) == 413);
  CHECK(http_status(ErrorCode::unavailable) == 503);
  CHECK(error_code_from_string(to_string(ErrorCode::timeout)) == ErrorCode::timeout);
  CHECK(Status::NotFound("x").ToString() == "not-found: x");
  Result<int> r = Status::IOError("disk");
  CHECK_FALSE(r.ok());
  CHECK(r.status().code() == ErrorCode::io_error);
}

TEST_CASE("uuids are version 4 and distinct") {
  Random random(std::random_device{}());
  auto a = make_uuid(random), b = make_uuid(random);
  CHECK(a.size() == 36);
  CHECK(a[14] == '4');
  CHECK(std::string("89ab").find(a[19]) != std::string::npos);
  CHECK(a != b);
}

TEST_CASE("atomic writes replace the whole file") {
  Random random(std::random_device{}());
  auto dir = std::filesystem::temp_directory_path() / ("fvce-unit-" + make_uuid(random));
  std::filesystem::create_directories(dir);
  auto f = dir / "state";
  REQUIRE(write_file_atomic(f, "first").ok());
  REQUIRE(write_file_atomic(f, "second").ok());
  CHECK(*read_file(f) == "second");
  CHECK(read_file(dir / "absent").status().code() == ErrorCode::not_found);
  CHECK_FALSE(write_file_atomic(dir / "no" / "such" / "dir", "x").ok());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace fvce
