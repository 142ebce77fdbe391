// Write-then-rename, so that a failed or interrupted command never leaves a partial output file.
// Errors name the final path (never the temporary one) and say why the system refused.
#pragma once
#include <string>

namespace supsnn {

class AtomicFile {
 public:
  // Fails (naming final_path) when its folder does not exist or final_path is a directory.
  explicit AtomicFile(std::string final_path);
  ~AtomicFile();  // removes the temporary file unless commit() succeeded
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  const std::string& temp_path() const { return temp_; }
  const std::string& final_path() const { return final_; }
  // rename temp -> final (atomic on POSIX within one file system); throws instead when writing
  // the temporary file was reported as failed (mark_write_failed), removing it.
  void commit();

 private:
  std::string final_, temp_;
  bool committed_ = false;
};

// The final path of the live AtomicFile whose temporary file is `path`; else `path` itself.
// Writers (h5::create_file) name files in their messages with it.
std::string user_path(const std::string& path);

// Tells the live AtomicFile whose final path is `final_path` that writing its temporary file
// failed where no exception could be thrown (an HDF5 file closed by a destructor): its commit()
// throws "final_path: reason" instead of moving an incomplete file into place. No AtomicFile of
// that name: nothing happens.
void mark_write_failed(const std::string& final_path, const std::string& reason);

// Writes text to path through an AtomicFile. Errors: "path: cannot write: <strerror(errno)>".
void write_text_atomic(const std::string& path, const std::string& text);

}  // namespace supsnn
