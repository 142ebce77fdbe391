#include "io/h5.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "common/atomic_file.hpp"
#include "common/error.hpp"

namespace supsnn::h5 {

namespace {

// HDF5 prints its own error stack by default; supsnn reports one clear line instead. No library
// shutdown at exit: every file is closed by its Handle, and HDF5 1.10 crashes there on a file
// whose close failed (a full disk), turning a clean error line into a segmentation fault.
struct SilenceHdf5 {
  SilenceHdf5() {
    H5dont_atexit();
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  }
};
const SilenceHdf5 silence_once;

// Appends the reason of the HDF5 call that just failed (error_reason()).
[[noreturn]] void fail(const Handle& loc, const std::string& what) {
  throw Error(loc.file() + ": " + with_reason(what));
}

// What the error-stack walk collects: the innermost minor message and, when a record carries
// one, the operating system's or MPI's own text.
struct StackReasons {
  std::string os, mpi, minor;
};

herr_t collect_reason(unsigned, const H5E_error2_t* e, void* data) {
  auto& r = *static_cast<StackReasons*>(data);
  const std::string desc = e->desc ? e->desc : "";
  // File drivers (sec2, core, ...) write "..., errno = 28, error message = '...', ...".
  const auto at = desc.find("errno = ");
  if (at != std::string::npos && r.os.empty()) {
    const int code = std::atoi(desc.c_str() + at + 8);
    if (code > 0) r.os = std::strerror(code);
  }
  // The MPI-IO driver: "MPI_File_... failed: MPI error string is '...'".
  const std::string mpi_key = "MPI error string is '";
  const auto m = desc.find(mpi_key);
  if (m != std::string::npos && r.mpi.empty()) {
    const auto b = m + mpi_key.size(), end = desc.find('\'', b);
    r.mpi = desc.substr(b, end == std::string::npos ? std::string::npos : end - b);
  }
  char buf[256] = {};
  H5E_type_t type;
  if (H5Eget_msg(e->min_num, &type, buf, sizeof buf) > 0) r.minor = buf;  // walked downward
  return 0;
}

hsize_t element_count(const std::vector<hsize_t>& dims) {
  hsize_t n = 1;
  for (auto d : dims) n *= d;
  return n;
}

}  // namespace

Handle& Handle::operator=(Handle&& o) noexcept {
  if (this != &o) {
    reset();
    id_ = o.id_;
    close_ = o.close_;
    file_ = std::move(o.file_);
    o.id_ = -1;
  }
  return *this;
}

std::string error_reason() {
  StackReasons r;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, collect_reason, &r);
  if (!r.os.empty()) return r.os;
  if (!r.mpi.empty()) return r.mpi;
  return r.minor;
}

std::string with_reason(const std::string& what) {
  const std::string why = error_reason();
  return why.empty() ? what : what + ": " + why;
}

void Handle::reset() {
  // Closing a file flushes what HDF5 still holds; when that fails here (a destructor, which
  // cannot throw), the AtomicFile of that file is told, so that it does not commit it.
  if (id_ >= 0 && close_ && close_(id_) < 0 && close_ == H5Fclose)
    mark_write_failed(file_, with_reason("cannot finish writing the file"));
  id_ = -1;
}

bool Handle::close() {
  const bool ok = id_ < 0 || !close_ || close_(id_) >= 0;
  id_ = -1;
  return ok;
}

Handle create_file(const std::string& path) {
  const std::string name = user_path(path);
  if (std::filesystem::is_directory(path))
    throw Error(name + ": is a directory, expected a file name");
  hid_t f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  if (f < 0) throw Error(name + ": " + with_reason("cannot create HDF5 file"));
  return Handle(f, H5Fclose, name);
}

Handle open_file(const std::string& path) {
  if (!std::filesystem::exists(path)) throw Error(path + ": file not found");
  if (H5Fis_hdf5(path.c_str()) <= 0) throw Error(path + ": not an HDF5 file (or truncated)");
  hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (f < 0) throw Error(path + ": " + with_reason("cannot open HDF5 file"));
  return Handle(f, H5Fclose, path);
}

namespace {
Handle mpi_access(const std::string& path, MPI_Comm comm) {
  Handle fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose, path);
  if (fapl.id() < 0 || H5Pset_fapl_mpio(fapl.id(), comm, MPI_INFO_NULL) < 0 ||
      H5Pset_all_coll_metadata_ops(fapl.id(), true) < 0 ||
      H5Pset_coll_metadata_write(fapl.id(), true) < 0)
    throw Error(path + ": cannot set up parallel HDF5 access (MPI-IO)");
  // Objects of 1 MiB or more start on 1 MiB boundaries (whole stripes on parallel file systems).
  H5Pset_alignment(fapl.id(), 1 << 20, 1 << 20);
  return fapl;
}
}  // namespace

Handle create_file_mpi(const std::string& path, MPI_Comm comm, const std::string& name) {
  const std::string shown = name.empty() ? path : name;
  Handle fapl = mpi_access(shown, comm);
  hid_t f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.id());
  if (f < 0) throw Error(shown + ": " + with_reason("cannot create HDF5 file (parallel)"));
  return Handle(f, H5Fclose, shown);
}

Handle open_file_mpi(const std::string& path, MPI_Comm comm) {
  if (!std::filesystem::exists(path)) throw Error(path + ": file not found");
  if (H5Fis_hdf5(path.c_str()) <= 0) throw Error(path + ": not an HDF5 file (or truncated)");
  Handle fapl = mpi_access(path, comm);
  hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl.id());
  if (f < 0)
    throw Error(path + ": " + with_reason("cannot open HDF5 file (damaged or truncated?)"));
  return Handle(f, H5Fclose, path);
}

Handle collective_transfer(const std::string& file) {
  Handle dxpl(H5Pcreate(H5P_DATASET_XFER), H5Pclose, file);
  if (dxpl.id() < 0 || H5Pset_dxpl_mpio(dxpl.id(), H5FD_MPIO_COLLECTIVE) < 0)
    throw Error(file + ": cannot set up collective HDF5 transfers");
  return dxpl;
}

Handle create_group(const Handle& loc, const std::string& name) {
  hid_t g = H5Gcreate2(loc.id(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  if (g < 0) fail(loc, "cannot create group " + name);
  return Handle(g, H5Gclose, loc.file());
}

Handle open_group(const Handle& loc, const std::string& name) {
  if (!exists(loc, name)) fail(loc, "missing group '" + name + "'");
  hid_t g = H5Gopen2(loc.id(), name.c_str(), H5P_DEFAULT);
  if (g < 0) fail(loc, "cannot open group " + name);
  return Handle(g, H5Gclose, loc.file());
}

bool exists(const Handle& loc, const std::string& name) {
  return H5Lexists(loc.id(), name.c_str(), H5P_DEFAULT) > 0;
}

template <>
hid_t native_type<double>() {
  return H5T_NATIVE_DOUBLE;
}
template <>
hid_t native_type<float>() {
  return H5T_NATIVE_FLOAT;
}
template <>
hid_t native_type<std::int32_t>() {
  return H5T_NATIVE_INT32;
}
template <>
hid_t native_type<std::int64_t>() {
  return H5T_NATIVE_INT64;
}
template <>
hid_t native_type<std::uint8_t>() {
  return H5T_NATIVE_UINT8;
}
template <>
hid_t native_type<std::uint64_t>() {
  return H5T_NATIVE_UINT64;
}

template <class T>
void write(const Handle& loc, const std::string& name, const std::vector<hsize_t>& dims,
           const T* data, hsize_t chunk0) {
  Handle space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), H5Sclose,
               loc.file());
  Handle plist(H5Pcreate(H5P_DATASET_CREATE), H5Pclose, loc.file());
  if (chunk0 > 0 && !dims.empty() && element_count(dims) > 0) {
    std::vector<hsize_t> chunk = dims;
    chunk[0] = std::min(chunk0, dims[0]);
    H5Pset_chunk(plist.id(), static_cast<int>(chunk.size()), chunk.data());
    H5Pset_deflate(plist.id(), 4);
  }
  Handle ds(H5Dcreate2(loc.id(), name.c_str(), native_type<T>(), space.id(), H5P_DEFAULT,
                       plist.id(), H5P_DEFAULT),
            H5Dclose, loc.file());
  if (ds.id() < 0) fail(loc, "cannot create dataset " + name);
  if (element_count(dims) > 0 &&
      H5Dwrite(ds.id(), native_type<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
    fail(loc, "cannot write dataset " + name);
}

std::vector<hsize_t> shape(const Handle& loc, const std::string& name) {
  if (!exists(loc, name)) fail(loc, "missing dataset '" + name + "'");
  Handle ds(H5Dopen2(loc.id(), name.c_str(), H5P_DEFAULT), H5Dclose, loc.file());
  if (ds.id() < 0) fail(loc, "cannot open dataset " + name);
  Handle space(H5Dget_space(ds.id()), H5Sclose, loc.file());
  const int rank = H5Sget_simple_extent_ndims(space.id());
  std::vector<hsize_t> dims(rank > 0 ? rank : 0);
  if (rank > 0) H5Sget_simple_extent_dims(space.id(), dims.data(), nullptr);
  return dims;
}

template <class T>
std::vector<T> read(const Handle& loc, const std::string& name, std::vector<hsize_t>* dims) {
  const auto d = shape(loc, name);
  if (dims) *dims = d;
  std::vector<T> out(element_count(d));
  Handle ds(H5Dopen2(loc.id(), name.c_str(), H5P_DEFAULT), H5Dclose, loc.file());
  if (!out.empty() &&
      H5Dread(ds.id(), native_type<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()) < 0)
    fail(loc, "cannot read dataset " + name + " (corrupt or truncated file?)");
  return out;
}

template <class T>
std::vector<T> read_row_set(const Handle& loc, const std::string& name,
                            const std::vector<hsize_t>& rows) {
  auto d = shape(loc, name);
  if (d.empty()) fail(loc, "dataset " + name + " is a scalar, expected rows");
  hsize_t row_size = 1;
  for (std::size_t i = 1; i < d.size(); ++i) row_size *= d[i];
  std::vector<hsize_t> uniq(rows);
  std::sort(uniq.begin(), uniq.end());
  uniq.erase(std::unique(uniq.begin(), uniq.end()), uniq.end());
  std::vector<T> out(rows.size() * row_size);
  if (uniq.empty()) return out;
  if (uniq.back() >= d[0])
    fail(loc, "dataset " + name + ": row " + std::to_string(uniq.back()) + " out of range (" +
                  std::to_string(d[0]) + " rows)");
  Handle ds(H5Dopen2(loc.id(), name.c_str(), H5P_DEFAULT), H5Dclose, loc.file());
  Handle fspace(H5Dget_space(ds.id()), H5Sclose, loc.file());
  std::vector<hsize_t> start(d.size(), 0), count = d;
  std::vector<T> sorted(uniq.size() * row_size);
  // One read per run of consecutive rows: HDF5 walks a union of many small hyperslabs far more
  // slowly than it performs several simple reads.
  for (std::size_t i = 0; i < uniq.size();) {
    std::size_t j = i + 1;
    while (j < uniq.size() && uniq[j] == uniq[j - 1] + 1) ++j;
    start[0] = uniq[i];
    count[0] = j - i;
    H5Sselect_hyperslab(fspace.id(), H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr);
    const hsize_t n = count[0] * row_size;
    Handle mspace(H5Screate_simple(1, &n, nullptr), H5Sclose, loc.file());
    if (H5Dread(ds.id(), native_type<T>(), mspace.id(), fspace.id(), H5P_DEFAULT,
                sorted.data() + i * row_size) < 0)
      fail(loc, "cannot read dataset " + name + " (corrupt or truncated file?)");
    i = j;
  }
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const std::size_t pos = std::lower_bound(uniq.begin(), uniq.end(), rows[r]) - uniq.begin();
    std::copy_n(sorted.begin() + pos * row_size, row_size, out.begin() + r * row_size);
  }
  return out;
}

template <class T>
std::vector<T> read_ranges(const Handle& loc, const std::string& name,
                           const std::vector<std::pair<hsize_t, hsize_t>>& ranges) {
  const auto d = shape(loc, name);
  if (d.size() != 1) fail(loc, "dataset " + name + ": expected a 1-D array");
  std::vector<T> out;
  Handle ds(H5Dopen2(loc.id(), name.c_str(), H5P_DEFAULT), H5Dclose, loc.file());
  for (const auto& [b, e] : ranges) {
    if (e < b || e > d[0]) fail(loc, "dataset " + name + ": range out of bounds");
    if (e == b) continue;
    Handle fspace(H5Dget_space(ds.id()), H5Sclose, loc.file());
    const hsize_t start = b, count = e - b;
    H5Sselect_hyperslab(fspace.id(), H5S_SELECT_SET, &start, nullptr, &count, nullptr);
    Handle mspace(H5Screate_simple(1, &count, nullptr), H5Sclose, loc.file());
    const std::size_t at = out.size();
    out.resize(at + count);
    if (H5Dread(ds.id(), native_type<T>(), mspace.id(), fspace.id(), H5P_DEFAULT, out.data() + at) <
        0)
      fail(loc, "cannot read dataset " + name + " (corrupt or truncated file?)");
  }
  return out;
}

#define SUPSNN_H5_INSTANTIATE(T)                                                                   \
  template void write<T>(const Handle&, const std::string&, const std::vector<hsize_t>&, const T*, \
                         hsize_t);                                                                 \
  template std::vector<T> read<T>(const Handle&, const std::string&, std::vector<hsize_t>*);       \
  template std::vector<T> read_row_set<T>(const Handle&, const std::string&,                       \
                                          const std::vector<hsize_t>&);                            \
  template std::vector<T> read_ranges<T>(const Handle&, const std::string&,                        \
                                         const std::vector<std::pair<hsize_t, hsize_t>>&);
SUPSNN_H5_INSTANTIATE(double)
SUPSNN_H5_INSTANTIATE(float)
SUPSNN_H5_INSTANTIATE(std::int32_t)
SUPSNN_H5_INSTANTIATE(std::int64_t)
SUPSNN_H5_INSTANTIATE(std::uint8_t)
SUPSNN_H5_INSTANTIATE(std::uint64_t)
#undef SUPSNN_H5_INSTANTIATE

namespace {
Handle vlen_string_type(const Handle& loc) {
  Handle t(H5Tcopy(H5T_C_S1), H5Tclose, loc.file());
  H5Tset_size(t.id(), H5T_VARIABLE);
  H5Tset_cset(t.id(), H5T_CSET_UTF8);
  return t;
}
}  // namespace

void write_strings(const Handle& loc, const std::string& name, const std::vector<std::string>& v) {
  write_string_array(loc, name, v, {static_cast<hsize_t>(v.size())});
}

void write_string_array(const Handle& loc, const std::string& name,
                        const std::vector<std::string>& v, const std::vector<hsize_t>& dims) {
  if (element_count(dims) != v.size()) fail(loc, "string dataset " + name + ": shape mismatch");
  Handle type = vlen_string_type(loc);
  Handle space(dims.empty() ? H5Screate(H5S_SCALAR)
                            : H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr),
               H5Sclose, loc.file());
  Handle ds(H5Dcreate2(loc.id(), name.c_str(), type.id(), space.id(), H5P_DEFAULT, H5P_DEFAULT,
                       H5P_DEFAULT),
            H5Dclose, loc.file());
  std::vector<const char*> ptrs;
  for (const auto& s : v) ptrs.push_back(s.c_str());
  if (ds.id() < 0 ||
      (!v.empty() && H5Dwrite(ds.id(), type.id(), H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()) < 0))
    fail(loc, "cannot write string dataset " + name);
}

std::vector<std::string> read_strings(const Handle& loc, const std::string& name) {
  if (shape(loc, name).size() != 1)
    fail(loc, "dataset " + name + ": expected a 1-D list of strings");
  return read_string_array(loc, name);
}

std::vector<std::string> read_string_array(const Handle& loc, const std::string& name,
                                           std::vector<hsize_t>* dims) {
  const auto d = shape(loc, name);
  if (dims) *dims = d;
  const hsize_t count = element_count(d);
  Handle ds(H5Dopen2(loc.id(), name.c_str(), H5P_DEFAULT), H5Dclose, loc.file());
  if (ds.id() < 0) fail(loc, "cannot open dataset " + name);
  Handle ftype(H5Dget_type(ds.id()), H5Tclose, loc.file());
  if (H5Tget_class(ftype.id()) != H5T_STRING) fail(loc, "dataset " + name + ": expected strings");
  if (H5Tis_variable_str(ftype.id()) <= 0) {
    const std::size_t n = H5Tget_size(ftype.id());
    std::string buf(count * n, '\0');
    if (count > 0 && H5Dread(ds.id(), ftype.id(), H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data()) < 0)
      fail(loc, "cannot read string dataset " + name);
    std::vector<std::string> out;
    for (hsize_t i = 0; i < count; ++i) {
      const std::string s = buf.substr(i * n, n);
      out.push_back(s.substr(0, s.find('\0')));
    }
    return out;
  }
  Handle type = vlen_string_type(loc);
  std::vector<char*> ptrs(count, nullptr);
  if (count > 0 && H5Dread(ds.id(), type.id(), H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()) < 0)
    fail(loc, "cannot read string dataset " + name);
  std::vector<std::string> out;
  for (char* p : ptrs) {
    out.emplace_back(p ? p : "");
    H5free_memory(p);
  }
  return out;
}

bool is_group(const Handle& loc, const std::string& name) {
  if (!exists(loc, name)) return false;
  // Hard links only: an external link would make a crafted file open other files.
  H5L_info_t link;
  if (H5Lget_info(loc.id(), name.c_str(), &link, H5P_DEFAULT) < 0 || link.type != H5L_TYPE_HARD)
    fail(loc, "'" + name + "' is not a plain object (external or soft link)");
  // H5Iget_type of the opened object: the same call in HDF5 1.10 and 1.12+ (H5O_info_t is not).
  Handle obj(H5Oopen(loc.id(), name.c_str(), H5P_DEFAULT), H5Oclose, loc.file());
  if (obj.id() < 0) fail(loc, "cannot open " + name);
  return H5Iget_type(obj.id()) == H5I_GROUP;
}

DatasetType dataset_type(const Handle& loc, const std::string& name) {
  Handle ds(H5Dopen2(loc.id(), name.c_str(), H5P_DEFAULT), H5Dclose, loc.file());
  if (ds.id() < 0) fail(loc, "cannot open dataset " + name);
  Handle t(H5Dget_type(ds.id()), H5Tclose, loc.file());
  return {H5Tget_class(t.id()), H5Tget_size(t.id())};
}

std::vector<std::string> members(const Handle& group) {
  std::vector<std::string> names;
  auto add = [](hid_t, const char* n, const H5L_info_t*, void* data) -> herr_t {
    static_cast<std::vector<std::string>*>(data)->emplace_back(n);
    return 0;
  };
  hsize_t idx = 0;
  if (H5Literate(group.id(), H5_INDEX_NAME, H5_ITER_INC, &idx, add, &names) < 0)
    fail(group, "cannot list a group");
  return names;
}

namespace {
void write_attr_raw(const Handle& loc, const std::string& name, hid_t type, const void* value) {
  if (H5Aexists(loc.id(), name.c_str()) > 0) H5Adelete(loc.id(), name.c_str());
  Handle space(H5Screate(H5S_SCALAR), H5Sclose, loc.file());
  Handle a(H5Acreate2(loc.id(), name.c_str(), type, space.id(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose,
           loc.file());
  if (a.id() < 0 || H5Awrite(a.id(), type, value) < 0) fail(loc, "cannot write attribute " + name);
}
Handle open_attr(const Handle& loc, const std::string& name) {
  if (!has_attr(loc, name)) fail(loc, "missing attribute '" + name + "'");
  return Handle(H5Aopen(loc.id(), name.c_str(), H5P_DEFAULT), H5Aclose, loc.file());
}
}  // namespace

void set_attr(const Handle& loc, const std::string& name, const std::string& value) {
  Handle type = vlen_string_type(loc);
  const char* p = value.c_str();
  write_attr_raw(loc, name, type.id(), &p);
}
void set_attr(const Handle& loc, const std::string& name, std::int64_t value) {
  write_attr_raw(loc, name, H5T_NATIVE_INT64, &value);
}
void set_attr(const Handle& loc, const std::string& name, double value) {
  write_attr_raw(loc, name, H5T_NATIVE_DOUBLE, &value);
}
void set_attr_fixed(const Handle& loc, const std::string& name, const std::string& value) {
  Handle type(H5Tcopy(H5T_C_S1), H5Tclose, loc.file());
  H5Tset_size(type.id(), std::max<std::size_t>(1, value.size()));
  H5Tset_strpad(type.id(), H5T_STR_NULLPAD);
  H5Tset_cset(type.id(), H5T_CSET_UTF8);
  std::string buf = value;
  buf.resize(std::max<std::size_t>(1, value.size()), '\0');
  write_attr_raw(loc, name, type.id(), buf.data());
}
void set_attr_u64(const Handle& loc, const std::string& name, std::uint64_t value) {
  write_attr_raw(loc, name, H5T_NATIVE_UINT64, &value);
}
std::uint64_t attr_u64(const Handle& loc, const std::string& name) {
  Handle a = open_attr(loc, name);
  std::uint64_t v = 0;
  if (H5Aread(a.id(), H5T_NATIVE_UINT64, &v) < 0) fail(loc, "cannot read attribute " + name);
  return v;
}
bool has_attr(const Handle& loc, const std::string& name) {
  return H5Aexists(loc.id(), name.c_str()) > 0;
}

std::string attr_string(const Handle& loc, const std::string& name) {
  Handle a = open_attr(loc, name);
  Handle ftype(H5Aget_type(a.id()), H5Tclose, loc.file());
  if (H5Tget_class(ftype.id()) != H5T_STRING)
    fail(loc, "attribute " + name + ": expected a string");
  if (H5Tis_variable_str(ftype.id()) <= 0) {
    std::string s(H5Tget_size(ftype.id()), '\0');
    if (H5Aread(a.id(), ftype.id(), s.data()) < 0) fail(loc, "cannot read attribute " + name);
    return s.substr(0, s.find('\0'));
  }
  Handle type = vlen_string_type(loc);
  char* p = nullptr;
  if (H5Aread(a.id(), type.id(), &p) < 0) fail(loc, "cannot read attribute " + name);
  std::string s = p ? p : "";
  H5free_memory(p);
  return s;
}
std::int64_t attr_int(const Handle& loc, const std::string& name) {
  Handle a = open_attr(loc, name);
  std::int64_t v = 0;
  if (H5Aread(a.id(), H5T_NATIVE_INT64, &v) < 0) fail(loc, "cannot read attribute " + name);
  return v;
}
double attr_double(const Handle& loc, const std::string& name) {
  Handle a = open_attr(loc, name);
  double v = 0;
  if (H5Aread(a.id(), H5T_NATIVE_DOUBLE, &v) < 0) fail(loc, "cannot read attribute " + name);
  return v;
}

}  // namespace supsnn::h5
