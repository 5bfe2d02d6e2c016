#include "segy.h"

#include <segyio/segy.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>

#include "files.h"

namespace marmousi {

namespace {

constexpr int kCoordinateScalar = -100;  // stored value / 100 = metres
constexpr long kTrace0 = SEGY_TEXT_HEADER_SIZE + SEGY_BINARY_HEADER_SIZE;

int32_t Scaled(double metres) {
  return int32_t(std::lround(metres * -kCoordinateScalar));
}
double Unscaled(int32_t stored, int32_t scalar) {
  if (scalar < 0) return stored / double(-scalar);
  if (scalar > 0) return stored * double(scalar);
  return stored;
}

struct SegyCloser {
  void operator()(segy_file* file) const { segy_close(file); }
};
using SegyFile = std::unique_ptr<segy_file, SegyCloser>;

Status Failed(const std::string& path, const char* what, int code) {
  return Status::Error(path + ": " + what + " (segyio error " + std::to_string(code) + ")");
}

}  // namespace

std::string TextualHeader(const std::vector<std::string>& lines) {
  std::string text;
  for (int i = 0; i < 40; ++i) {
    char card[81];
    std::string line = i < int(lines.size()) ? lines[i] : "";
    std::snprintf(card, sizeof card, "C%2d %-76.76s", i + 1, line.c_str());
    text += card;
  }
  return text;
}

Status WriteSegy(const std::string& path, const SegyData& data) {
  const int ntr = int(data.headers.size());
  if (data.ns <= 0 || data.ns > 32767 || data.samples.size() != size_t(ntr) * data.ns) {
    return Status::Error(path + ": cannot write SEG-Y with " + std::to_string(data.ns) +
                         " samples and " + std::to_string(ntr) + " traces");
  }
  if (data.dt_us <= 0 || data.dt_us > 65535) {
    return Status::Error(path + ": sample interval " + std::to_string(data.dt_us) +
                         " us does not fit SEG-Y");
  }
  const std::string temp = TempPathFor(path);
  {
    SegyFile file(segy_open(temp.c_str(), "w+b"));
    if (!file) return Status::Error(path + ": cannot create " + temp);
    std::string text = data.text;
    text.resize(SEGY_TEXT_HEADER_SIZE, ' ');
    int rc = segy_write_textheader(file.get(), 0, text.c_str());
    if (rc != SEGY_OK) return Failed(path, "cannot write the textual header", rc);

    char binary[SEGY_BINARY_HEADER_SIZE] = {};
    segy_set_bfield(binary, SEGY_BIN_JOB_ID, 1);
    segy_set_bfield(binary, SEGY_BIN_LINE_NUMBER, 1);
    segy_set_bfield(binary, SEGY_BIN_REEL_NUMBER, 1);
    segy_set_bfield(binary, SEGY_BIN_TRACES, ntr);
    segy_set_bfield(binary, SEGY_BIN_INTERVAL, data.dt_us);
    segy_set_bfield(binary, SEGY_BIN_INTERVAL_ORIG, data.dt_us);
    segy_set_bfield(binary, SEGY_BIN_SAMPLES, data.ns);
    segy_set_bfield(binary, SEGY_BIN_SAMPLES_ORIG, data.ns);
    segy_set_bfield(binary, SEGY_BIN_FORMAT, SEGY_IEEE_FLOAT_4_BYTE);
    segy_set_bfield(binary, SEGY_BIN_SORTING_CODE, 1);        // as recorded
    segy_set_bfield(binary, SEGY_BIN_MEASUREMENT_SYSTEM, 1);  // metres
    segy_set_bfield(binary, SEGY_BIN_SEGY_REVISION, 0x0100);
    segy_set_bfield(binary, SEGY_BIN_TRACE_FLAG, 1);  // fixed trace length
    segy_set_bfield(binary, SEGY_BIN_EXT_HEADERS, 0);
    rc = segy_write_binheader(file.get(), binary);
    if (rc != SEGY_OK) return Failed(path, "cannot write the binary header", rc);

    const int trace_bytes = segy_trace_bsize(data.ns);
    std::vector<float> buffer(data.ns);
    for (int i = 0; i < ntr; ++i) {
      const SegyTraceHeader& h = data.headers[i];
      char header[SEGY_TRACE_HEADER_SIZE] = {};
      segy_set_field(header, SEGY_TR_SEQ_LINE, h.tracl);
      segy_set_field(header, SEGY_TR_SEQ_FILE, h.tracl);
      segy_set_field(header, SEGY_TR_FIELD_RECORD, h.fldr);
      segy_set_field(header, SEGY_TR_NUMBER_ORIG_FIELD, h.tracf);
      segy_set_field(header, SEGY_TR_ENERGY_SOURCE_POINT, h.fldr);
      segy_set_field(header, SEGY_TR_ENSEMBLE, h.cdp);
      segy_set_field(header, SEGY_TR_NUM_IN_ENSEMBLE, h.cdpt);
      segy_set_field(header, SEGY_TR_TRACE_ID, 1);  // seismic data
      segy_set_field(header, SEGY_TR_DATA_USE, 2);  // test (synthetic)
      segy_set_field(header, SEGY_TR_OFFSET, h.offset);
      segy_set_field(header, SEGY_TR_RECV_GROUP_ELEV, Scaled(-h.receiver_depth));
      segy_set_field(header, SEGY_TR_SOURCE_SURF_ELEV, 0);
      segy_set_field(header, SEGY_TR_SOURCE_DEPTH, Scaled(h.source_depth));
      segy_set_field(header, SEGY_TR_ELEV_SCALAR, kCoordinateScalar);
      segy_set_field(header, SEGY_TR_SOURCE_GROUP_SCALAR, kCoordinateScalar);
      segy_set_field(header, SEGY_TR_SOURCE_X, Scaled(h.sx));
      segy_set_field(header, SEGY_TR_SOURCE_Y, 0);
      segy_set_field(header, SEGY_TR_GROUP_X, Scaled(h.gx));
      segy_set_field(header, SEGY_TR_GROUP_Y, 0);
      segy_set_field(header, SEGY_TR_COORD_UNITS, 1);  // length (metres)
      segy_set_field(header, SEGY_TR_SAMPLE_COUNT, data.ns);
      segy_set_field(header, SEGY_TR_SAMPLE_INTER, data.dt_us);
      segy_set_field(header, SEGY_TR_CDP_X, Scaled(h.cdpx));
      segy_set_field(header, SEGY_TR_CDP_Y, 0);
      rc = segy_write_traceheader(file.get(), i, header, kTrace0, trace_bytes);
      if (rc != SEGY_OK) return Failed(path, "cannot write a trace header", rc);
      std::memcpy(buffer.data(), data.samples.data() + size_t(i) * data.ns,
                  sizeof(float) * data.ns);
      segy_from_native(SEGY_IEEE_FLOAT_4_BYTE, data.ns, buffer.data());
      rc = segy_writetrace(file.get(), i, buffer.data(), kTrace0, trace_bytes);
      if (rc != SEGY_OK) return Failed(path, "cannot write a trace", rc);
    }
    rc = segy_flush(file.get(), false);
    if (rc != SEGY_OK) return Failed(path, "cannot flush", rc);
  }
  Status s = CommitTempFile(temp, path);
  if (!s.ok()) std::remove(temp.c_str());
  return s;
}

Status ReadSegy(const std::string& path, SegyData* data) {
  SegyFile file(segy_open(path.c_str(), "rb"));
  if (!file) return Status::Error(path + ": cannot open");
  char text[SEGY_TEXT_HEADER_SIZE + 1] = {};
  int rc = segy_read_textheader(file.get(), text);
  if (rc != SEGY_OK) return Failed(path, "cannot read the textual header (not SEG-Y?)", rc);
  data->text = text;
  char binary[SEGY_BINARY_HEADER_SIZE];
  rc = segy_binheader(file.get(), binary);
  if (rc != SEGY_OK) return Failed(path, "cannot read the binary header (not SEG-Y?)", rc);
  data->ns = segy_samples(binary);
  int32_t format = 0, interval = 0;
  segy_get_bfield(binary, SEGY_BIN_FORMAT, &format);
  segy_get_bfield(binary, SEGY_BIN_INTERVAL, &interval);
  if (format != SEGY_IEEE_FLOAT_4_BYTE) {
    return Status::Error(path + ": sample format " + std::to_string(format) +
                         " is not 5 (IEEE float); only IEEE SEG-Y is supported");
  }
  if (data->ns <= 0 || interval <= 0) {
    return Status::Error(path + ": binary header has no sample count or interval");
  }
  data->dt_us = interval;
  const long trace0 = segy_trace0(binary);
  const int trace_bytes = segy_trace_bsize(data->ns);
  int ntr = 0;
  rc = segy_traces(file.get(), &ntr, trace0, trace_bytes);
  if (rc != SEGY_OK) return Failed(path, "file size is not a whole number of traces", rc);
  data->headers.assign(ntr, SegyTraceHeader());
  data->samples.resize(size_t(ntr) * data->ns);
  for (int i = 0; i < ntr; ++i) {
    char header[SEGY_TRACE_HEADER_SIZE];
    rc = segy_traceheader(file.get(), i, header, trace0, trace_bytes);
    if (rc != SEGY_OK) return Failed(path, "cannot read a trace header", rc);
    auto field = [&](int which) {
      int32_t value = 0;
      segy_get_field(header, which, &value);
      return value;
    };
    SegyTraceHeader& h = data->headers[i];
    const int32_t scalco = field(SEGY_TR_SOURCE_GROUP_SCALAR);
    const int32_t scalel = field(SEGY_TR_ELEV_SCALAR);
    h.tracl = field(SEGY_TR_SEQ_LINE);
    h.fldr = field(SEGY_TR_FIELD_RECORD);
    h.tracf = field(SEGY_TR_NUMBER_ORIG_FIELD);
    h.cdp = field(SEGY_TR_ENSEMBLE);
    h.cdpt = field(SEGY_TR_NUM_IN_ENSEMBLE);
    h.offset = field(SEGY_TR_OFFSET);
    h.sx = Unscaled(field(SEGY_TR_SOURCE_X), scalco);
    h.gx = Unscaled(field(SEGY_TR_GROUP_X), scalco);
    h.cdpx = Unscaled(field(SEGY_TR_CDP_X), scalco);
    h.source_depth = Unscaled(field(SEGY_TR_SOURCE_DEPTH), scalel);
    h.receiver_depth = -Unscaled(field(SEGY_TR_RECV_GROUP_ELEV), scalel);
    float* samples = data->samples.data() + size_t(i) * data->ns;
    rc = segy_readtrace(file.get(), i, samples, trace0, trace_bytes);
    if (rc != SEGY_OK) return Failed(path, "cannot read a trace", rc);
    segy_to_native(SEGY_IEEE_FLOAT_4_BYTE, data->ns, samples);
  }
  return Status::Ok();
}

}  // namespace marmousi
