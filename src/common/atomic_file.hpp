// Write-then-rename, so that a failed or interrupted command never leaves a partial output file.
#pragma once
#include <string>

namespace supsnn {

class AtomicFile {
 public:
  explicit AtomicFile(std::string final_path);
  ~AtomicFile();  // removes the temporary file unless commit() succeeded
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  const std::string& temp_path() const { return temp_; }
  const std::string& final_path() const { return final_; }
  void commit();  // rename temp -> final (atomic on POSIX within one file system)

 private:
  std::string final_, temp_;
  bool committed_ = false;
};

// Writes text to path through an AtomicFile.
void write_text_atomic(const std::string& path, const std::string& text);

}  // namespace supsnn
