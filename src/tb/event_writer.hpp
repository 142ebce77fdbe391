// TensorBoard event files written without TensorFlow or protobuf: TFRecord framing around
// hand-encoded Event protos (scalars and PNG images), readable by `tensorboard --logdir`.
#pragma once
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace supsnn {

class EventWriter {
 public:
  // Creates `dir`/events.out.tfevents.<unix time>.<host> and writes the file_version event.
  explicit EventWriter(const std::string& dir);
  ~EventWriter();
  EventWriter(const EventWriter&) = delete;
  EventWriter& operator=(const EventWriter&) = delete;

  void scalar(const std::string& tag, long step, double value);
  // A grey image, `pixels` height x width row-major.
  void image(const std::string& tag, long step, int height, int width,
             const std::vector<std::uint8_t>& pixels);
  void flush();
  const std::string& path() const { return path_; }

 private:
  void write_event(long step, const std::string& payload);  // payload: Event fields 3 or 5
  std::string path_;
  std::FILE* f_ = nullptr;
};

// PNG bytes of a grey 8-bit image (libpng, in memory).
std::vector<std::uint8_t> encode_png_gray8(int height, int width, const std::uint8_t* pixels);

// Protobuf wire-format pieces (exposed for tests).
namespace pb {
void varint(std::string& out, std::uint64_t v);
void tag(std::string& out, int field, int wire_type);
void bytes_field(std::string& out, int field, const std::string& bytes);
}  // namespace pb

}  // namespace supsnn
