#include "ckpt/checkpoint.hpp"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <type_traits>

#include "common/error.hpp"
#include "io/h5.hpp"

namespace supsnn {

namespace {

namespace fs = std::filesystem;

constexpr const char* kSchema = "supsnn-checkpoint";
constexpr std::int64_t kSchemaVersion = 1;
// The parameter-sized arrays, in checksum order; the last one only with optim.ema.
constexpr int kMaxArrays = 4;
constexpr const char* kArrays[kMaxArrays] = {"model/params", "optimizer/adam_m", "optimizer/adam_v",
                                             "optimizer/ema"};
int array_count(bool has_ema) {
  return has_ema ? 4 : 3;
}

// Per-epoch metric columns, stored as /metrics/<name> (float64, one value per finished epoch).
using MetricField = double EpochMetrics::*;  // an alias: nvcc's front end warns on the raw form
struct Column {
  const char* name;
  MetricField field;
};
constexpr Column kColumns[] = {
    {"train_loss", &EpochMetrics::train_loss},
    {"train_accuracy", &EpochMetrics::train_accuracy},
    {"val_loss", &EpochMetrics::val_loss},
    {"val_accuracy", &EpochMetrics::val_accuracy},
    {"test_loss", &EpochMetrics::test_loss},
    {"test_accuracy", &EpochMetrics::test_accuracy},
    {"lr", &EpochMetrics::lr},
    {"samples_per_s", &EpochMetrics::samples_per_s},
    {"seconds", &EpochMetrics::seconds},
};

// HDF5's automatic error-stack printing off while a possibly damaged file is handled: the user
// sees the one-line supsnn::Error instead of a page of library internals.
class QuietHdf5 {
 public:
  QuietHdf5() {
    H5Eget_auto2(H5E_DEFAULT, &func_, &data_);
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  }
  ~QuietHdf5() { H5Eset_auto2(H5E_DEFAULT, func_, data_); }
  QuietHdf5(const QuietHdf5&) = delete;
  QuietHdf5& operator=(const QuietHdf5&) = delete;

 private:
  H5E_auto2_t func_ = nullptr;
  void* data_ = nullptr;
};

void bcast_string(MPI_Comm comm, std::string& s, int root) {
  unsigned long n = s.size();
  MPI_Bcast(&n, 1, MPI_UNSIGNED_LONG, root, comm);
  s.resize(n);
  if (n > 0) MPI_Bcast(s.data(), static_cast<int>(n), MPI_CHAR, root, comm);
}

// Runs f on every rank; when it throws on any rank, every rank throws the first failing rank's
// message, so that no rank goes on into a collective call that the others have left.
template <class F>
void agree(const Comm& comm, const std::string& path, F&& f) {
  std::string msg;
  try {
    f();
  } catch (const Error& e) {
    msg = e.what();
  } catch (const std::exception& e) {
    msg = path + ": " + e.what();
  }
  if (comm.size() == 1) {
    if (!msg.empty()) throw Error(msg);
    return;
  }
  const int mine = msg.empty() ? comm.size() : comm.rank();
  int first = comm.size();
  MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, comm.raw());
  if (first == comm.size()) return;
  bcast_string(comm.raw(), msg, first);
  throw Error(msg);
}

// The contiguous part [begin, begin + count) of n elements that `rank` writes and reads.
struct Slice {
  hsize_t begin = 0, count = 0;
};
Slice slice_of(hsize_t n, int rank, int size) {
  const hsize_t b = n * rank / size, e = n * (rank + 1) / size;
  return {b, e - b};
}

std::uint32_t crc_bytes(const void* p, std::size_t n) {
  return static_cast<std::uint32_t>(
      crc32_z(crc32_z(0, nullptr, 0), static_cast<const Bytef*>(p), n));
}

// CRC-32 (zlib) of the concatenated stored bytes of the first `arrays` of kArrays (params,
// adam_m, adam_v and, with averaging, ema), from each rank's CRCs of its own slices
// (crc32_combine): every rank hashes only its slice, and all ranks get the same value for any
// world size.
std::uint32_t combined_crc(const Comm& comm, const std::array<unsigned long, kMaxArrays>& mine,
                           int arrays, hsize_t n, std::size_t elem) {
  std::vector<unsigned long> all(kMaxArrays * comm.size());
  MPI_Allgather(mine.data(), kMaxArrays, MPI_UNSIGNED_LONG, all.data(), kMaxArrays,
                MPI_UNSIGNED_LONG, comm.raw());
  uLong crc = crc32(0, nullptr, 0);
  for (int a = 0; a < arrays; ++a)
    for (int r = 0; r < comm.size(); ++r) {
      const hsize_t len = slice_of(n, r, comm.size()).count * elem;
      if (len > 0) crc = crc32_combine(crc, all[kMaxArrays * r + a], static_cast<z_off_t>(len));
    }
  return static_cast<std::uint32_t>(crc);
}

// Stored (file) type of the parameter arrays: little-endian IEEE, so that the checksum is over
// the bytes on disk (supsnn hosts are little-endian: x86-64, aarch64, ppc64le).
template <class T>
hid_t stored_type() {
  return sizeof(T) == 4 ? H5T_IEEE_F32LE : H5T_IEEE_F64LE;
}

h5::Handle fixed_string_type(std::size_t size, const std::string& file) {
  h5::Handle t(H5Tcopy(H5T_C_S1), H5Tclose, file);
  H5Tset_size(t.id(), std::max<std::size_t>(1, size));
  H5Tset_strpad(t.id(), H5T_STR_NULLPAD);
  H5Tset_cset(t.id(), H5T_CSET_UTF8);
  return t;
}

// Creates a dataset (collective) and writes it from rank 0's `data` only: the other ranks
// select nothing, as parallel HDF5 wants every rank in the call. dims empty: a scalar.
void write_rank0(const h5::Handle& loc, const std::string& name, hid_t ftype, hid_t mtype,
                 const std::vector<hsize_t>& dims, const void* data, const h5::Handle& dxpl,
                 bool root) {
  const std::string& file = loc.file();
  h5::Handle space(dims.empty()
                       ? H5Screate(H5S_SCALAR)
                       : H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr),
                   H5Sclose, file);
  h5::Handle ds(
      H5Dcreate2(loc.id(), name.c_str(), ftype, space.id(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
      H5Dclose, file);
  if (ds.id() < 0) throw Error(file + ": cannot create dataset " + name);
  hsize_t n = 1;
  for (auto d : dims) n *= d;
  if (n == 0) return;
  h5::Handle fspace(H5Dget_space(ds.id()), H5Sclose, file);
  h5::Handle mspace(H5Scopy(space.id()), H5Sclose, file);
  const char dummy = 0;
  if (!root) {
    H5Sselect_none(fspace.id());
    H5Sselect_none(mspace.id());
  }
  if (H5Dwrite(ds.id(), mtype, mspace.id(), fspace.id(), dxpl.id(), root ? data : &dummy) < 0)
    throw Error(file + ": cannot write dataset " + name);
}

void write_strings_rank0(const h5::Handle& loc, const std::string& name,
                         const std::vector<std::string>& v, const h5::Handle& dxpl, bool root) {
  std::size_t len = 1;
  for (const auto& s : v) len = std::max(len, s.size());
  h5::Handle type = fixed_string_type(len, loc.file());
  std::string buf(v.size() * len, '\0');
  for (std::size_t i = 0; i < v.size(); ++i) buf.replace(i * len, v[i].size(), v[i]);
  write_rank0(loc, name, type.id(), type.id(), {v.size()}, buf.data(), dxpl, root);
}

void write_text_rank0(const h5::Handle& loc, const std::string& name, const std::string& text,
                      const h5::Handle& dxpl, bool root) {
  h5::Handle type = fixed_string_type(text.size(), loc.file());
  std::string buf = text;
  buf.resize(std::max<std::size_t>(1, text.size()), '\0');
  write_rank0(loc, name, type.id(), type.id(), {}, buf.data(), dxpl, root);
}

// Writes params, adam_m, adam_v (and ema) as T, each rank its own slice with one collective
// transfer per array; returns the CRC-32 of all arrays' stored bytes (same on every rank).
template <class T>
std::uint32_t write_arrays(const Comm& comm, const h5::Handle& file, const h5::Handle& dxpl,
                           const TrainState& s) {
  const hsize_t n = s.params.size();
  const Slice my = slice_of(n, comm.rank(), comm.size());
  const std::vector<double>* src[kMaxArrays] = {&s.params, &s.adam_m, &s.adam_v, &s.ema};
  const int arrays = array_count(!s.ema.empty());
  std::array<unsigned long, kMaxArrays> crcs{};
  std::vector<T> buf;
  for (int a = 0; a < arrays; ++a) {
    const double* begin = src[a]->data() + my.begin;
    const T* data = nullptr;
    if constexpr (std::is_same_v<T, double>) {
      data = begin;
    } else {
      buf.assign(begin, begin + my.count);
      data = buf.data();
    }
    crcs[a] = crc_bytes(data, my.count * sizeof(T));
    h5::Handle space(H5Screate_simple(1, &n, nullptr), H5Sclose, file.file());
    h5::Handle ds(H5Dcreate2(file.id(), kArrays[a], stored_type<T>(), space.id(), H5P_DEFAULT,
                             H5P_DEFAULT, H5P_DEFAULT),
                  H5Dclose, file.file());
    if (ds.id() < 0) throw Error(file.file() + ": cannot create dataset " + kArrays[a]);
    if (n == 0) continue;
    const hsize_t mcount = std::max<hsize_t>(1, my.count);
    h5::Handle mspace(H5Screate_simple(1, &mcount, nullptr), H5Sclose, file.file());
    if (my.count > 0) {
      H5Sselect_hyperslab(space.id(), H5S_SELECT_SET, &my.begin, nullptr, &my.count, nullptr);
    } else {
      H5Sselect_none(space.id());
      H5Sselect_none(mspace.id());
    }
    const T dummy = 0;
    if (H5Dwrite(ds.id(), h5::native_type<T>(), mspace.id(), space.id(), dxpl.id(),
                 my.count > 0 ? data : &dummy) < 0)
      throw Error(file.file() + ": cannot write dataset " + kArrays[a]);
  }
  return combined_crc(comm, crcs, arrays, n, sizeof(T));
}

void check_state(const std::string& path, const TrainState& s) {
  if (s.adam_m.size() != s.params.size() || s.adam_v.size() != s.params.size())
    throw Error(path + ": cannot write checkpoint: Adam moments (" +
                std::to_string(s.adam_m.size()) + ", " + std::to_string(s.adam_v.size()) +
                " values) do not match the " + std::to_string(s.params.size()) + " parameters");
  if (!s.ema.empty() && s.ema.size() != s.params.size())
    throw Error(path + ": cannot write checkpoint: the weight average has " +
                std::to_string(s.ema.size()) + " values, expected " +
                std::to_string(s.params.size()));
  std::size_t k = 0;
  for (const auto& m : s.history) {
    if (m.test_confusion.empty()) continue;
    if (k != 0 && m.test_confusion.size() != k)
      throw Error(path + ": cannot write checkpoint: test confusion matrices differ in size");
    k = m.test_confusion.size();
  }
}

void write_file(const Comm& comm, const std::string& tmp, const TrainState& s) {
  const bool root = comm.rank() == 0;
  h5::Handle file = h5::create_file_mpi(tmp, comm.raw());
  {
    const h5::Handle dxpl = h5::collective_transfer(tmp);
    h5::set_attr_fixed(file, "schema", kSchema);
    h5::set_attr(file, "schema_version", kSchemaVersion);
    h5::set_attr_fixed(file, "version", s.version);
    h5::set_attr_fixed(file, "git_commit", s.git_commit);
    h5::set_attr(file, "world_size", static_cast<std::int64_t>(s.world_size));
    h5::set_attr(file, "global_batch", static_cast<std::int64_t>(s.global_batch));
    h5::set_attr(file, "single_precision", static_cast<std::int64_t>(s.single_precision));
    h5::set_attr(file, "param_count", static_cast<std::int64_t>(s.params.size()));

    {
      const h5::Handle model = h5::create_group(file, "model");
      const h5::Handle opt = h5::create_group(file, "optimizer");
      h5::set_attr(opt, "adam_steps", static_cast<std::int64_t>(s.adam_steps));
    }
    const std::uint32_t crc = s.single_precision ? write_arrays<float>(comm, file, dxpl, s)
                                                 : write_arrays<double>(comm, file, dxpl, s);
    {
      const h5::Handle model = h5::open_group(file, "model");
      write_strings_rank0(model, "class_names", s.class_names, dxpl, root);
    }
    {
      const h5::Handle g = h5::create_group(file, "progress");
      h5::set_attr(g, "epoch", static_cast<std::int64_t>(s.epoch));
      h5::set_attr(g, "step_in_epoch", static_cast<std::int64_t>(s.step_in_epoch));
      h5::set_attr(g, "global_step", static_cast<std::int64_t>(s.global_step));
      h5::set_attr_u64(g, "seed", s.seed);
      h5::set_attr(g, "epoch_loss_sum", s.epoch_loss_sum);
      h5::set_attr(g, "epoch_correct_sum", s.epoch_correct_sum);
    }
    {
      const h5::Handle g = h5::create_group(file, "metrics");
      const hsize_t e = s.history.size();
      std::vector<std::int64_t> epochs;
      for (const auto& m : s.history) epochs.push_back(m.epoch);
      write_rank0(g, "epoch", H5T_STD_I64LE, H5T_NATIVE_INT64, {e}, epochs.data(), dxpl, root);
      for (const auto& c : kColumns) {
        std::vector<double> v;
        for (const auto& m : s.history) v.push_back(m.*c.field);
        write_rank0(g, c.name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, {e}, v.data(), dxpl, root);
      }
      // Epochs x (classes*classes) confusion counts; a row of NaN: that epoch had none.
      std::size_t k = 0;
      for (const auto& m : s.history) k = std::max(k, m.test_confusion.size());
      std::vector<double> conf;
      for (const auto& m : s.history)
        if (m.test_confusion.empty())
          conf.insert(conf.end(), k, NAN);
        else
          conf.insert(conf.end(), m.test_confusion.begin(), m.test_confusion.end());
      write_rank0(g, "test_confusion", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, {e, k}, conf.data(), dxpl,
                  root);
    }
    {
      const h5::Handle g = h5::create_group(file, "run");
      write_text_rank0(g, "config_toml", s.config_toml, dxpl, root);
    }
    {
      const h5::Handle g = h5::create_group(file, "data");
      std::vector<std::string> roles, paths;
      std::vector<std::uint64_t> bytes, sums;
      for (const auto& d : s.data_files) {
        roles.push_back(d.role);
        paths.push_back(d.path);
        bytes.push_back(d.bytes);
        sums.push_back(d.checksum);
      }
      const hsize_t n = s.data_files.size();
      write_strings_rank0(g, "role", roles, dxpl, root);
      write_strings_rank0(g, "path", paths, dxpl, root);
      write_rank0(g, "bytes", H5T_STD_U64LE, H5T_NATIVE_UINT64, {n}, bytes.data(), dxpl, root);
      write_rank0(g, "checksum", H5T_STD_U64LE, H5T_NATIVE_UINT64, {n}, sums.data(), dxpl, root);
    }
    // Last: a file with this attribute was written to the end (the rename is the real commit).
    h5::set_attr_u64(file, "checksum_crc32", crc);
  }
  // Global flush: MPI_File_sync, so the data is on stable storage before the rename.
  if (H5Fflush(file.id(), H5F_SCOPE_GLOBAL) < 0) throw Error(tmp + ": cannot flush checkpoint");
  if (!file.close()) throw Error(tmp + ": cannot close checkpoint (disk full?)");
}

void fsync_dir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return;
  ::fsync(fd);  // the rename itself durable; best effort (some file systems refuse)
  ::close(fd);
}

// ---- reading --------------------------------------------------------------------------------

std::string type_name(hid_t t) {
  const H5T_class_t c = H5Tget_class(t);
  const std::size_t bits = H5Tget_size(t) * 8;
  if (c == H5T_FLOAT) return "float" + std::to_string(bits);
  if (c == H5T_INTEGER)
    return (H5Tget_sign(t) == H5T_SGN_NONE ? "uint" : "int") + std::to_string(bits);
  if (c == H5T_STRING) return "string";
  return "another type";
}

std::string dims_text(const std::vector<hsize_t>& d) {
  if (d.empty()) return "scalar";
  std::string s = "[";
  for (std::size_t i = 0; i < d.size(); ++i) s += (i ? " x " : "") + std::to_string(d[i]);
  return s + "]";
}

// Checks that dataset `name` has the given shape and element type class/size (size 0: any).
void expect_dataset(const h5::Handle& loc, const std::string& name, H5T_class_t cls,
                    std::size_t size, const std::vector<hsize_t>& dims) {
  const auto d = h5::shape(loc, name);  // throws "missing dataset" when absent
  h5::Handle ds(H5Dopen2(loc.id(), name.c_str(), H5P_DEFAULT), H5Dclose, loc.file());
  h5::Handle t(H5Dget_type(ds.id()), H5Tclose, loc.file());
  if (ds.id() < 0 || t.id() < 0) throw Error(loc.file() + ": cannot open dataset " + name);
  const bool type_ok = H5Tget_class(t.id()) == cls && (size == 0 || H5Tget_size(t.id()) == size);
  if (!type_ok || d != dims) {
    const std::string want = cls == H5T_FLOAT     ? "float" + std::to_string(size * 8)
                             : cls == H5T_INTEGER ? "int" + std::to_string(size * 8)
                                                  : "string";
    throw Error(loc.file() + ": dataset " + name + " is " + type_name(t.id()) + " " + dims_text(d) +
                ", expected " + want + " " + dims_text(dims));
  }
}

std::string read_text(const h5::Handle& loc, const std::string& name) {
  expect_dataset(loc, name, H5T_STRING, 0, {});
  h5::Handle ds(H5Dopen2(loc.id(), name.c_str(), H5P_DEFAULT), H5Dclose, loc.file());
  h5::Handle t(H5Dget_type(ds.id()), H5Tclose, loc.file());
  if (H5Tis_variable_str(t.id()) > 0)
    throw Error(loc.file() + ": dataset " + name + ": expected a fixed-length string");
  std::string s(H5Tget_size(t.id()), '\0');
  if (H5Dread(ds.id(), t.id(), H5S_ALL, H5S_ALL, H5P_DEFAULT, s.data()) < 0)
    throw Error(loc.file() + ": cannot read dataset " + name + " (corrupt or truncated file?)");
  return s.substr(0, s.find('\0'));
}

std::int64_t attr_at_least(const h5::Handle& loc, const std::string& name, std::int64_t min) {
  const std::int64_t v = h5::attr_int(loc, name);
  if (v < min)
    throw Error(loc.file() + ": attribute " + name + " = " + std::to_string(v) +
                ", expected at least " + std::to_string(min));
  return v;
}

// What one rank holds after the HDF5 part of a read: all small fields, and its own slices of
// the parameter arrays (stored type) in full-size buffers.
struct Loaded {
  TrainState state;
  std::uint64_t stored_crc = 0;
  hsize_t n = 0;
  int arrays = 3;                                 // 4: with the weight average
  std::array<std::vector<float>, kMaxArrays> f;   // single precision
  std::array<std::vector<double>, kMaxArrays> d;  // double precision
  std::array<unsigned long, kMaxArrays> crcs{};
};

template <class T>
void read_slices(const Comm& comm, const h5::Handle& file, Loaded& l,
                 std::array<std::vector<T>, kMaxArrays>& out) {
  const Slice my = slice_of(l.n, comm.rank(), comm.size());
  const h5::Handle dxpl = h5::collective_transfer(file.file());
  for (int a = 0; a < l.arrays; ++a) {
    out[a].resize(l.n);
    if (l.n == 0) continue;
    h5::Handle ds(H5Dopen2(file.id(), kArrays[a], H5P_DEFAULT), H5Dclose, file.file());
    h5::Handle fspace(H5Dget_space(ds.id()), H5Sclose, file.file());
    const hsize_t mcount = std::max<hsize_t>(1, my.count);
    h5::Handle mspace(H5Screate_simple(1, &mcount, nullptr), H5Sclose, file.file());
    if (my.count > 0) {
      H5Sselect_hyperslab(fspace.id(), H5S_SELECT_SET, &my.begin, nullptr, &my.count, nullptr);
    } else {
      H5Sselect_none(fspace.id());
      H5Sselect_none(mspace.id());
    }
    T dummy = 0;
    T* dst = my.count > 0 ? out[a].data() + my.begin : &dummy;
    // Memory type = stored little-endian type: no conversion, the CRC sees the bytes on disk.
    if (H5Dread(ds.id(), stored_type<T>(), mspace.id(), fspace.id(), dxpl.id(), dst) < 0)
      throw Error(file.file() + ": cannot read dataset " + kArrays[a] +
                  " (corrupt or truncated file?)");
    l.crcs[a] = crc_bytes(dst, my.count * sizeof(T));
  }
}

void read_file(const Comm& comm, const std::string& path, Loaded& l) {
  TrainState& s = l.state;
  const h5::Handle file = h5::open_file_mpi(path, comm.raw());
  if (!h5::has_attr(file, "schema"))
    throw Error(path + ": not a supsnn checkpoint (no 'schema' attribute)");
  const std::string schema = h5::attr_string(file, "schema");
  if (schema != kSchema)
    throw Error(path + ": not a supsnn checkpoint (schema '" + schema + "', expected '" + kSchema +
                "')");
  const std::int64_t version = h5::attr_int(file, "schema_version");
  if (version != kSchemaVersion)
    throw Error(path + ": checkpoint schema_version " + std::to_string(version) +
                ", this supsnn reads version " + std::to_string(kSchemaVersion));
  // Written last: its absence means the writer never finished.
  l.stored_crc = h5::attr_u64(file, "checksum_crc32");
  s.version = h5::attr_string(file, "version");
  s.git_commit = h5::attr_string(file, "git_commit");
  s.world_size = static_cast<int>(attr_at_least(file, "world_size", 1));
  s.global_batch = attr_at_least(file, "global_batch", 1);
  const std::int64_t single = h5::attr_int(file, "single_precision");
  if (single != 0 && single != 1)
    throw Error(path + ": attribute single_precision = " + std::to_string(single) +
                ", expected 0 or 1");
  s.single_precision = single == 1;
  l.n = static_cast<hsize_t>(attr_at_least(file, "param_count", 0));
  {
    const h5::Handle g = h5::open_group(file, "progress");
    s.epoch = attr_at_least(g, "epoch", 1);
    s.step_in_epoch = attr_at_least(g, "step_in_epoch", 0);
    s.global_step = attr_at_least(g, "global_step", 0);
    s.seed = h5::attr_u64(g, "seed");
    s.epoch_loss_sum = h5::attr_double(g, "epoch_loss_sum");
    s.epoch_correct_sum = h5::attr_double(g, "epoch_correct_sum");
  }
  {
    const h5::Handle g = h5::open_group(file, "optimizer");
    s.adam_steps = attr_at_least(g, "adam_steps", 0);
  }
  const std::size_t elem = s.single_precision ? 4 : 8;
  l.arrays = array_count(h5::exists(file, kArrays[3]));
  for (int a = 0; a < l.arrays; ++a) expect_dataset(file, kArrays[a], H5T_FLOAT, elem, {l.n});
  if (s.single_precision)
    read_slices(comm, file, l, l.f);
  else
    read_slices(comm, file, l, l.d);

  {
    const h5::Handle g = h5::open_group(file, "model");
    s.class_names = h5::read_strings(g, "class_names");
  }
  {
    const h5::Handle g = h5::open_group(file, "metrics");
    std::vector<hsize_t> dims;
    const auto epochs = h5::read<std::int64_t>(g, "epoch", &dims);
    if (dims.size() != 1) throw Error(path + ": dataset metrics/epoch: expected a 1-D array");
    const hsize_t e = dims[0];
    s.history.assign(e, EpochMetrics{});
    for (hsize_t i = 0; i < e; ++i) s.history[i].epoch = epochs[i];
    for (const auto& c : kColumns) {
      expect_dataset(g, c.name, H5T_FLOAT, 8, {e});
      const auto v = h5::read<double>(g, c.name);
      for (hsize_t i = 0; i < e; ++i) s.history[i].*c.field = v[i];
    }
    const auto conf = h5::read<double>(g, "test_confusion", &dims);
    if (dims.size() != 2 || dims[0] != e)
      throw Error(path + ": dataset metrics/test_confusion is " + dims_text(dims) + ", expected [" +
                  std::to_string(e) + " x classes^2]");
    const hsize_t k = dims[1];
    for (hsize_t i = 0; i < e; ++i) {
      const auto row = conf.begin() + i * k;
      if (!std::all_of(row, row + k, [](double x) { return std::isnan(x); }))
        s.history[i].test_confusion.assign(row, row + k);
    }
  }
  {
    const h5::Handle g = h5::open_group(file, "run");
    s.config_toml = read_text(g, "config_toml");
  }
  {
    const h5::Handle g = h5::open_group(file, "data");
    const auto roles = h5::read_strings(g, "role");
    const auto paths = h5::read_strings(g, "path");
    const hsize_t n = roles.size();
    expect_dataset(g, "bytes", H5T_INTEGER, 8, {n});
    expect_dataset(g, "checksum", H5T_INTEGER, 8, {n});
    if (paths.size() != n)
      throw Error(path + ": data/path has " + std::to_string(paths.size()) + " entries, expected " +
                  std::to_string(n) + " (as data/role)");
    const auto bytes = h5::read<std::uint64_t>(g, "bytes");
    const auto sums = h5::read<std::uint64_t>(g, "checksum");
    for (hsize_t i = 0; i < n; ++i) s.data_files.push_back({roles[i], paths[i], bytes[i], sums[i]});
  }
}

// Every rank gets every slice: rank r broadcasts its own part (in pieces below INT_MAX).
template <class T>
void share_slices(const Comm& comm, hsize_t n, int count,
                  std::array<std::vector<T>, kMaxArrays>& arrays) {
  const hsize_t piece = hsize_t{1} << 30;
  for (int a = 0; a < count; ++a)
    for (int r = 0; r < comm.size(); ++r) {
      auto& v = arrays[a];
      const Slice sl = slice_of(n, r, comm.size());
      for (hsize_t off = 0; off < sl.count; off += piece) {
        const int count = static_cast<int>(std::min(piece, sl.count - off));
        MPI_Bcast(v.data() + sl.begin + off, count, sizeof(T) == 4 ? MPI_FLOAT : MPI_DOUBLE, r,
                  comm.raw());
      }
    }
}

// step-NNNNNNNN.h5 (any number of digits) -> step; -1 for other names.
long step_of(const std::string& name) {
  const std::string pre = "step-", post = ".h5";
  if (name.size() <= pre.size() + post.size() || name.compare(0, pre.size(), pre) != 0 ||
      name.compare(name.size() - post.size(), post.size(), post) != 0)
    return -1;
  const std::string digits = name.substr(pre.size(), name.size() - pre.size() - post.size());
  if (digits.size() > 18 ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return -1;
  return std::stol(digits);
}

// Complete checkpoints of `dir`, newest (highest step) first.
std::vector<std::pair<long, std::string>> list_checkpoints(const std::string& dir) {
  std::vector<std::pair<long, std::string>> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const long step = step_of(it->path().filename().string());
    if (step >= 0 && it->is_regular_file(ec)) out.emplace_back(step, it->path().string());
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  return out;
}

std::uint64_t fnv1a(std::uint64_t h, const unsigned char* p, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= 0x100000001b3ULL;
  }
  return h;
}

}  // namespace

DataFileId identify_data_file(const std::string& role, const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::error_code ec;
  const std::uint64_t size = fs::file_size(path, ec);
  if (!f || ec) throw Error(path + ": cannot read " + role + " data file to identify it");
  // FNV-1a 64 of: the size (8 bytes, little-endian), the first MiB, the last MiB.
  std::uint64_t h = 0xcbf29ce484222325ULL;
  unsigned char le[8];
  for (int i = 0; i < 8; ++i) le[i] = static_cast<unsigned char>(size >> (8 * i));
  h = fnv1a(h, le, 8);
  const std::uint64_t mib = 1 << 20, head = std::min(size, mib);
  std::vector<unsigned char> buf(head);
  auto chunk = [&](std::uint64_t offset) {
    f.seekg(static_cast<std::streamoff>(offset));
    f.read(reinterpret_cast<char*>(buf.data()), static_cast<std::streamsize>(head));
    if (!f) throw Error(path + ": cannot read " + role + " data file to identify it");
    h = fnv1a(h, buf.data(), head);
  };
  chunk(0);
  chunk(size - head);
  return {role, path, size, h};
}

std::uint64_t write_checkpoint(const Comm& comm, const std::string& path, const TrainState& state) {
  check_state(path, state);
  // Rank 0 names the temporary file (the job's or its own id) and checks the folder.
  std::string tmp, err;
  if (comm.rank() == 0) {
    const fs::path p(path);
    const fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
    const char* job = std::getenv("SLURM_JOB_ID");
    const std::string id = job && *job ? std::string(job) : std::to_string(::getpid());
    if (!fs::is_directory(dir))
      err = path + ": checkpoint directory " + dir.string() + " does not exist";
    tmp = (dir / ("." + p.filename().string() + ".tmp-" + id)).string();
  }
  bcast_string(comm.raw(), err, 0);
  if (!err.empty()) throw Error(err);
  bcast_string(comm.raw(), tmp, 0);
  {
    const QuietHdf5 quiet;
    try {
      write_file(comm, tmp, state);
    } catch (...) {
      if (comm.rank() == 0) std::remove(tmp.c_str());
      throw;
    }
  }
  MPI_Barrier(comm.raw());  // every rank's data is in the file before it gets its final name
  unsigned long size = 0;
  if (comm.rank() == 0) {
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
      err = path + ": cannot move the finished checkpoint into place from " + tmp;
      std::remove(tmp.c_str());
    } else {
      const fs::path p(path);
      fsync_dir(p.has_parent_path() ? p.parent_path().string() : ".");
      std::error_code ec;
      size = fs::file_size(path, ec);
    }
  }
  bcast_string(comm.raw(), err, 0);
  if (!err.empty()) throw Error(err);
  MPI_Bcast(&size, 1, MPI_UNSIGNED_LONG, 0, comm.raw());
  return size;
}

// All ranks open the file with MPI-IO and read their own slice of the large arrays (collective
// transfers), then broadcast the slices: the file is read once in total and in parallel, rather
// than once per rank or through rank 0 alone. Small fields are read by every rank (metadata
// reads are collective, so rank 0 fetches and shares them).
TrainState read_checkpoint(const Comm& comm, const std::string& path) {
  const QuietHdf5 quiet;
  Loaded l;
  agree(comm, path, [&] { read_file(comm, path, l); });
  const std::uint32_t crc = combined_crc(comm, l.crcs, l.arrays, l.n,
                                         l.state.single_precision ? 4 : 8);  // same on all ranks
  if (crc != l.stored_crc) {
    char msg[160];
    std::snprintf(msg, sizeof msg,
                  ": checksum mismatch (stored crc32 %08llx, data %08x): parameter or optimizer "
                  "data is damaged",
                  static_cast<unsigned long long>(l.stored_crc), crc);
    throw Error(path + msg);
  }
  TrainState s = std::move(l.state);
  if (s.single_precision) {
    share_slices(comm, l.n, l.arrays, l.f);
    s.params.assign(l.f[0].begin(), l.f[0].end());
    s.adam_m.assign(l.f[1].begin(), l.f[1].end());
    s.adam_v.assign(l.f[2].begin(), l.f[2].end());
    if (l.arrays == 4) s.ema.assign(l.f[3].begin(), l.f[3].end());
  } else {
    share_slices(comm, l.n, l.arrays, l.d);
    s.params = std::move(l.d[0]);
    s.adam_m = std::move(l.d[1]);
    s.adam_v = std::move(l.d[2]);
    if (l.arrays == 4) s.ema = std::move(l.d[3]);
  }
  return s;
}

std::string checkpoint_path(const std::string& dir, long global_step) {
  char name[48];
  std::snprintf(name, sizeof name, "step-%08ld.h5", global_step);
  return (fs::path(dir) / name).string();
}

// Each candidate is read and verified in full, collectively: errors are agreed between ranks, so
// all ranks skip the same files and return the same path.
std::string find_latest_checkpoint(const Comm& comm, const std::string& dir,
                                   const std::function<void(const std::string&)>& warn,
                                   TrainState* state) {
  std::string names;
  if (comm.rank() == 0)
    for (const auto& c : list_checkpoints(dir)) names += c.second + '\n';
  bcast_string(comm.raw(), names, 0);
  std::vector<std::string> paths;
  for (std::size_t b = 0, e; (e = names.find('\n', b)) != std::string::npos; b = e + 1)
    paths.push_back(names.substr(b, e - b));
  for (std::size_t i = 0; i < paths.size(); ++i) {
    try {
      TrainState st = read_checkpoint(comm, paths[i]);
      if (state) *state = std::move(st);
      return paths[i];
    } catch (const Error& e) {
      std::string why = e.what();
      if (why.compare(0, paths[i].size() + 2, paths[i] + ": ") == 0)
        why = why.substr(paths[i].size() + 2);
      if (warn)
        warn(paths[i] + ": " + why +
             (i + 1 < paths.size() ? "; falling back to older checkpoint"
                                   : "; no older checkpoint to fall back to"));
    }
  }
  return "";
}

void rotate_checkpoints(const std::string& dir, int keep_last, long keep_every_steps) {
  // Never remove the newest one: it is the one a resume needs.
  const std::size_t keep = static_cast<std::size_t>(std::max(1, keep_last));
  const auto all = list_checkpoints(dir);
  std::error_code ec;  // best effort: a file that cannot be removed must not stop training
  for (std::size_t i = keep; i < all.size(); ++i)
    if (keep_every_steps <= 0 || all[i].first % keep_every_steps != 0)
      fs::remove(all[i].second, ec);
  // Temporary files of writers that crashed (the caller's own write has finished).
  std::vector<fs::path> stale;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.rfind(".step-", 0) == 0 && name.find(".h5.tmp-") != std::string::npos)
      stale.push_back(it->path());
  }
  for (const auto& p : stale) fs::remove(p, ec);
}

}  // namespace supsnn
