#include "ckpt/checkpoint.hpp"

#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <type_traits>

#include "common/error.hpp"
#include "io/h5.hpp"

namespace supsnn {

namespace {

namespace fs = std::filesystem;

constexpr const char* kSchema = "supsnn-checkpoint";
// Version 2 added checksum_small_crc32 (every value besides the parameter-sized arrays);
// version 1 files are still read, with only their arrays verified (docs/formats.md). The
// optional model/buffers came later within version 2: a file without it is unchanged.
constexpr std::int64_t kSchemaVersion = 2;
constexpr std::int64_t kOldestSchemaVersion = 1;
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

// Collective: every rank learns whether a step failed on any rank, and then all throw that
// rank's message. A full disk can fail a collective write on the aggregating rank only; the
// others must not go on into the next collective call alone (that would hang the job).
void all_ok(const Comm& comm, const std::string& path, const std::string& err) {
  agree(comm, path, [&] {
    if (!err.empty()) throw Error(err);
  });
}

// Creates a dataset (collective) and writes it from rank 0's `data` only: the other ranks
// select nothing, as parallel HDF5 wants every rank in the call. dims empty: a scalar.
void write_rank0(const h5::Handle& loc, const std::string& name, hid_t ftype, hid_t mtype,
                 const std::vector<hsize_t>& dims, const void* data, const h5::Handle& dxpl,
                 const Comm& comm) {
  const bool root = comm.rank() == 0;
  const std::string& file = loc.file();
  h5::Handle space(dims.empty()
                       ? H5Screate(H5S_SCALAR)
                       : H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr),
                   H5Sclose, file);
  h5::Handle ds(
      H5Dcreate2(loc.id(), name.c_str(), ftype, space.id(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
      H5Dclose, file);
  all_ok(comm, file,
         ds.id() < 0 ? file + ": " + h5::with_reason("cannot create dataset " + name) : "");
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
  const bool ok =
      H5Dwrite(ds.id(), mtype, mspace.id(), fspace.id(), dxpl.id(), root ? data : &dummy) >= 0;
  all_ok(comm, file, ok ? "" : file + ": " + h5::with_reason("cannot write dataset " + name));
}

void write_strings_rank0(const h5::Handle& loc, const std::string& name,
                         const std::vector<std::string>& v, const h5::Handle& dxpl,
                         const Comm& comm) {
  std::size_t len = 1;
  for (const auto& s : v) len = std::max(len, s.size());
  h5::Handle type = fixed_string_type(len, loc.file());
  std::string buf(v.size() * len, '\0');
  for (std::size_t i = 0; i < v.size(); ++i) buf.replace(i * len, v[i].size(), v[i]);
  write_rank0(loc, name, type.id(), type.id(), {v.size()}, buf.data(), dxpl, comm);
}

void write_text_rank0(const h5::Handle& loc, const std::string& name, const std::string& text,
                      const h5::Handle& dxpl, const Comm& comm) {
  h5::Handle type = fixed_string_type(text.size(), loc.file());
  std::string buf = text;
  buf.resize(std::max<std::size_t>(1, text.size()), '\0');
  write_rank0(loc, name, type.id(), type.id(), {}, buf.data(), dxpl, comm);
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
    all_ok(comm, file.file(),
           ds.id() < 0 ? file.file() + ": " +
                             h5::with_reason(std::string("cannot create dataset ") + kArrays[a])
                       : "");
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
    const bool ok = H5Dwrite(ds.id(), h5::native_type<T>(), mspace.id(), space.id(), dxpl.id(),
                             my.count > 0 ? data : &dummy) >= 0;
    all_ok(comm, file.file(),
           ok ? ""
              : file.file() + ": " +
                    h5::with_reason(std::string("cannot write dataset ") + kArrays[a]));
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

// Every value of a checkpoint besides the parameter-sized arrays, in its stored form: what the
// writer writes and hashes, and what the reader reads, hashes and then turns into a TrainState.
struct Small {
  std::string version, git_commit;
  std::int64_t world_size = 1, global_batch = 1, single_precision = 0, param_count = 0;
  std::int64_t adam_steps = 0;
  std::int64_t epoch = 1, step_in_epoch = 0, global_step = 0;
  std::uint64_t seed = 0;
  double epoch_loss_sum = 0, epoch_correct_sum = 0;
  std::vector<std::string> class_names;
  // model/buffers as stored: float32 (buffer_elem 4) or float64 (8); 0: the file has none.
  std::size_t buffer_elem = 0;
  std::vector<float> buffers_f;
  std::vector<double> buffers_d;
  std::vector<std::int64_t> epochs;                              // metrics/epoch, E
  std::array<std::vector<double>, std::size(kColumns)> columns;  // metrics/<column>, E each
  std::vector<double> confusion;                                 // metrics/test_confusion, E x k
  hsize_t k = 0;
  std::string config_toml;
  std::vector<std::string> roles, paths;
  std::vector<std::uint64_t> bytes, sums;
};

std::size_t buffer_count(const Small& m) {
  return m.buffer_elem == 4 ? m.buffers_f.size() : m.buffers_d.size();
}

Small small_of(const TrainState& s) {
  Small m;
  m.version = s.version;
  m.git_commit = s.git_commit;
  m.world_size = s.world_size;
  m.global_batch = s.global_batch;
  m.single_precision = s.single_precision;
  m.param_count = static_cast<std::int64_t>(s.params.size());
  m.adam_steps = s.adam_steps;
  m.epoch = s.epoch;
  m.step_in_epoch = s.step_in_epoch;
  m.global_step = s.global_step;
  m.seed = s.seed;
  m.epoch_loss_sum = s.epoch_loss_sum;
  m.epoch_correct_sum = s.epoch_correct_sum;
  m.class_names = s.class_names;
  if (!s.buffers.empty()) {  // none stored for models without any
    m.buffer_elem = s.single_precision ? 4 : 8;
    if (s.single_precision)
      m.buffers_f.assign(s.buffers.begin(), s.buffers.end());
    else
      m.buffers_d = s.buffers;
  }
  for (const auto& h : s.history) {
    m.epochs.push_back(h.epoch);
    for (std::size_t c = 0; c < std::size(kColumns); ++c)
      m.columns[c].push_back(h.*kColumns[c].field);
    m.k = std::max<hsize_t>(m.k, h.test_confusion.size());
  }
  // Epochs x (classes*classes) confusion counts; a row of NaN: that epoch had none.
  for (const auto& h : s.history)
    if (h.test_confusion.empty())
      m.confusion.insert(m.confusion.end(), m.k, NAN);
    else
      m.confusion.insert(m.confusion.end(), h.test_confusion.begin(), h.test_confusion.end());
  m.config_toml = s.config_toml;
  for (const auto& d : s.data_files) {
    m.roles.push_back(d.role);
    m.paths.push_back(d.path);
    m.bytes.push_back(d.bytes);
    m.sums.push_back(d.checksum);
  }
  return m;
}

// CRC-32 (zlib) of records "<name>\0<value>" in a fixed order (docs/formats.md, "Checksum"):
// integers and floats as 8 little-endian bytes, strings as their length (8 bytes) and UTF-8
// bytes, lists as their length and elements, arrays as their shape and elements (a float32 array's
// as its 4 stored bytes each: widening to double would quiet a signalling NaN).
class SmallCrc {
 public:
  void name(const char* n) { add(n, std::strlen(n) + 1); }
  void u64(std::uint64_t v) {
    unsigned char b[8];
    for (int i = 0; i < 8; ++i) b[i] = static_cast<unsigned char>(v >> (8 * i));
    add(b, 8);
  }
  void i64(std::int64_t v) { u64(static_cast<std::uint64_t>(v)); }
  void f64(double v) {
    std::uint64_t b = 0;
    std::memcpy(&b, &v, 8);
    u64(b);
  }
  void f32(float v) {
    std::uint32_t b = 0;
    std::memcpy(&b, &v, 4);
    unsigned char le[4];
    for (int i = 0; i < 4; ++i) le[i] = static_cast<unsigned char>(b >> (8 * i));
    add(le, 4);
  }
  void text(const std::string& t) {
    u64(t.size());
    add(t.data(), t.size());
  }
  void texts(const std::vector<std::string>& v) {
    u64(v.size());
    for (const auto& t : v) text(t);
  }
  template <class T>
  void array(const std::vector<T>& v, const std::vector<hsize_t>& dims) {
    for (auto d : dims) u64(d);
    for (const T& x : v) {
      if constexpr (std::is_same_v<T, double>)
        f64(x);
      else if constexpr (std::is_same_v<T, float>)
        f32(x);
      else
        u64(static_cast<std::uint64_t>(x));
    }
  }
  std::uint32_t value() const { return static_cast<std::uint32_t>(crc_); }

 private:
  void add(const void* p, std::size_t n) { crc_ = crc32_z(crc_, static_cast<const Bytef*>(p), n); }
  uLong crc_ = crc32(0, nullptr, 0);
};

std::uint32_t small_crc(const Small& m) {
  SmallCrc c;
  // clang-format off
  c.name("version"); c.text(m.version);
  c.name("git_commit"); c.text(m.git_commit);
  c.name("world_size"); c.i64(m.world_size);
  c.name("global_batch"); c.i64(m.global_batch);
  c.name("single_precision"); c.i64(m.single_precision);
  c.name("param_count"); c.i64(m.param_count);
  c.name("optimizer/adam_steps"); c.i64(m.adam_steps);
  c.name("progress/epoch"); c.i64(m.epoch);
  c.name("progress/step_in_epoch"); c.i64(m.step_in_epoch);
  c.name("progress/global_step"); c.i64(m.global_step);
  c.name("progress/seed"); c.u64(m.seed);
  c.name("progress/epoch_loss_sum"); c.f64(m.epoch_loss_sum);
  c.name("progress/epoch_correct_sum"); c.f64(m.epoch_correct_sum);
  c.name("model/class_names"); c.texts(m.class_names);
  // clang-format on
  const hsize_t e = m.epochs.size();
  c.name("metrics/epoch");
  c.array(m.epochs, {e});
  for (std::size_t i = 0; i < std::size(kColumns); ++i) {
    const std::string n = std::string("metrics/") + kColumns[i].name;
    c.name(n.c_str());
    c.array(m.columns[i], {e});
  }
  c.name("metrics/test_confusion");
  c.array(m.confusion, {e, m.k});
  c.name("run/config_toml");
  c.text(m.config_toml);
  c.name("data/role");
  c.texts(m.roles);
  c.name("data/path");
  c.texts(m.paths);
  c.name("data/bytes");
  c.array(m.bytes, {m.bytes.size()});
  c.name("data/checksum");
  c.array(m.sums, {m.sums.size()});
  // Optional values last, each only when the file has it, so that a file without them hashes
  // as before they existed (those files still verify; the schema version stays 2).
  if (m.buffer_elem != 0) {
    c.name("model/buffers");
    if (m.buffer_elem == 4)
      c.array(m.buffers_f, {m.buffers_f.size()});
    else
      c.array(m.buffers_d, {m.buffers_d.size()});
  }
  return c.value();
}

void write_contents(const Comm& comm, const h5::Handle& file, const std::string& path,
                    const TrainState& s, const Small& m);

// Every rank takes rank 0's scalar values and strings of `m` (one broadcast each kind).
void share_rank0_scalars(const Comm& comm, Small& m) {
  if (comm.size() == 1) return;
  std::int64_t ints[] = {
      m.world_size,    m.global_batch, m.single_precision,
      m.param_count,   m.adam_steps,   m.epoch,
      m.step_in_epoch, m.global_step,  static_cast<std::int64_t>(buffer_count(m))};
  double reals[] = {m.epoch_loss_sum, m.epoch_correct_sum};
  MPI_Bcast(ints, std::size(ints), MPI_INT64_T, 0, comm.raw());
  MPI_Bcast(reals, std::size(reals), MPI_DOUBLE, 0, comm.raw());
  MPI_Bcast(&m.seed, 1, MPI_UINT64_T, 0, comm.raw());
  bcast_string(comm.raw(), m.version, 0);
  bcast_string(comm.raw(), m.git_commit, 0);
  m.world_size = ints[0];
  m.global_batch = ints[1];
  m.single_precision = ints[2];
  m.param_count = ints[3];
  m.adam_steps = ints[4];
  m.epoch = ints[5];
  m.step_in_epoch = ints[6];
  m.global_step = ints[7];
  m.epoch_loss_sum = reals[0];
  m.epoch_correct_sum = reals[1];
  // Whether and how large model/buffers is must agree (its creation is collective); the values
  // written are rank 0's.
  const auto nb = static_cast<std::size_t>(ints[8]);
  m.buffer_elem = nb == 0 ? 0 : (m.single_precision ? 4 : 8);
  m.buffers_f.resize(m.buffer_elem == 4 ? nb : 0);
  m.buffers_d.resize(m.buffer_elem == 8 ? nb : 0);
}

// Collective. Errors name `path` (the final name), never the temporary file `tmp`.
void write_file(const Comm& comm, const std::string& tmp, const std::string& path,
                const TrainState& s) {
  // Rank 0's values: the datasets are written from rank 0's data, and the attributes that every
  // rank writes must agree (a trainer's ranks can differ in, e.g., timings in the history).
  Small m = small_of(s);
  share_rank0_scalars(comm, m);
  h5::Handle file = h5::create_file_mpi(tmp, comm.raw(), path);
  try {
    write_contents(comm, file, path, s, m);
  } catch (...) {
    // After a failed write (a full disk) HDF5 1.10's parallel close is no longer collective:
    // ranks wait for each other in different places and the job hangs. The file is left open
    // instead (its name is removed; the space comes back when the process ends).
    file.release();
    throw;
  }
  if (!file.close()) throw Error(path + ": " + h5::with_reason("cannot finish the checkpoint"));
}

// The contents of a checkpoint and the final flush (collective).
void write_contents(const Comm& comm, const h5::Handle& file, const std::string& path,
                    const TrainState& s, const Small& m) {
  {
    const h5::Handle dxpl = h5::collective_transfer(path);
    h5::set_attr_fixed(file, "schema", kSchema);
    h5::set_attr(file, "schema_version", kSchemaVersion);
    h5::set_attr_fixed(file, "version", m.version);
    h5::set_attr_fixed(file, "git_commit", m.git_commit);
    h5::set_attr(file, "world_size", m.world_size);
    h5::set_attr(file, "global_batch", m.global_batch);
    h5::set_attr(file, "single_precision", m.single_precision);
    h5::set_attr(file, "param_count", m.param_count);

    {
      const h5::Handle model = h5::create_group(file, "model");
      const h5::Handle opt = h5::create_group(file, "optimizer");
      h5::set_attr(opt, "adam_steps", m.adam_steps);
    }
    const std::uint32_t crc = s.single_precision ? write_arrays<float>(comm, file, dxpl, s)
                                                 : write_arrays<double>(comm, file, dxpl, s);
    {
      const h5::Handle model = h5::open_group(file, "model");
      write_strings_rank0(model, "class_names", m.class_names, dxpl, comm);
      const hsize_t nb = buffer_count(m);
      if (m.buffer_elem == 4)
        write_rank0(model, "buffers", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, {nb}, m.buffers_f.data(),
                    dxpl, comm);
      else if (m.buffer_elem == 8)
        write_rank0(model, "buffers", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, {nb}, m.buffers_d.data(),
                    dxpl, comm);
    }
    {
      const h5::Handle g = h5::create_group(file, "progress");
      h5::set_attr(g, "epoch", m.epoch);
      h5::set_attr(g, "step_in_epoch", m.step_in_epoch);
      h5::set_attr(g, "global_step", m.global_step);
      h5::set_attr_u64(g, "seed", m.seed);
      h5::set_attr(g, "epoch_loss_sum", m.epoch_loss_sum);
      h5::set_attr(g, "epoch_correct_sum", m.epoch_correct_sum);
    }
    {
      const h5::Handle g = h5::create_group(file, "metrics");
      const hsize_t e = m.epochs.size();
      write_rank0(g, "epoch", H5T_STD_I64LE, H5T_NATIVE_INT64, {e}, m.epochs.data(), dxpl, comm);
      for (std::size_t c = 0; c < std::size(kColumns); ++c)
        write_rank0(g, kColumns[c].name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, {e},
                    m.columns[c].data(), dxpl, comm);
      write_rank0(g, "test_confusion", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, {e, m.k},
                  m.confusion.data(), dxpl, comm);
    }
    {
      const h5::Handle g = h5::create_group(file, "run");
      write_text_rank0(g, "config_toml", m.config_toml, dxpl, comm);
    }
    {
      const h5::Handle g = h5::create_group(file, "data");
      const hsize_t n = m.roles.size();
      write_strings_rank0(g, "role", m.roles, dxpl, comm);
      write_strings_rank0(g, "path", m.paths, dxpl, comm);
      write_rank0(g, "bytes", H5T_STD_U64LE, H5T_NATIVE_UINT64, {n}, m.bytes.data(), dxpl, comm);
      write_rank0(g, "checksum", H5T_STD_U64LE, H5T_NATIVE_UINT64, {n}, m.sums.data(), dxpl, comm);
    }
    // Hashed by rank 0 (a few KiB), whose data the datasets hold; one broadcast.
    std::uint32_t small = comm.rank() == 0 ? small_crc(m) : 0;
    MPI_Bcast(&small, 1, MPI_UINT32_T, 0, comm.raw());
    h5::set_attr_u64(file, "checksum_small_crc32", small);
    // Last: a file with this attribute was written to the end (the rename is the real commit).
    h5::set_attr_u64(file, "checksum_crc32", crc);
  }
  // Global flush: MPI_File_sync, so the data is on stable storage before the rename.
  const bool flushed = H5Fflush(file.id(), H5F_SCOPE_GLOBAL) >= 0;
  all_ok(comm, path, flushed ? "" : path + ": " + h5::with_reason("cannot flush the checkpoint"));
}

// MPI-IO (Open MPI's OMPIO) reports a short write to HDF5 without errno, so a failed write says
// only "Write failed". Why the file system refuses: up to 1 MiB more written at the end of the
// temporary file (about to be removed), and the errno of the write that fails ("No space left
// on device", "Disk quota exceeded"); empty when every write succeeds.
std::string os_write_error(const std::string& tmp) {
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0) return std::strerror(errno);
  const std::vector<char> block(64 << 10, 0);
  std::string why;
  for (int i = 0; i < 16 && why.empty(); ++i)
    if (::write(fd, block.data(), block.size()) < 0) why = std::strerror(errno);
  ::close(fd);
  return why;
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

// model/buffers as stored, float32 or float64: whether that is the run's precision is checked
// after the checksum (in to_state), so that a flipped single_precision is a checksum mismatch.
void read_buffers(const h5::Handle& model, const std::string& path, Small& m) {
  const auto d = h5::shape(model, "buffers");
  h5::Handle ds(H5Dopen2(model.id(), "buffers", H5P_DEFAULT), H5Dclose, path);
  h5::Handle t(ds.id() < 0 ? -1 : H5Dget_type(ds.id()), H5Tclose, path);
  if (t.id() < 0) throw Error(path + ": cannot open dataset model/buffers");
  const std::size_t size = H5Tget_size(t.id());
  if (H5Tget_class(t.id()) != H5T_FLOAT || (size != 4 && size != 8) || d.size() != 1)
    throw Error(path + ": dataset model/buffers is " + type_name(t.id()) + " " + dims_text(d) +
                ", expected float32 or float64 [n]");
  m.buffer_elem = size;
  if (size == 4)
    m.buffers_f = h5::read<float>(model, "buffers");
  else
    m.buffers_d = h5::read<double>(model, "buffers");
}

// The small values as stored, with the shape checks (a wrong shape is a damaged file too) but
// not yet the range checks: the checksum is verified first, so that a flipped bit anywhere is
// reported as a checksum mismatch.
Small read_small(const h5::Handle& file, const std::string& path) {
  Small m;
  m.version = h5::attr_string(file, "version");
  m.git_commit = h5::attr_string(file, "git_commit");
  m.world_size = h5::attr_int(file, "world_size");
  m.global_batch = h5::attr_int(file, "global_batch");
  m.single_precision = h5::attr_int(file, "single_precision");
  m.param_count = h5::attr_int(file, "param_count");
  {
    const h5::Handle g = h5::open_group(file, "optimizer");
    m.adam_steps = h5::attr_int(g, "adam_steps");
  }
  {
    const h5::Handle g = h5::open_group(file, "progress");
    m.epoch = h5::attr_int(g, "epoch");
    m.step_in_epoch = h5::attr_int(g, "step_in_epoch");
    m.global_step = h5::attr_int(g, "global_step");
    m.seed = h5::attr_u64(g, "seed");
    m.epoch_loss_sum = h5::attr_double(g, "epoch_loss_sum");
    m.epoch_correct_sum = h5::attr_double(g, "epoch_correct_sum");
  }
  {
    const h5::Handle g = h5::open_group(file, "model");
    m.class_names = h5::read_strings(g, "class_names");
    if (h5::exists(g, "buffers")) read_buffers(g, path, m);
  }
  {
    const h5::Handle g = h5::open_group(file, "metrics");
    std::vector<hsize_t> dims;
    m.epochs = h5::read<std::int64_t>(g, "epoch", &dims);
    if (dims.size() != 1) throw Error(path + ": dataset metrics/epoch: expected a 1-D array");
    const hsize_t e = dims[0];
    for (std::size_t c = 0; c < std::size(kColumns); ++c) {
      expect_dataset(g, kColumns[c].name, H5T_FLOAT, 8, {e});
      m.columns[c] = h5::read<double>(g, kColumns[c].name);
    }
    m.confusion = h5::read<double>(g, "test_confusion", &dims);
    if (dims.size() != 2 || dims[0] != e)
      throw Error(path + ": dataset metrics/test_confusion is " + dims_text(dims) + ", expected [" +
                  std::to_string(e) + " x classes^2]");
    m.k = dims[1];
  }
  {
    const h5::Handle g = h5::open_group(file, "run");
    m.config_toml = read_text(g, "config_toml");
  }
  {
    const h5::Handle g = h5::open_group(file, "data");
    m.roles = h5::read_strings(g, "role");
    m.paths = h5::read_strings(g, "path");
    const hsize_t n = m.roles.size();
    expect_dataset(g, "bytes", H5T_INTEGER, 8, {n});
    expect_dataset(g, "checksum", H5T_INTEGER, 8, {n});
    if (m.paths.size() != n)
      throw Error(path + ": data/path has " + std::to_string(m.paths.size()) +
                  " entries, expected " + std::to_string(n) + " (as data/role)");
    m.bytes = h5::read<std::uint64_t>(g, "bytes");
    m.sums = h5::read<std::uint64_t>(g, "checksum");
  }
  return m;
}

void at_least(const std::string& path, const char* name, std::int64_t v, std::int64_t min) {
  if (v < min)
    throw Error(path + ": attribute " + name + " = " + std::to_string(v) + ", expected at least " +
                std::to_string(min));
}

// Range checks, then the TrainState fields (all but the parameter-sized arrays).
void to_state(const std::string& path, const Small& m, TrainState& s) {
  at_least(path, "world_size", m.world_size, 1);
  at_least(path, "global_batch", m.global_batch, 1);
  if (m.world_size > std::numeric_limits<int>::max())
    throw Error(path + ": attribute world_size = " + std::to_string(m.world_size) + ", too large");
  if (m.single_precision != 0 && m.single_precision != 1)
    throw Error(path + ": attribute single_precision = " + std::to_string(m.single_precision) +
                ", expected 0 or 1");
  if (m.buffer_elem != 0 && m.buffer_elem != (m.single_precision == 1 ? 4u : 8u))
    throw Error(path + ": dataset model/buffers is float" + std::to_string(m.buffer_elem * 8) +
                ", expected float" + (m.single_precision == 1 ? "32" : "64") +
                " (the run's precision, as model/params)");
  at_least(path, "param_count", m.param_count, 0);
  at_least(path, "adam_steps", m.adam_steps, 0);
  at_least(path, "epoch", m.epoch, 1);
  at_least(path, "step_in_epoch", m.step_in_epoch, 0);
  at_least(path, "global_step", m.global_step, 0);
  s.version = m.version;
  s.git_commit = m.git_commit;
  s.world_size = static_cast<int>(m.world_size);
  s.global_batch = m.global_batch;
  s.single_precision = m.single_precision == 1;
  s.adam_steps = m.adam_steps;
  s.epoch = m.epoch;
  s.step_in_epoch = m.step_in_epoch;
  s.global_step = m.global_step;
  s.seed = m.seed;
  s.epoch_loss_sum = m.epoch_loss_sum;
  s.epoch_correct_sum = m.epoch_correct_sum;
  s.class_names = m.class_names;
  if (m.buffer_elem == 4)
    s.buffers.assign(m.buffers_f.begin(), m.buffers_f.end());
  else
    s.buffers = m.buffers_d;
  const std::size_t e = m.epochs.size();
  s.history.assign(e, EpochMetrics{});
  for (std::size_t i = 0; i < e; ++i) {
    s.history[i].epoch = m.epochs[i];
    for (std::size_t c = 0; c < std::size(kColumns); ++c)
      s.history[i].*kColumns[c].field = m.columns[c][i];
    const auto row = m.confusion.begin() + i * m.k;
    if (!std::all_of(row, row + m.k, [](double x) { return std::isnan(x); }))
      s.history[i].test_confusion.assign(row, row + m.k);
  }
  s.config_toml = m.config_toml;
  for (std::size_t i = 0; i < m.roles.size(); ++i)
    s.data_files.push_back({m.roles[i], m.paths[i], m.bytes[i], m.sums[i]});
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
  if (version < kOldestSchemaVersion || version > kSchemaVersion)
    throw Error(path + ": checkpoint schema_version " + std::to_string(version) +
                ", this supsnn reads versions " + std::to_string(kOldestSchemaVersion) + " to " +
                std::to_string(kSchemaVersion) +
                (version > kSchemaVersion ? " (written by a newer supsnn)" : ""));
  // Written last: its absence means the writer never finished.
  l.stored_crc = h5::attr_u64(file, "checksum_crc32");
  const Small m = read_small(file, path);
  if (version >= 2) {  // version 1 had no checksum of these values
    const std::uint64_t stored = h5::attr_u64(file, "checksum_small_crc32");
    const std::uint32_t crc = small_crc(m);
    if (crc != stored) {
      char msg[200];
      std::snprintf(msg, sizeof msg,
                    ": checksum mismatch (stored checksum_small_crc32 %08llx, values %08x): the "
                    "progress, optimizer step count, metrics, classes, config, data files or run "
                    "attributes are damaged",
                    static_cast<unsigned long long>(stored), crc);
      throw Error(path + msg);
    }
  }
  to_state(path, m, s);
  l.n = static_cast<hsize_t>(m.param_count);
  const std::size_t elem = s.single_precision ? 4 : 8;
  l.arrays = array_count(h5::exists(file, kArrays[3]));
  for (int a = 0; a < l.arrays; ++a) expect_dataset(file, kArrays[a], H5T_FLOAT, elem, {l.n});
  if (s.single_precision)
    read_slices(comm, file, l, l.f);
  else
    read_slices(comm, file, l, l.d);
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

// An upper estimate of a checkpoint's size: the arrays and the model's buffers (each of 1 MiB or
// more aligned to 1 MiB), the small values and 256 KiB for HDF5's metadata.
std::uint64_t checkpoint_bytes_estimate(const TrainState& s) {
  const std::uint64_t mib = 1 << 20;
  const std::uint64_t array =
      static_cast<std::uint64_t>(s.params.size()) * (s.single_precision ? 4 : 8);
  std::uint64_t need = (array + (array >= mib ? mib : 0)) * array_count(!s.ema.empty());
  const std::uint64_t buffers =
      static_cast<std::uint64_t>(s.buffers.size()) * (s.single_precision ? 4 : 8);
  need += buffers + (buffers >= mib ? mib : 0);
  need += s.config_toml.size() + s.version.size() + s.git_commit.size();
  for (const auto& c : s.class_names) need += c.size() + 8;
  for (const auto& d : s.data_files) need += d.role.size() + d.path.size() + 32;
  for (const auto& h : s.history) need += (std::size(kColumns) + 1 + h.test_confusion.size()) * 8;
  return need + 256 * 1024;
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
    tmp = (dir / ("." + p.filename().string() + ".tmp-" + id)).string();
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {
      err = path + ": checkpoint directory " + dir.string() +
            (fs::exists(dir, ec) ? " is not a directory" : " does not exist");
    } else {
      // Created here first, so that a folder that refuses files (read-only, no space, no
      // permission) is reported with the system's reason; MPI-IO's own errors are vaguer.
      const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (fd < 0) {
        err = path + ": cannot create the checkpoint: " + std::strerror(errno);
      } else {
        ::close(fd);
        // A checkpoint that may not fit fails here, before any rank writes: HDF5 1.10 does not
        // fail a parallel write cleanly on a full disk (ranks can end up waiting in different
        // collective calls), so the size is estimated generously (arrays, their 1 MiB
        // alignment, small values, metadata). Quotas are not seen here; a disk that fills up
        // during the write is reported the same way (on every rank, if HDF5 lets them agree).
        const std::uint64_t need = checkpoint_bytes_estimate(state);
        struct statvfs fsinfo {};
        if (::statvfs(dir.c_str(), &fsinfo) == 0) {
          const std::uint64_t avail = static_cast<std::uint64_t>(fsinfo.f_bavail) * fsinfo.f_frsize;
          if (need > avail) {
            err = path + ": cannot write the checkpoint (" + std::to_string(need) +
                  " bytes needed, " + std::to_string(avail) +
                  " bytes free): " + std::strerror(ENOSPC);
            std::remove(tmp.c_str());
          }
        }
      }
    }
  }
  bcast_string(comm.raw(), err, 0);
  if (!err.empty()) throw Error(err);
  bcast_string(comm.raw(), tmp, 0);
  {
    const QuietHdf5 quiet;
    try {
      // Agreed: a failure that only some ranks see (a full disk at the final flush) still
      // stops every rank, and the temporary file is removed after every rank has closed it.
      agree(comm, path, [&] { write_file(comm, tmp, path, state); });
    } catch (const Error& e) {
      std::string msg = e.what();
      if (comm.rank() == 0) {
        const std::string why = os_write_error(tmp);
        if (!why.empty() && msg.find(why) == std::string::npos) msg += ": " + why;
        std::remove(tmp.c_str());
      }
      bcast_string(comm.raw(), msg, 0);
      throw Error(msg);
    }
  }
  MPI_Barrier(comm.raw());  // every rank's data is in the file before it gets its final name
  unsigned long size = 0;
  if (comm.rank() == 0) {
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
      err = path + ": cannot move the finished checkpoint into place: " + std::strerror(errno);
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
