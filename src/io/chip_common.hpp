// Pieces shared by chip_reader.cpp and chip_writer.cpp: the libjpeg error handler. libjpeg reports
// errors by calling error_exit, which must not return; jpeg_fail formats the message and longjmps
// back to the setjmp of the caller (whose functions hold no C++ objects, so no destructor is
// skipped).
#pragma once

// jpeglib.h needs size_t and FILE declared first.
#include <cstddef>
#include <cstdio>

#include <jpeglib.h>
#include <csetjmp>

namespace supsnn {
namespace chip_io {

struct JpegErr {
  jpeg_error_mgr pub;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

inline void jpeg_fail(j_common_ptr cinfo) {
  auto* err = reinterpret_cast<JpegErr*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, err->message);
  std::longjmp(err->jump, 1);
}

// Installs err as the error manager of a (de)compressor: libjpeg defaults, then errors through
// jpeg_fail and messages through emit_message; err->message starts as initial_message. Returns
// the pointer to store in cinfo.err.
inline jpeg_error_mgr* jpeg_init_err(JpegErr* err, void (*emit_message)(j_common_ptr, int),
                                     const char* initial_message) {
  std::snprintf(err->message, sizeof err->message, "%s", initial_message);
  jpeg_error_mgr* pub = jpeg_std_error(&err->pub);
  err->pub.error_exit = jpeg_fail;
  err->pub.emit_message = emit_message;
  return pub;
}

}  // namespace chip_io
}  // namespace supsnn
