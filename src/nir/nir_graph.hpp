// A NIR graph (Neuromorphic Intermediate Representation, nir 1.0.x file layout) in memory, and
// its HDF5 file: root dataset `version`, group `node` = the graph with `type` "NIRGraph",
// `edges` (E x 2 strings), `nodes/<name>/` (a `type` string and one dataset per field) and an
// optional `metadata/` group. docs/formats.md "NIR" gives the layout and supsnn's mapping.
#pragma once
#include <hdf5.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace supsnn::nir {

inline constexpr const char* kVersion = "1.0.8";  // the nir release whose layout we write

// A numeric field: values in row-major order, its shape (empty = scalar) and the type written.
struct Array {
  enum class Type { Float32, Float64, Int64 };
  std::vector<hsize_t> dims;
  std::vector<double> values;
  Type type = Type::Float64;

  static Array scalar_int(long v) { return {{}, {static_cast<double>(v)}, Type::Int64}; }
  static Array ints(const std::vector<long>& v);
  static Array filled(const std::vector<hsize_t>& dims, double v, Type t);
  std::size_t size() const { return values.size(); }
};

// Fields, strings and metadata of one node (metadata: arrays and strings, one level).
struct Node {
  std::string name, type;
  std::map<std::string, Array> fields;
  std::map<std::string, std::string> texts;  // string fields (Conv2d padding "same")
  std::map<std::string, Array> meta;
  std::map<std::string, std::vector<std::string>> meta_texts;

  bool has(const std::string& f) const { return fields.count(f) > 0; }
  // The field, or throws "<file>: node 'name' (type): field 'f' is missing".
  const Array& at(const std::string& f, const std::string& file) const;
};

struct Graph {
  std::string version = kVersion;
  std::vector<Node> nodes;
  std::vector<std::pair<std::string, std::string>> edges;
  std::map<std::string, Array> meta;
  std::map<std::string, std::vector<std::string>> meta_texts;

  Node& add(const std::string& name, const std::string& type);
  const Node* find(const std::string& name) const;
  void connect(const std::string& from, const std::string& to) { edges.emplace_back(from, to); }
};

// Writes `g` to `path` (created or truncated). Float arrays of rank >= 1 are gzip-compressed, as
// nir 1.0.8 writes them.
void write_graph(const std::string& path, const Graph& g);
// Reads a graph file; throws Error(path + ": ...") for a file that is not one.
Graph read_graph(const std::string& path);

}  // namespace supsnn::nir
