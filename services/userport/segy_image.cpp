#include "services/userport/segy_image.h"

#include <png.h>
#include <segyio/segy.h>

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <cerrno>
#include <cmath>
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <memory>
#include <string_view>
#include <system_error>
#include <vector>

namespace fvce::userport {

namespace fs = std::filesystem;

namespace {

constexpr long kHeadersSize = SEGY_TEXT_HEADER_SIZE + SEGY_BINARY_HEADER_SIZE;
// Options beyond these would let one request allocate hundreds of MB.
constexpr int kMaxImageSide = 4096;
// Sample bytes an image reads beyond one trace per column (which it always reads).
constexpr std::int64_t kMaxImageReadBytes = 256 << 20;

struct SegyCloser {
  void operator()(segy_file* file) const { segy_close(file); }
};
using SegyHandle = std::unique_ptr<segy_file, SegyCloser>;

// An open SEG-Y file whose headers made sense.
struct OpenSegy {
  SegyHandle file;
  std::string name;  // the path, for messages
  std::array<char, SEGY_BINARY_HEADER_SIZE> binary{};
  bool little_endian = false;
  int format = 0;
  int samples = 0;
  float interval_us = 0;
  long trace0 = 0;
  int trace_bytes = 0;  // the samples of one trace, without its header
  std::int64_t traces = 0;
};

std::string format_name(int code) {
  switch (code) {
    case SEGY_IBM_FLOAT_4_BYTE:
      return "ibm-float";
    case SEGY_SIGNED_INTEGER_4_BYTE:
      return "int32";
    case SEGY_SIGNED_SHORT_2_BYTE:
      return "int16";
    case SEGY_FIXED_POINT_WITH_GAIN_4_BYTE:
      return "fixed-gain";
    case SEGY_IEEE_FLOAT_4_BYTE:
      return "ieee-float";
    case SEGY_SIGNED_CHAR_1_BYTE:
      return "int8";
    default:
      return "unknown";
  }
}

bool known_format(int code) {
  return format_name(code) != "unknown";
}

int bfield(const char* binary, int field) {
  int32_t value = 0;
  segy_get_bfield(binary, field, &value);
  return value;
}

int tfield(const char* header, int field) {
  int32_t value = 0;
  segy_get_field(header, field, &value);
  return value;
}

// SEG-Y keeps counts in 2-byte fields, which segyio reads as signed.
int unsigned16(int value) {
  return value < 0 ? value + 65536 : value;
}

std::string segyio_error(int code) {
  return " (segyio error " + std::to_string(code) + ")";
}

Status not_segy(const OpenSegy& f, const std::string& what) {
  return Status::InvalidArgument(f.name + ": not a readable SEG-Y file: " + what);
}

Result<OpenSegy> open_segy(const fs::path& path) {
  OpenSegy f;
  f.name = path.string();
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (ec || !fs::exists(status)) return Status::NotFound(f.name + ": no such file");
  if (!fs::is_regular_file(status)) {
    return Status::InvalidArgument(f.name + ": not a regular file");
  }
  const auto size = std::int64_t(fs::file_size(path, ec));
  if (ec) return Status::IOError(f.name + ": cannot read its size: " + ec.message());
  if (size < kHeadersSize) {
    return not_segy(f, std::to_string(size) + " bytes, shorter than the " +
                           std::to_string(kHeadersSize) +
                           " bytes of its textual and binary headers");
  }
  f.file.reset(segy_open(f.name.c_str(), "rb"));
  if (!f.file) return Status::IOError(f.name + ": cannot open: " + std::strerror(errno));

  int rc = segy_binheader(f.file.get(), f.binary.data());
  if (rc != SEGY_OK)
    return Status::IOError(f.name + ": cannot read the binary header" + segyio_error(rc));
  const int big_format = segy_format(f.binary.data());
  if (!known_format(big_format)) {
    // Seismic Unix and some rev 2 writers store the headers little-endian.
    rc = segy_set_format(f.file.get(), SEGY_LSB);
    if (rc == SEGY_OK) rc = segy_binheader(f.file.get(), f.binary.data());
    if (rc != SEGY_OK)
      return Status::IOError(f.name + ": cannot read the binary header" + segyio_error(rc));
    const int little_format = segy_format(f.binary.data());
    if (!known_format(little_format)) {
      return not_segy(f, "the binary header's sample format code (bytes 3225-3226) is " +
                             std::to_string(big_format) + " read big-endian and " +
                             std::to_string(little_format) +
                             " little-endian, not one of 1, 2, 3, 5, 8");
    }
    f.little_endian = true;
  }
  f.format = segy_format(f.binary.data());
  if (f.format == SEGY_FIXED_POINT_WITH_GAIN_4_BYTE) {
    return Status::InvalidArgument(f.name +
                                   ": sample format 4 (fixed point with gain, obsolete) is not "
                                   "supported; formats 1, 2, 3, 5 and 8 are");
  }
  const int ext_headers = bfield(f.binary.data(), SEGY_BIN_EXT_HEADERS);
  if (ext_headers < 0) {
    return not_segy(f, "a variable number of extended textual headers (" +
                           std::to_string(ext_headers) + ") is not supported");
  }
  f.trace0 = segy_trace0(f.binary.data());
  if (f.trace0 > size) {
    return not_segy(f, "the binary header announces " + std::to_string(ext_headers) +
                           " extended textual headers, more than the file holds");
  }

  f.samples = unsigned16(segy_samples(f.binary.data()));
  if (f.samples == 0 && size >= f.trace0 + SEGY_TRACE_HEADER_SIZE) {
    char header[SEGY_TRACE_HEADER_SIZE];
    rc = segy_traceheader(f.file.get(), 0, header, f.trace0, 0);
    if (rc != SEGY_OK)
      return Status::IOError(f.name + ": cannot read trace header 0" + segyio_error(rc));
    f.samples = unsigned16(tfield(header, SEGY_TR_SAMPLE_COUNT));
  }
  if (f.samples == 0) {
    return not_segy(f,
                    "neither the binary header nor the first trace header gives the number "
                    "of samples per trace");
  }
  rc = segy_set_format(f.file.get(), f.format);
  if (rc != SEGY_OK) return Status::Internal(f.name + ": segy_set_format" + segyio_error(rc));
  f.trace_bytes = segy_trsize(f.format, f.samples);

  int traces = 0;
  rc = segy_traces(f.file.get(), &traces, f.trace0, f.trace_bytes);
  if (rc == SEGY_TRACE_SIZE_MISMATCH) {
    const std::int64_t stride = f.trace_bytes + SEGY_TRACE_HEADER_SIZE;
    const std::int64_t data = size - f.trace0;
    return Status::InvalidArgument(
        f.name + ": truncated, or not SEG-Y: the " + std::to_string(data) +
        " bytes after the headers are not a whole number of traces of " + std::to_string(stride) +
        " bytes (240 + " + std::to_string(f.samples) + " samples of " + format_name(f.format) +
        "), but " + std::to_string(data / stride) + " traces and " + std::to_string(data % stride) +
        " bytes");
  }
  if (rc != SEGY_OK)
    return Status::IOError(f.name + ": cannot count the traces" + segyio_error(rc));
  f.traces = traces;

  rc = f.traces > 0 ? segy_sample_interval(f.file.get(), 0, &f.interval_us) : SEGY_OK;
  if (rc != SEGY_OK)
    return Status::IOError(f.name + ": cannot read the sample interval" + segyio_error(rc));
  if (f.traces == 0) f.interval_us = float(unsigned16(bfield(f.binary.data(), SEGY_BIN_INTERVAL)));
  return f;
}

// Reads trace i into samples (f.samples floats).
Status read_trace(const OpenSegy& f, std::int64_t i, std::vector<char>& raw,
                  std::vector<float>& samples) {
  raw.resize(size_t(f.trace_bytes));
  samples.resize(size_t(f.samples));
  int rc = segy_readtrace(f.file.get(), int(i), raw.data(), f.trace0, f.trace_bytes);
  if (rc == SEGY_OK) rc = segy_to_native(f.format, f.samples, raw.data());
  if (rc != SEGY_OK) {
    return Status::IOError(f.name + ": cannot read trace " + std::to_string(i) + segyio_error(rc));
  }
  const char* p = raw.data();
  for (int s = 0; s < f.samples; ++s) {
    switch (f.format) {
      case SEGY_SIGNED_INTEGER_4_BYTE: {
        int32_t v;
        std::memcpy(&v, p + 4 * s, 4);
        samples[s] = float(v);
        break;
      }
      case SEGY_SIGNED_SHORT_2_BYTE: {
        int16_t v;
        std::memcpy(&v, p + 2 * s, 2);
        samples[s] = float(v);
        break;
      }
      case SEGY_SIGNED_CHAR_1_BYTE:
        samples[s] = float(static_cast<signed char>(p[s]));
        break;
      default:  // IBM float, converted by segy_to_native, and IEEE float
        std::memcpy(&samples[s], p + 4 * s, 4);
    }
  }
  return Status::Ok();
}

// The k-th of m indices spread evenly over [first, first + n).
std::int64_t spread(std::int64_t first, std::int64_t n, std::int64_t k, std::int64_t m) {
  return first + k * n / m;
}

// The 3200-byte textual header as ASCII. segyio decodes EBCDIC; a header that is ASCII
// already (common in files written by PC software) is taken as it is.
std::string textual_header(const OpenSegy& f, bool* ebcdic) {
  std::string raw(SEGY_TEXT_HEADER_SIZE, '\0');
  {
    std::ifstream in(f.name, std::ios::binary);
    in.read(raw.data(), SEGY_TEXT_HEADER_SIZE);
  }
  // A blank in EBCDIC is 0x40; in ASCII 0x20. Headers are mostly blanks.
  const auto ascii_blanks = std::count(raw.begin(), raw.end(), '\x20');
  const auto ebcdic_blanks = std::count(raw.begin(), raw.end(), '\x40');
  *ebcdic = !(ascii_blanks > ebcdic_blanks || (ascii_blanks == ebcdic_blanks && raw[0] == 'C'));
  std::string text = raw;
  if (*ebcdic) {
    char decoded[SEGY_TEXT_HEADER_SIZE + 1] = {};
    if (segy_read_textheader(f.file.get(), decoded) == SEGY_OK) {
      text.assign(decoded, SEGY_TEXT_HEADER_SIZE);
    }
  }
  for (char& c : text) {
    if (c < 0x20 || c > 0x7e) c = ' ';
  }
  return text;
}

struct RangeAccumulator {
  double min = std::numeric_limits<double>::infinity();
  double max = -std::numeric_limits<double>::infinity();
  bool nonzero = false;
  void add(double v) {
    min = std::min(min, v);
    max = std::max(max, v);
    nonzero = nonzero || v != 0;
  }
  SegyRange range() const { return min <= max ? SegyRange{min, max} : SegyRange{0, 0}; }
};

double scaled(int value, int scalar) {
  if (scalar < 0) return value / double(-scalar);
  if (scalar > 0) return double(value) * scalar;
  return value;
}

Status summarise_headers(const OpenSegy& f, std::int64_t max_traces, SegyTraceHeaders* out) {
  const std::int64_t m = std::min(f.traces, std::max<std::int64_t>(1, max_traces));
  RangeAccumulator sx, sy, gx, gy, cx, cy, offset, cdp, ffid, iline, xline;
  char header[SEGY_TRACE_HEADER_SIZE];
  for (std::int64_t k = 0; k < f.traces && k < m; ++k) {
    const std::int64_t i = spread(0, f.traces, k, m);
    const int rc = segy_traceheader(f.file.get(), int(i), header, f.trace0, f.trace_bytes);
    if (rc != SEGY_OK) {
      return Status::IOError(f.name + ": cannot read trace header " + std::to_string(i) +
                             segyio_error(rc));
    }
    const int scalar = tfield(header, SEGY_TR_SOURCE_GROUP_SCALAR);
    if (k == 0) {
      out->coordinate_scalar = scalar;
      out->coordinate_units = tfield(header, SEGY_TR_COORD_UNITS);
    }
    sx.add(scaled(tfield(header, SEGY_TR_SOURCE_X), scalar));
    sy.add(scaled(tfield(header, SEGY_TR_SOURCE_Y), scalar));
    gx.add(scaled(tfield(header, SEGY_TR_GROUP_X), scalar));
    gy.add(scaled(tfield(header, SEGY_TR_GROUP_Y), scalar));
    cx.add(scaled(tfield(header, SEGY_TR_CDP_X), scalar));
    cy.add(scaled(tfield(header, SEGY_TR_CDP_Y), scalar));
    offset.add(tfield(header, SEGY_TR_OFFSET));
    cdp.add(tfield(header, SEGY_TR_ENSEMBLE));
    ffid.add(tfield(header, SEGY_TR_FIELD_RECORD));
    iline.add(tfield(header, SEGY_TR_INLINE));
    xline.add(tfield(header, SEGY_TR_CROSSLINE));
    const int ns = unsigned16(tfield(header, SEGY_TR_SAMPLE_COUNT));
    if (ns != 0 && ns != f.samples) ++out->sample_count_mismatches;
    ++out->traces_read;
  }
  out->source_x = sx.range();
  out->source_y = sy.range();
  out->group_x = gx.range();
  out->group_y = gy.range();
  out->cdp_x = cx.range();
  out->cdp_y = cy.range();
  out->offset = offset.range();
  out->cdp = cdp.range();
  out->ffid = ffid.range();
  if (iline.nonzero) out->inline_number = iline.range();
  if (xline.nonzero) out->crossline = xline.range();
  return Status::Ok();
}

Status summarise_samples(const OpenSegy& f, std::int64_t max_bytes, SegySummary* out) {
  const std::int64_t m =
      std::min(f.traces, std::max<std::int64_t>(1, max_bytes / std::max(1, f.trace_bytes)));
  double lo = std::numeric_limits<double>::infinity();
  double hi = -lo;
  double squares = 0;
  std::int64_t finite = 0;
  std::vector<char> raw;
  std::vector<float> samples;
  for (std::int64_t k = 0; k < f.traces && k < m; ++k) {
    Status s = read_trace(f, spread(0, f.traces, k, m), raw, samples);
    if (!s.ok()) return s;
    for (float v : samples) {
      if (!std::isfinite(v)) {
        ++out->nonfinite;
        continue;
      }
      lo = std::min(lo, double(v));
      hi = std::max(hi, double(v));
      squares += double(v) * v;
      ++finite;
    }
    ++out->stats_traces;
  }
  if (finite > 0) {
    out->min = lo;
    out->max = hi;
    out->rms = std::sqrt(squares / double(finite));
  }
  return Status::Ok();
}

// Header fields are integers, and most coordinates too once scaled: written without an
// exponent when they are.
boost::json::value number_json(double v) {
  if (v == std::trunc(v) && std::abs(v) < 9e15) return boost::json::value(std::int64_t(v));
  return boost::json::value(v);
}

boost::json::object range_json(const SegyRange& r) {
  return {{"min", number_json(r.min)}, {"max", number_json(r.max)}};
}

boost::json::value optional_json(const std::optional<double>& v) {
  return v ? boost::json::value(*v) : boost::json::value(nullptr);
}

// The RGB colour of t in [-1, 1] (amplitude / clip).
std::array<unsigned char, 3> colour(SegyPalette palette, double t) {
  if (palette == SegyPalette::grey) {
    const auto g = static_cast<unsigned char>(std::lround(255 * (1 - t) / 2));
    return {g, g, g};
  }
  const auto fade = static_cast<unsigned char>(std::lround(255 * (1 - std::abs(t))));
  if (t >= 0) return {255, fade, fade};
  return {fade, fade, 255};
}

struct PngSink {
  std::string* out;
  char message[200];
};

void png_append(png_structp png, png_bytep data, png_size_t length) {
  auto* sink = static_cast<PngSink*>(png_get_io_ptr(png));
  sink->out->append(reinterpret_cast<const char*>(data), length);
}

void png_fail(png_structp png, png_const_charp message) {
  auto* sink = static_cast<PngSink*>(png_get_error_ptr(png));
  std::snprintf(sink->message, sizeof sink->message, "%s", message);
  png_longjmp(png, 1);
}

void png_ignore_warning(png_structp, png_const_charp) {}

// Encodes width × height RGB pixels (rows top down) into *out. Only trivially destructible
// objects live in this frame: libpng leaves it with longjmp on error.
bool encode_png(int width, int height, const unsigned char* rgb, PngSink* sink) {
  png_structp png =
      png_create_write_struct(PNG_LIBPNG_VER_STRING, sink, png_fail, png_ignore_warning);
  if (png == nullptr) return false;
  png_infop info = png_create_info_struct(png);
  if (info == nullptr || setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    return false;
  }
  png_set_write_fn(png, sink, png_append, nullptr);
  png_set_IHDR(png, info, png_uint_32(width), png_uint_32(height), 8, PNG_COLOR_TYPE_RGB,
               PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  for (int y = 0; y < height; ++y) {
    png_write_row(png, rgb + size_t(y) * size_t(width) * 3);
  }
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  return true;
}

Status check_options(const std::string& name, const SegyImageOptions& o) {
  auto bad = [&](const std::string& what) { return Status::InvalidArgument(name + ": " + what); };
  if (!(o.clip > 0 && o.clip <= 100)) return bad("clip must be a percentile in (0, 100]");
  if (o.max_width < 1 || o.max_width > kMaxImageSide || o.max_height < 1 ||
      o.max_height > kMaxImageSide) {
    return bad("the image's maximum width and height must be 1 to " +
               std::to_string(kMaxImageSide) + " pixels");
  }
  if (o.min_width < 0) return bad("the minimum width must not be negative");
  if (o.first_trace < 0 || o.trace_count < 0) {
    return bad("the first trace and the trace count must not be negative");
  }
  if (o.max_traces_per_column < 1) return bad("at least one trace per column must be read");
  return Status::Ok();
}

}  // namespace

Result<SegySummary> segy_summary(const fs::path& path, const SegySummaryLimits& limits) {
  auto opened = open_segy(path);
  if (!opened.ok()) return opened.status();
  const OpenSegy& f = *opened;
  SegySummary summary;
  summary.traces = f.traces;
  summary.samples = f.samples;
  summary.interval_us = f.interval_us;
  summary.format_code = f.format;
  summary.format = format_name(f.format);
  summary.little_endian = f.little_endian;
  summary.text = textual_header(f, &summary.text_ebcdic);
  const char* b = f.binary.data();
  summary.binary.job_id = bfield(b, SEGY_BIN_JOB_ID);
  summary.binary.line_number = bfield(b, SEGY_BIN_LINE_NUMBER);
  summary.binary.reel_number = bfield(b, SEGY_BIN_REEL_NUMBER);
  summary.binary.traces_per_ensemble = unsigned16(bfield(b, SEGY_BIN_TRACES));
  summary.binary.ensemble_fold = bfield(b, SEGY_BIN_ENSEMBLE_FOLD);
  summary.binary.sorting_code = bfield(b, SEGY_BIN_SORTING_CODE);
  summary.binary.measurement_system = bfield(b, SEGY_BIN_MEASUREMENT_SYSTEM);
  summary.binary.revision = unsigned16(bfield(b, SEGY_BIN_SEGY_REVISION));
  summary.binary.fixed_length = bfield(b, SEGY_BIN_TRACE_FLAG);
  summary.binary.ext_headers = bfield(b, SEGY_BIN_EXT_HEADERS);
  Status s = summarise_headers(f, limits.max_header_traces, &summary.headers);
  if (s.ok()) s = summarise_samples(f, limits.max_sample_bytes, &summary);
  if (!s.ok()) return s;
  return summary;
}

boost::json::value to_json(const SegySummary& s) {
  boost::json::array lines;
  for (size_t at = 0; at < s.text.size(); at += 80) {
    std::string line = s.text.substr(at, 80);
    line.erase(line.find_last_not_of(' ') + 1);
    lines.emplace_back(line);
  }
  const SegyBinaryFields& b = s.binary;
  boost::json::object binary{{"job_id", b.job_id},
                             {"line_number", b.line_number},
                             {"reel_number", b.reel_number},
                             {"traces_per_ensemble", b.traces_per_ensemble},
                             {"ensemble_fold", b.ensemble_fold},
                             {"sorting_code", b.sorting_code},
                             {"measurement_system", b.measurement_system},
                             {"revision", b.revision},
                             {"fixed_length", b.fixed_length},
                             {"ext_headers", b.ext_headers}};
  const SegyTraceHeaders& h = s.headers;
  boost::json::object headers{{"traces_read", h.traces_read},
                              {"source_x", range_json(h.source_x)},
                              {"source_y", range_json(h.source_y)},
                              {"group_x", range_json(h.group_x)},
                              {"group_y", range_json(h.group_y)},
                              {"cdp_x", range_json(h.cdp_x)},
                              {"cdp_y", range_json(h.cdp_y)},
                              {"offset", range_json(h.offset)},
                              {"cdp", range_json(h.cdp)},
                              {"ffid", range_json(h.ffid)},
                              {"coordinate_scalar", h.coordinate_scalar},
                              {"coordinate_units", h.coordinate_units},
                              {"sample_count_mismatches", h.sample_count_mismatches}};
  if (h.inline_number) headers["inline"] = range_json(*h.inline_number);
  if (h.crossline) headers["crossline"] = range_json(*h.crossline);
  return boost::json::object{{"traces", s.traces},
                             {"samples", s.samples},
                             {"interval_us", number_json(s.interval_us)},
                             {"format", s.format},
                             {"format_code", s.format_code},
                             {"byte_order", s.little_endian ? "little" : "big"},
                             {"min", optional_json(s.min)},
                             {"max", optional_json(s.max)},
                             {"rms", optional_json(s.rms)},
                             {"nonfinite", s.nonfinite},
                             {"stats_traces", s.stats_traces},
                             {"text", std::move(lines)},
                             {"text_encoding", s.text_ebcdic ? "ebcdic" : "ascii"},
                             {"binary", std::move(binary)},
                             {"headers", std::move(headers)}};
}

Result<SegyPalette> parse_segy_palette(std::string_view text) {
  if (text == "grey" || text == "gray") return SegyPalette::grey;
  if (text == "redblue") return SegyPalette::redblue;
  return Status::InvalidArgument("palette '" + std::string(text) +
                                 "' is unknown; choose grey or redblue");
}

Result<std::string> segy_png(const fs::path& path, const SegyImageOptions& options) {
  Status s = check_options(path.string(), options);
  if (!s.ok()) return s;
  auto opened = open_segy(path);
  if (!opened.ok()) return opened.status();
  const OpenSegy& f = *opened;
  if (f.traces == 0) return Status::InvalidArgument(f.name + ": has no traces to draw");
  if (options.first_trace >= f.traces) {
    return Status::InvalidArgument(f.name + ": the traces drawn start at " +
                                   std::to_string(options.first_trace) + " but the file has " +
                                   std::to_string(f.traces) + " traces (0 to " +
                                   std::to_string(f.traces - 1) + ")");
  }
  const std::int64_t first = options.first_trace;
  const std::int64_t left = f.traces - first;
  const std::int64_t count = options.trace_count == 0 ? left : std::min(options.trace_count, left);

  // One column per trace, or per group of traces when there are more than max_width.
  const int columns = int(std::min<std::int64_t>(count, options.max_width));
  int column_px = 1;
  if (count < options.max_width) {
    const int fit = options.max_width / columns;
    column_px = std::max(1, (options.min_width + columns - 1) / columns);
    if (fit >= 2) column_px = std::max(column_px, 2);
    column_px = std::min(column_px, fit);
  }
  const int rows = std::min(f.samples, options.max_height);
  const int width = columns * column_px;

  // Each cell is the mean of the finite samples that fall in it, NaN when there are none.
  std::vector<float> cells(size_t(columns) * size_t(rows));
  std::vector<double> sum(static_cast<size_t>(rows));
  std::vector<int> finite(static_cast<size_t>(rows));
  std::vector<int> row_of(static_cast<size_t>(f.samples));
  for (int i = 0; i < f.samples; ++i) row_of[i] = int(std::int64_t(i) * rows / f.samples);
  const std::int64_t per_column =
      std::clamp<std::int64_t>(kMaxImageReadBytes / (std::int64_t(columns) * f.trace_bytes), 1,
                               options.max_traces_per_column);
  std::vector<char> raw;
  std::vector<float> samples;
  for (int c = 0; c < columns; ++c) {
    const std::int64_t a = spread(first, count, c, columns);
    const std::int64_t n = spread(first, count, c + 1, columns) - a;
    const std::int64_t reads = std::min<std::int64_t>(n, per_column);
    std::fill(sum.begin(), sum.end(), 0.0);
    std::fill(finite.begin(), finite.end(), 0);
    for (std::int64_t k = 0; k < reads; ++k) {
      s = read_trace(f, spread(a, n, k, reads), raw, samples);
      if (!s.ok()) return s;
      for (int i = 0; i < f.samples; ++i) {
        if (!std::isfinite(samples[i])) continue;
        sum[row_of[i]] += samples[i];
        ++finite[row_of[i]];
      }
    }
    for (int r = 0; r < rows; ++r) {
      cells[size_t(c) * rows + r] =
          finite[r] > 0 ? float(sum[r] / finite[r]) : std::numeric_limits<float>::quiet_NaN();
    }
  }

  std::vector<float> magnitudes;
  magnitudes.reserve(cells.size());
  for (float v : cells) {
    if (std::isfinite(v)) magnitudes.push_back(std::abs(v));
  }
  double clip = 0;
  if (!magnitudes.empty()) {
    const auto n = std::int64_t(magnitudes.size());
    const auto at = std::clamp<std::int64_t>(
        std::int64_t(std::ceil(options.clip / 100 * double(n))) - 1, 0, n - 1);
    std::nth_element(magnitudes.begin(), magnitudes.begin() + at, magnitudes.end());
    clip = magnitudes[size_t(at)];
    // Mostly zeros (a sparse spike): clip at the largest amplitude instead of drawing nothing.
    if (clip == 0) clip = *std::max_element(magnitudes.begin() + at, magnitudes.end());
  }

  std::vector<unsigned char> rgb(size_t(width) * size_t(rows) * 3);
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < columns; ++c) {
      const float v = cells[size_t(c) * rows + r];
      const double t = clip > 0 && std::isfinite(v) ? std::clamp(v / clip, -1.0, 1.0) : 0.0;
      const auto pixel = colour(options.palette, t);
      for (int x = c * column_px; x < (c + 1) * column_px; ++x) {
        std::copy(pixel.begin(), pixel.end(), rgb.begin() + (size_t(r) * width + x) * 3);
      }
    }
  }

  std::string png;
  PngSink sink{&png, {}};
  if (!encode_png(width, rows, rgb.data(), &sink)) {
    return Status::Internal(f.name + ": cannot encode the image as PNG: " + sink.message);
  }
  return png;
}

}  // namespace fvce::userport
