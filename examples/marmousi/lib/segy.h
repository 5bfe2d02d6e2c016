// SEG-Y rev1 reading and writing through libsegyio (C API).
//
// Written files: 3200-byte textual header given in ASCII and stored in EBCDIC (segyio
// converts), binary header with the sample interval, sample count, format 5 (IEEE float,
// big-endian), revision 1.0 (0x0100), fixed trace length, no extended headers. Trace
// coordinates carry scalco = −100 (stored in centimetres); depths and elevations scalel =
// −100. Offsets are in metres, unscaled, as rev1 defines them. Outputs go through a
// temporary file renamed into place.
#pragma once

#include <string>
#include <vector>

#include "status.h"

namespace marmousi {

struct SegyTraceHeader {
  int tracl = 0;              // trace sequence number within the line (file)
  int fldr = 0;               // field record (shot) number
  int tracf = 0;              // trace (channel) number within the field record
  int cdp = 0;                // CMP ensemble number
  int cdpt = 0;               // trace number within the ensemble
  int offset = 0;             // source-receiver distance (m)
  double sx = 0, gx = 0;      // source / receiver x (m); sy = gy = 0
  double cdpx = 0;            // midpoint x (m)
  double source_depth = 0;    // m below the surface
  double receiver_depth = 0;  // m below the surface (written as gelev = −depth)
};

struct SegyData {
  std::string text;  // the textual header as read (EBCDIC decoded), 3200 characters
  int ns = 0;
  int dt_us = 0;  // sample interval (µs)
  std::vector<SegyTraceHeader> headers;
  std::vector<float> samples;  // headers.size() * ns
};

// Formats up to 40 lines of at most 76 characters as a card image "C 1 ...", "C 2 ...".
std::string TextualHeader(const std::vector<std::string>& lines);

Status WriteSegy(const std::string& path, const SegyData& data);
Status ReadSegy(const std::string& path, SegyData* data);

}  // namespace marmousi
