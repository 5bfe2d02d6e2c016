#include "services/userport/segy_image.h"

#include <doctest/doctest.h>
#include <png.h>
#include <segyio/segy.h>
#include <stdlib.h>

#include <array>
#include <boost/json.hpp>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <string>
#include <vector>

namespace fvce::userport {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

struct TempDir {
  fs::path path;
  TempDir() {
    std::string name = (fs::temp_directory_path() / "fvce-segy-test-XXXXXX").string();
    REQUIRE(mkdtemp(name.data()) != nullptr);
    path = name;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

// What a test file holds; trace i's samples come from sample(i, s).
struct TestSegy {
  int traces = 5;
  int samples = 50;
  int interval_us = 2000;
  int format = SEGY_IEEE_FLOAT_4_BYTE;
  bool little_endian = false;
  std::string text = "C 1 FVCE SEG-Y VIEWER TEST";
  std::function<float(int, int)> sample = [](int, int) { return 0.0f; };
  std::function<void(int, char*)> header = [](int, char*) {};
};

// Spikes: trace i has i + 1 at sample 10 and -(i + 1) / 2 at sample 20, zero elsewhere.
float spikes(int trace, int sample) {
  if (sample == 10) return float(trace + 1);
  if (sample == 20) return -0.5f * float(trace + 1);
  return 0;
}

void write_segy(const fs::path& path, const TestSegy& t) {
  segy_file* f = segy_open(path.c_str(), "w+b");
  REQUIRE(f != nullptr);
  if (t.little_endian) REQUIRE(segy_set_format(f, SEGY_LSB) == SEGY_OK);
  std::string text = t.text;
  text.resize(SEGY_TEXT_HEADER_SIZE, ' ');
  REQUIRE(segy_write_textheader(f, 0, text.c_str()) == SEGY_OK);
  char binary[SEGY_BINARY_HEADER_SIZE] = {};
  segy_set_bfield(binary, SEGY_BIN_JOB_ID, 17);
  segy_set_bfield(binary, SEGY_BIN_LINE_NUMBER, 3);
  segy_set_bfield(binary, SEGY_BIN_TRACES, t.traces);
  segy_set_bfield(binary, SEGY_BIN_INTERVAL, t.interval_us);
  segy_set_bfield(binary, SEGY_BIN_SAMPLES, t.samples);
  segy_set_bfield(binary, SEGY_BIN_FORMAT, t.format);
  segy_set_bfield(binary, SEGY_BIN_SORTING_CODE, 1);
  segy_set_bfield(binary, SEGY_BIN_MEASUREMENT_SYSTEM, 1);
  segy_set_bfield(binary, SEGY_BIN_SEGY_REVISION, 0x0100);
  segy_set_bfield(binary, SEGY_BIN_TRACE_FLAG, 1);
  REQUIRE(segy_write_binheader(f, binary) == SEGY_OK);
  REQUIRE(segy_set_format(f, t.format) == SEGY_OK);
  const long trace0 = SEGY_TEXT_HEADER_SIZE + SEGY_BINARY_HEADER_SIZE;
  const int bytes = segy_trsize(t.format, t.samples);
  std::vector<char> buffer(static_cast<size_t>(bytes));
  for (int i = 0; i < t.traces; ++i) {
    char header[SEGY_TRACE_HEADER_SIZE] = {};
    segy_set_field(header, SEGY_TR_SEQ_LINE, i + 1);
    segy_set_field(header, SEGY_TR_FIELD_RECORD, 7);
    segy_set_field(header, SEGY_TR_ENSEMBLE, 100 + i);
    segy_set_field(header, SEGY_TR_OFFSET, -200 - 10 * i);
    segy_set_field(header, SEGY_TR_SOURCE_GROUP_SCALAR, -100);
    segy_set_field(header, SEGY_TR_SOURCE_X, 300000);  // 3000 m
    segy_set_field(header, SEGY_TR_GROUP_X, 280000 - 1000 * i);
    segy_set_field(header, SEGY_TR_CDP_X, 290000 - 500 * i);
    segy_set_field(header, SEGY_TR_COORD_UNITS, 1);
    segy_set_field(header, SEGY_TR_SAMPLE_COUNT, t.samples);
    segy_set_field(header, SEGY_TR_SAMPLE_INTER, t.interval_us);
    t.header(i, header);
    REQUIRE(segy_write_traceheader(f, i, header, trace0, bytes) == SEGY_OK);
    for (int s = 0; s < t.samples; ++s) {
      const float v = t.sample(i, s);
      switch (t.format) {
        case SEGY_SIGNED_SHORT_2_BYTE: {
          const auto n = int16_t(v);
          std::memcpy(buffer.data() + 2 * s, &n, 2);
          break;
        }
        case SEGY_SIGNED_INTEGER_4_BYTE: {
          const auto n = int32_t(v);
          std::memcpy(buffer.data() + 4 * s, &n, 4);
          break;
        }
        default:
          std::memcpy(buffer.data() + 4 * s, &v, 4);
      }
    }
    REQUIRE(segy_from_native(t.format, t.samples, buffer.data()) == SEGY_OK);
    REQUIRE(segy_writetrace(f, i, buffer.data(), trace0, bytes) == SEGY_OK);
  }
  REQUIRE(segy_close(f) == SEGY_OK);
}

void put(const fs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

struct Image {
  unsigned width = 0, height = 0;
  std::vector<unsigned char> rgb;
  std::array<int, 3> at(unsigned x, unsigned y) const {
    const size_t i = (size_t(y) * width + x) * 3;
    return {rgb[i], rgb[i + 1], rgb[i + 2]};
  }
};

Image decode(const std::string& png) {
  png_image image;
  std::memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  REQUIRE(png_image_begin_read_from_memory(&image, png.data(), png.size()) != 0);
  image.format = PNG_FORMAT_RGB;
  Image out;
  out.width = image.width;
  out.height = image.height;
  out.rgb.resize(PNG_IMAGE_SIZE(image));
  REQUIRE(png_image_finish_read(&image, nullptr, out.rgb.data(), 0, nullptr) != 0);
  return out;
}

constexpr std::array<int, 3> kWhite = {255, 255, 255};
constexpr std::array<int, 3> kBlack = {0, 0, 0};
constexpr std::array<int, 3> kMidGrey = {128, 128, 128};

TEST_CASE("a SEG-Y summary gives the file's geometry, samples and headers exactly") {
  TempDir dir;
  TestSegy t;
  t.sample = spikes;
  write_segy(dir.path / "shot.sgy", t);

  auto summary = segy_summary(dir.path / "shot.sgy");
  REQUIRE_MESSAGE(summary.ok(), summary.status().ToString());
  CHECK(summary->traces == 5);
  CHECK(summary->samples == 50);
  CHECK(summary->interval_us == 2000);
  CHECK(summary->format_code == 5);
  CHECK(summary->format == "ieee-float");
  CHECK_FALSE(summary->little_endian);
  CHECK(summary->text_ebcdic);
  CHECK(summary->text.size() == 3200);
  CHECK(summary->text.rfind("C 1 FVCE SEG-Y VIEWER TEST", 0) == 0);
  CHECK(*summary->min == -2.5);
  CHECK(*summary->max == 5);
  // Squares: (1 + 1/4) · (1 + 4 + 9 + 16 + 25) over 250 samples.
  CHECK(*summary->rms == doctest::Approx(std::sqrt(1.25 * 55 / 250)));
  CHECK(summary->nonfinite == 0);
  CHECK(summary->stats_traces == 5);
  CHECK(summary->binary.job_id == 17);
  CHECK(summary->binary.line_number == 3);
  CHECK(summary->binary.revision == 0x0100);
  CHECK(summary->binary.measurement_system == 1);

  const SegyTraceHeaders& h = summary->headers;
  CHECK(h.traces_read == 5);
  CHECK(h.source_x.min == 3000);
  CHECK(h.source_x.max == 3000);
  CHECK(h.group_x.min == 2760);
  CHECK(h.group_x.max == 2800);
  CHECK(h.cdp_x.min == 2880);
  CHECK(h.cdp_x.max == 2900);
  CHECK(h.offset.min == -240);
  CHECK(h.offset.max == -200);
  CHECK(h.cdp.min == 100);
  CHECK(h.cdp.max == 104);
  CHECK(h.ffid.min == 7);
  CHECK(h.ffid.max == 7);
  CHECK_FALSE(h.inline_number.has_value());
  CHECK_FALSE(h.crossline.has_value());
  CHECK(h.coordinate_scalar == -100);
  CHECK(h.coordinate_units == 1);
  CHECK(h.sample_count_mismatches == 0);

  const json::object j = to_json(*summary).as_object();
  CHECK(j.at("traces").to_number<int>() == 5);
  CHECK(j.at("samples").to_number<int>() == 50);
  CHECK(j.at("interval_us").to_number<double>() == 2000);
  CHECK(j.at("format").as_string() == "ieee-float");
  CHECK(j.at("byte_order").as_string() == "big");
  CHECK(j.at("min").to_number<double>() == -2.5);
  CHECK(j.at("max").to_number<double>() == 5);
  CHECK(j.at("text").as_array().size() == 40);
  CHECK(j.at("text").as_array()[0].as_string() == "C 1 FVCE SEG-Y VIEWER TEST");
  CHECK(j.at("text_encoding").as_string() == "ebcdic");
  CHECK(j.at("binary").at("job_id").to_number<int>() == 17);
  const json::object& headers = j.at("headers").as_object();
  CHECK(headers.at("offset").at("min").to_number<double>() == -240);
  CHECK(headers.at("group_x").at("max").to_number<double>() == 2800);
  CHECK_FALSE(headers.contains("inline"));
}

TEST_CASE("a SEG-Y summary reads inline and crossline numbers when present") {
  TempDir dir;
  TestSegy t;
  t.header = [](int i, char* header) {
    segy_set_field(header, SEGY_TR_INLINE, 1000 + i / 2);
    segy_set_field(header, SEGY_TR_CROSSLINE, 2000 + i % 2);
    segy_set_field(header, SEGY_TR_SAMPLE_COUNT, i == 3 ? 49 : 50);
  };
  write_segy(dir.path / "cube.sgy", t);
  auto summary = segy_summary(dir.path / "cube.sgy");
  REQUIRE(summary.ok());
  REQUIRE(summary->headers.inline_number.has_value());
  CHECK(summary->headers.inline_number->min == 1000);
  CHECK(summary->headers.inline_number->max == 1002);
  REQUIRE(summary->headers.crossline.has_value());
  CHECK(summary->headers.crossline->max == 2001);
  CHECK(summary->headers.sample_count_mismatches == 1);
  CHECK(to_json(*summary).at("headers").at("inline").at("max").to_number<int>() == 1002);
}

TEST_CASE("SEG-Y samples in IBM float, integers and little-endian files are read") {
  TempDir dir;
  TestSegy t;
  t.sample = spikes;
  struct Case {
    int format;
    bool little_endian;
    const char* name;
  };
  for (Case c : {Case{SEGY_IBM_FLOAT_4_BYTE, false, "ibm-float"},
                 Case{SEGY_SIGNED_INTEGER_4_BYTE, false, "int32"},
                 Case{SEGY_IEEE_FLOAT_4_BYTE, true, "ieee-float"}}) {
    CAPTURE(c.name);
    t.format = c.format;
    t.little_endian = c.little_endian;
    t.sample = [](int i, int s) { return s == 10 ? float(2 * (i + 1)) : s == 20 ? -1.0f : 0.0f; };
    const fs::path path = dir.path / (std::string(c.name) + ".sgy");
    write_segy(path, t);
    auto summary = segy_summary(path);
    REQUIRE_MESSAGE(summary.ok(), summary.status().ToString());
    CHECK(summary->format == c.name);
    CHECK(summary->little_endian == c.little_endian);
    CHECK(summary->samples == 50);
    CHECK(*summary->min == -1);
    CHECK(*summary->max == 10);
    CHECK(summary->headers.offset.min == -240);
  }
  t.format = SEGY_SIGNED_SHORT_2_BYTE;
  t.little_endian = false;
  t.sample = [](int i, int s) { return s == 0 ? float(-300 * (i + 1)) : 7.0f; };
  write_segy(dir.path / "int16.sgy", t);
  auto summary = segy_summary(dir.path / "int16.sgy");
  REQUIRE(summary.ok());
  CHECK(summary->format == "int16");
  CHECK(*summary->min == -1500);
  CHECK(*summary->max == 7);
}

TEST_CASE("an ASCII textual header is shown as it is") {
  TempDir dir;
  write_segy(dir.path / "ascii.sgy", TestSegy());
  std::string bytes = slurp(dir.path / "ascii.sgy");
  std::string text = "C 1 WRITTEN IN ASCII";
  text.resize(SEGY_TEXT_HEADER_SIZE, ' ');
  bytes.replace(0, text.size(), text);
  put(dir.path / "ascii.sgy", bytes);
  auto summary = segy_summary(dir.path / "ascii.sgy");
  REQUIRE(summary.ok());
  CHECK_FALSE(summary->text_ebcdic);
  CHECK(summary->text.rfind("C 1 WRITTEN IN ASCII  ", 0) == 0);
  CHECK(to_json(*summary).at("text_encoding").as_string() == "ascii");
}

TEST_CASE("a SEG-Y image has a column band per trace and a row per sample") {
  TempDir dir;
  TestSegy t;
  t.sample = spikes;
  write_segy(dir.path / "shot.sgy", t);

  // 5 traces widened to the minimum width of 600: 120 pixels each.
  auto png = segy_png(dir.path / "shot.sgy");
  REQUIRE_MESSAGE(png.ok(), png.status().ToString());
  CHECK(png->rfind("\x89PNG", 0) == 0);
  Image grey = decode(*png);
  CHECK(grey.width == 600);
  CHECK(grey.height == 50);
  // Clip at the 99th percentile of 250 |amplitudes| (240 zeros, then 0.5 … 5): the 248th, 3.
  CHECK(grey.at(0, 0) == kMidGrey);                 // zero
  CHECK(grey.at(599, 10) == kBlack);                // +5, clipped
  CHECK(grey.at(600 - 120, 10) == kBlack);          // trace 4 starts at x = 480
  CHECK(grey.at(479, 10) == std::array{0, 0, 0});   // trace 3: +4, clipped
  CHECK(grey.at(0, 10) == std::array{85, 85, 85});  // trace 0: +1 = clip / 3
  CHECK(grey.at(119, 10) == std::array{85, 85, 85});
  CHECK(grey.at(120, 10) == std::array{43, 43, 43});     // trace 1: +2
  CHECK(grey.at(599, 20) == std::array{234, 234, 234});  // -2.5
  CHECK(grey.at(0, 20) == std::array{149, 149, 149});    // -0.5

  SegyImageOptions options;
  options.palette = SegyPalette::redblue;
  png = segy_png(dir.path / "shot.sgy", options);
  REQUIRE(png.ok());
  Image redblue = decode(*png);
  CHECK(redblue.at(0, 0) == kWhite);
  CHECK(redblue.at(599, 10) == std::array{255, 0, 0});
  CHECK(redblue.at(0, 10) == std::array{255, 170, 170});
  CHECK(redblue.at(120, 20) == std::array{170, 170, 255});  // trace 1: -1
}

TEST_CASE("a SEG-Y image clips at the chosen percentile of amplitude") {
  TempDir dir;
  TestSegy t;
  t.sample = spikes;
  write_segy(dir.path / "shot.sgy", t);
  SegyImageOptions options;
  options.clip = 100;  // the largest |amplitude|, 5
  auto png = segy_png(dir.path / "shot.sgy", options);
  REQUIRE(png.ok());
  Image image = decode(*png);
  CHECK(image.at(599, 10) == kBlack);
  CHECK(image.at(479, 10) != kBlack);                   // trace 3: 4 of 5
  CHECK(image.at(0, 10) == std::array{102, 102, 102});  // 1 / 5

  options.clip = 97;  // the 243rd of 250: 1
  png = segy_png(dir.path / "shot.sgy", options);
  REQUIRE(png.ok());
  image = decode(*png);
  CHECK(image.at(0, 10) == kBlack);
  CHECK(image.at(0, 20) == std::array{191, 191, 191});  // -0.5

  options.clip = 0;
  CHECK(segy_png(dir.path / "shot.sgy", options).status().code() == ErrorCode::invalid_argument);
  options.clip = 101;
  CHECK(segy_png(dir.path / "shot.sgy", options).status().code() == ErrorCode::invalid_argument);
}

TEST_CASE("a large SEG-Y is averaged into the image's maximum size") {
  TempDir dir;
  TestSegy t;
  t.traces = 300;
  t.samples = 400;
  // Columns of 3 traces; only the middle trace of each triple carries a spike at sample 0.
  t.sample = [](int i, int s) { return s < 4 && i % 3 == 1 ? 3.0f : 0.0f; };
  write_segy(dir.path / "big.sgy", t);
  SegyImageOptions options;
  options.max_width = 100;
  options.max_height = 100;
  options.clip = 100;
  auto png = segy_png(dir.path / "big.sgy", options);
  REQUIRE(png.ok());
  Image image = decode(*png);
  CHECK(image.width == 100);
  CHECK(image.height == 100);
  // Each pixel: 3 traces × 4 samples averaged, = 1 everywhere in row 0: the clip, black.
  for (unsigned x : {0u, 50u, 99u}) CHECK(image.at(x, 0) == kBlack);
  CHECK(image.at(50, 1) == kMidGrey);

  // A trace range: traces 1 and 2 only, 2 traces widened to 300 pixels each.
  options.first_trace = 1;
  options.trace_count = 2;
  options.max_width = 2000;
  png = segy_png(dir.path / "big.sgy", options);
  REQUIRE(png.ok());
  image = decode(*png);
  CHECK(image.width == 600);
  CHECK(image.at(0, 0) == kBlack);
  CHECK(image.at(300, 0) == kMidGrey);
  options.first_trace = 300;
  auto bad = segy_png(dir.path / "big.sgy", options);
  CHECK(bad.status().code() == ErrorCode::invalid_argument);
  CHECK(bad.status().message().find("has 300 traces") != std::string::npos);

  // Few traces in a narrow image: as wide as allowed, at least one pixel a trace.
  options = SegyImageOptions();
  options.max_width = 500;
  png = segy_png(dir.path / "big.sgy", options);
  REQUIRE(png.ok());
  CHECK(decode(*png).width == 300);
}

TEST_CASE("a SEG-Y summary of a huge file samples its traces within the limits") {
  TempDir dir;
  TestSegy t;
  t.traces = 10;
  t.sample = spikes;
  write_segy(dir.path / "shot.sgy", t);
  SegySummaryLimits limits;
  limits.max_header_traces = 3;
  limits.max_sample_bytes = 2 * 50 * 4;  // two traces
  auto summary = segy_summary(dir.path / "shot.sgy", limits);
  REQUIRE(summary.ok());
  CHECK(summary->traces == 10);
  CHECK(summary->headers.traces_read == 3);
  CHECK(summary->stats_traces == 2);  // traces 0 and 5
  CHECK(*summary->max == 6);
  CHECK(to_json(*summary).at("stats_traces").to_number<int>() == 2);
}

TEST_CASE("NaN samples are counted and left out of the statistics and the image") {
  TempDir dir;
  TestSegy t;
  t.sample = [](int i, int s) {
    if (i == 2) return std::numeric_limits<float>::quiet_NaN();
    return s == 10 ? 1.0f : 0.0f;
  };
  write_segy(dir.path / "nan.sgy", t);
  auto summary = segy_summary(dir.path / "nan.sgy");
  REQUIRE(summary.ok());
  CHECK(summary->nonfinite == 50);
  CHECK(*summary->max == 1);
  CHECK(*summary->min == 0);
  auto png = segy_png(dir.path / "nan.sgy");
  REQUIRE(png.ok());
  Image image = decode(*png);
  CHECK(image.at(0, 10) == kBlack);
  CHECK(image.at(300, 10) == kMidGrey);  // trace 2, all NaN, drawn as zero

  t.sample = [](int, int) { return std::numeric_limits<float>::quiet_NaN(); };
  write_segy(dir.path / "all-nan.sgy", t);
  summary = segy_summary(dir.path / "all-nan.sgy");
  REQUIRE(summary.ok());
  CHECK_FALSE(summary->max.has_value());
  CHECK(to_json(*summary).at("rms").is_null());
  png = segy_png(dir.path / "all-nan.sgy");
  REQUIRE(png.ok());
  CHECK(decode(*png).at(0, 0) == kMidGrey);
}

TEST_CASE("bad SEG-Y input is refused naming the file and what is wrong") {
  TempDir dir;
  const fs::path missing = dir.path / "missing.sgy";
  CHECK(segy_summary(missing).status().code() == ErrorCode::not_found);
  CHECK(segy_png(missing).status().code() == ErrorCode::not_found);
  CHECK(segy_summary(dir.path).status().message().find("not a regular file") != std::string::npos);

  auto refused = [&](const fs::path& path, const std::string& what) {
    CAPTURE(path);
    for (Status s : {segy_summary(path).status(), segy_png(path).status()}) {
      CHECK(s.code() == ErrorCode::invalid_argument);
      CHECK_MESSAGE(s.message().find(path.string() + ": ") == 0, s.message());
      CHECK_MESSAGE(s.message().find(what) != std::string::npos, s.message());
    }
  };
  put(dir.path / "short.sgy", "SEG-Y? no");
  refused(dir.path / "short.sgy", "shorter than the 3600 bytes");

  std::string garbage;
  for (int i = 0; i < 5000; ++i) garbage += char((i * 7919) % 251);
  put(dir.path / "garbage.sgy", garbage);
  refused(dir.path / "garbage.sgy", "sample format code");

  TestSegy t;
  write_segy(dir.path / "whole.sgy", t);
  std::string bytes = slurp(dir.path / "whole.sgy");
  put(dir.path / "truncated.sgy", bytes.substr(0, bytes.size() - 10));
  refused(dir.path / "truncated.sgy", "truncated");

  std::string zero = bytes.substr(0, 3600);
  zero[3220] = zero[3221] = 0;  // the binary header's sample count
  put(dir.path / "no-samples.sgy", zero);
  refused(dir.path / "no-samples.sgy", "number of samples");

  t.format = SEGY_FIXED_POINT_WITH_GAIN_4_BYTE;
  write_segy(dir.path / "fixed.sgy", t);
  refused(dir.path / "fixed.sgy", "format 4");
}

TEST_CASE("a SEG-Y file without traces has a summary but no image") {
  TempDir dir;
  TestSegy t;
  t.traces = 0;
  write_segy(dir.path / "empty.sgy", t);
  auto summary = segy_summary(dir.path / "empty.sgy");
  REQUIRE_MESSAGE(summary.ok(), summary.status().ToString());
  CHECK(summary->traces == 0);
  CHECK(summary->samples == 50);
  CHECK(summary->interval_us == 2000);
  CHECK_FALSE(summary->min.has_value());
  auto png = segy_png(dir.path / "empty.sgy");
  CHECK(png.status().code() == ErrorCode::invalid_argument);
  CHECK(png.status().message().find("has no traces") != std::string::npos);
}

TEST_CASE("SEG-Y palettes parse by name") {
  CHECK(*parse_segy_palette("grey") == SegyPalette::grey);
  CHECK(*parse_segy_palette("gray") == SegyPalette::grey);
  CHECK(*parse_segy_palette("redblue") == SegyPalette::redblue);
  auto bad = parse_segy_palette("rainbow");
  CHECK(bad.status().code() == ErrorCode::invalid_argument);
  CHECK(bad.status().message().find("grey or redblue") != std::string::npos);
}

}  // namespace
}  // namespace fvce::userport
