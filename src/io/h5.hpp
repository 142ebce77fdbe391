// Thin RAII layer over the HDF5 C API: handles that close themselves, typed dataset and
// attribute read/write, and errors that name the file and the object. Parallel (MPI-IO) file
// access for checkpoints: create_file_mpi, open_file_mpi, collective_transfer.
#pragma once
#include <hdf5.h>
#include <mpi.h>

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
  // Forgets the object without closing it (a file whose parallel close would hang after a failed
  // write: HDF5 1.10 does not close such a file collectively).
  void release() { id_ = -1; }
  // Closes now and reports whether the library succeeded (a file's close flushes metadata, so
  // writers check it; reset() and the destructor cannot).
  bool close();

 private:
  hid_t id_ = -1;
  herr_t (*close_)(hid_t) = nullptr;
  std::string file_;
};

// Why the HDF5 call that just failed failed, from the library's error stack: the operating
// system's text when a file driver recorded an errno ("No space left on device"), else MPI's
// error string (MPI-IO), else the innermost HDF5 message. Empty when the stack holds nothing.
std::string error_reason();
// "what: reason" (or just what when error_reason() is empty).
std::string with_reason(const std::string& what);

// Files made through an AtomicFile are named in messages by their final path, not the
// temporary one (common/atomic_file.hpp, user_path).
Handle create_file(const std::string& path);  // truncates
Handle open_file(const std::string& path);    // read-only; fails clearly if not HDF5
Handle create_group(const Handle& loc, const std::string& name);
Handle open_group(const Handle& loc, const std::string& name);
bool exists(const Handle& loc, const std::string& name);

// Parallel HDF5 over `comm` (collective calls): MPI-IO driver with collective metadata reads and
// writes, so every rank must make the same metadata calls (create, open, attributes) in the
// same order.
// `name`, when given, is the path messages use (a checkpoint's final name for its temporary file).
Handle create_file_mpi(const std::string& path, MPI_Comm comm, const std::string& name = "");
Handle open_file_mpi(const std::string& path, MPI_Comm comm);  // read-only
// Dataset transfer property list for collective MPI-IO transfers.
Handle collective_transfer(const std::string& file);

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
// Reads variable- and fixed-length string datasets (fixed: trailing NULs dropped).
std::vector<std::string> read_strings(const Handle& loc, const std::string& name);
// Strings of any shape (dims empty: one scalar string), row-major; variable-length UTF-8.
void write_string_array(const Handle& loc, const std::string& name,
                        const std::vector<std::string>& v, const std::vector<hsize_t>& dims);
std::vector<std::string> read_string_array(const Handle& loc, const std::string& name,
                                           std::vector<hsize_t>* dims = nullptr);
// What a member of a group is, and the names of a group's members (creation order unknown to
// files written elsewhere, so alphabetical).
bool is_group(const Handle& loc, const std::string& name);
struct DatasetType {
  H5T_class_t type_class;  // H5T_STRING, H5T_INTEGER, H5T_FLOAT, ...
  std::size_t size;        // bytes per element
};
DatasetType dataset_type(const Handle& loc, const std::string& name);
std::vector<std::string> members(const Handle& group);

void set_attr(const Handle& loc, const std::string& name, const std::string& value);
void set_attr(const Handle& loc, const std::string& name, std::int64_t value);
void set_attr(const Handle& loc, const std::string& name, double value);
// Fixed-length string attribute: variable-length data goes to the global heap, which parallel
// HDF5 cannot write consistently from several ranks. attr_string reads both kinds.
void set_attr_fixed(const Handle& loc, const std::string& name, const std::string& value);
void set_attr_u64(const Handle& loc, const std::string& name, std::uint64_t value);
std::uint64_t attr_u64(const Handle& loc, const std::string& name);
bool has_attr(const Handle& loc, const std::string& name);
std::string attr_string(const Handle& loc, const std::string& name);
std::int64_t attr_int(const Handle& loc, const std::string& name);
double attr_double(const Handle& loc, const std::string& name);

}  // namespace supsnn::h5
