// Thin RAII layer over the HDF5 C API: handles that close themselves, typed dataset and
// attribute read/write, and errors that name the file and the object. No parallel I/O here yet.
#pragma once
#include <hdf5.h>

#include <cstdint>
#include <string>
#include <vector>

namespace supsnn::h5 {

class Handle {
 public:
  Handle() = default;
  Handle(hid_t id, herr_t (*closer)(hid_t), std::string file)
      : id_(id), close_(closer), file_(std::move(file)) {}
  ~Handle() { reset(); }
  Handle(Handle&& o) noexcept { *this = std::move(o); }
  Handle& operator=(Handle&& o) noexcept;
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  hid_t id() const { return id_; }
  const std::string& file() const { return file_; }
  void reset();

 private:
  hid_t id_ = -1;
  herr_t (*close_)(hid_t) = nullptr;
  std::string file_;
};

Handle create_file(const std::string& path);  // truncates
Handle open_file(const std::string& path);    // read-only; fails clearly if not HDF5
Handle create_group(const Handle& loc, const std::string& name);
Handle open_group(const Handle& loc, const std::string& name);
bool exists(const Handle& loc, const std::string& name);

template <class T>
hid_t native_type();

// dims: the dataset shape. chunk0 > 0 turns on chunking (chunk0 rows) with gzip level 4.
template <class T>
void write(const Handle& loc, const std::string& name, const std::vector<hsize_t>& dims,
           const T* data, hsize_t chunk0 = 0);
std::vector<hsize_t> shape(const Handle& loc, const std::string& name);
template <class T>
std::vector<T> read(const Handle& loc, const std::string& name,
                    std::vector<hsize_t>* dims = nullptr);

// Rows `rows` (any order, repeats allowed) of a dataset along its first dimension, in that
// order, with one read of a union of hyperslabs. Each rank reads only the samples it needs.
template <class T>
std::vector<T> read_row_set(const Handle& loc, const std::string& name,
                            const std::vector<hsize_t>& rows);
// Elements [begin, end) of a 1-D dataset for each range, concatenated in the given order.
template <class T>
std::vector<T> read_ranges(const Handle& loc, const std::string& name,
                           const std::vector<std::pair<hsize_t, hsize_t>>& ranges);

void write_strings(const Handle& loc, const std::string& name, const std::vector<std::string>& v);
std::vector<std::string> read_strings(const Handle& loc, const std::string& name);

void set_attr(const Handle& loc, const std::string& name, const std::string& value);
void set_attr(const Handle& loc, const std::string& name, std::int64_t value);
void set_attr(const Handle& loc, const std::string& name, double value);
bool has_attr(const Handle& loc, const std::string& name);
std::string attr_string(const Handle& loc, const std::string& name);
std::int64_t attr_int(const Handle& loc, const std::string& name);
double attr_double(const Handle& loc, const std::string& name);

}  // namespace supsnn::h5
