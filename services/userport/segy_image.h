// SEG-Y files for the web user port's file viewer: a summary of the headers and samples
// (GET /api/files/segy/header) and a variable-density image of the traces
// (GET /api/files/segy), docs/web.md "Files: SEG-Y".
//
// Both read the file with libsegyio: big-endian SEG-Y rev 0/1, or little-endian (as Seismic
// Unix writes it) when the binary header only makes sense that way; samples in IBM float,
// IEEE float, or 4-, 2- or 1-byte integers. Traces are all of the binary header's length
// (the trace header's count when the binary header has none).
//
// Both are blocking and do disk work: call them on the node's worker pool, never on an I/O
// thread. They keep no state and may run concurrently on different threads. Memory is
// bounded whatever the file's size (the limits below): a huge file is sampled, and the
// answer says how many traces went into it.
//
// Errors name the file and what is wrong with it:
//   not-found         the file does not exist;
//   invalid-argument  not a SEG-Y file (short, or its binary header makes no sense), a
//                     truncated file (not a whole number of traces), an unsupported sample
//                     format, a bad option, or (segy_png) nothing to draw;
//   io-error          the file could not be opened or read.
#pragma once

#include <boost/json/value.hpp>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "node/core/status.h"

namespace fvce::userport {

// The smallest and largest value of one trace-header field over the traces read.
struct SegyRange {
  double min = 0;
  double max = 0;
};

// The binary header's fields besides those SegySummary holds itself.
struct SegyBinaryFields {
  int job_id = 0;
  int line_number = 0;
  int reel_number = 0;
  int traces_per_ensemble = 0;  // data traces per ensemble (3213)
  int ensemble_fold = 0;
  int sorting_code = 0;        // 1 as recorded, 2 CDP ensemble, 4 horizontally stacked, ...
  int measurement_system = 0;  // 1 metres, 2 feet
  int revision = 0;            // 0x0100 for rev 1
  int fixed_length = 0;        // 1: every trace has the same number of samples
  int ext_headers = 0;         // extended textual headers after the binary header
};

// What a seismologist checks first in the trace headers. Coordinates are scaled by each
// trace's coordinate scalar (bytes 71-72); the others are the stored integers.
struct SegyTraceHeaders {
  std::int64_t traces_read = 0;  // headers summarised: all, or evenly spaced ones
  SegyRange source_x, source_y, group_x, group_y, cdp_x, cdp_y;
  SegyRange offset, cdp, ffid;
  std::optional<SegyRange> inline_number;  // absent when every trace has 0 there
  std::optional<SegyRange> crossline;
  int coordinate_scalar = 0;  // of the first trace
  int coordinate_units = 0;   // of the first trace: 1 length, 2 arc seconds, ...
  // Traces read whose own sample count (bytes 115-116) is neither 0 nor the file's.
  std::int64_t sample_count_mismatches = 0;
};

struct SegySummary {
  std::int64_t traces = 0;
  int samples = 0;         // per trace
  double interval_us = 0;  // sample interval
  int format_code = 0;     // binary header bytes 3225-3226
  std::string format;      // "ibm-float", "ieee-float", "int32", "int16", "int8"
  bool little_endian = false;
  std::string text;  // the textual header, 3200 characters in ASCII
  bool text_ebcdic = true;
  SegyBinaryFields binary;
  // Sample statistics over stats_traces traces (all, or evenly spaced ones of a huge file),
  // leaving out NaN and infinite samples, which nonfinite counts. Empty when no sample was
  // finite (or the file has no traces).
  std::int64_t stats_traces = 0;
  std::int64_t nonfinite = 0;
  std::optional<double> min, max, rms;
  SegyTraceHeaders headers;
};

// Bounds on the work a summary does on a huge file.
struct SegySummaryLimits {
  std::int64_t max_header_traces = 1'000'000;  // trace headers read
  std::int64_t max_sample_bytes = 256 << 20;   // sample bytes read for min, max and rms
};

// Reads the file's headers and (within limits) its samples. Errors: above.
Result<SegySummary> segy_summary(const std::filesystem::path& path,
                                 const SegySummaryLimits& limits = SegySummaryLimits());

// The answer of GET /api/files/segy/header: {"traces","samples","interval_us","format",
// "format_code","byte_order","min","max","rms","nonfinite","stats_traces","text":[40
// lines],"text_encoding","binary":{…},"headers":{…}} (docs/web.md). min, max and rms are
// null when absent.
boost::json::value to_json(const SegySummary& summary);

enum class SegyPalette {
  grey,     // -clip white, 0 mid grey, +clip black
  redblue,  // -clip blue, 0 white, +clip red
};

// Parses "grey" (or "gray") and "redblue"; invalid-argument naming the choices otherwise.
Result<SegyPalette> parse_segy_palette(std::string_view text);

struct SegyImageOptions {
  SegyPalette palette = SegyPalette::grey;
  // Amplitudes are clipped at this percentile of |amplitude| of what is drawn, (0, 100].
  double clip = 99;
  // The image is at most this large; more traces or samples are averaged into a pixel.
  int max_width = 2000;
  int max_height = 2000;
  // Few traces are widened to reach this width (each the same whole number of pixels,
  // at least 2 when that still fits max_width).
  int min_width = 600;
  // The traces drawn: first (0-based) and count (0: all from first on).
  std::int64_t first_trace = 0;
  std::int64_t trace_count = 0;
  // At most this many traces are read per image column (fewer when that would read more
  // than 256 MB of samples in all); the others are skipped.
  int max_traces_per_column = 4;
};

// A PNG (8-bit RGB) of the traces: one column band per trace, left to right in file order,
// one row per sample, time growing downwards. Errors: above; invalid-argument for zero
// traces or a trace range outside the file.
Result<std::string> segy_png(const std::filesystem::path& path,
                             const SegyImageOptions& options = SegyImageOptions());

}  // namespace fvce::userport
