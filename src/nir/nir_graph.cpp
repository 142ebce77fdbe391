#include "nir/nir_graph.hpp"

#include <cstdint>

#include "common/error.hpp"
#include "io/h5.hpp"

namespace supsnn::nir {

Array Array::ints(const std::vector<long>& v) {
  Array a;
  a.dims = {static_cast<hsize_t>(v.size())};
  a.values.assign(v.begin(), v.end());
  a.type = Type::Int64;
  return a;
}

Array Array::filled(const std::vector<hsize_t>& dims, double v, Type t) {
  std::size_t n = 1;
  for (hsize_t d : dims) n *= d;
  return {dims, std::vector<double>(n, v), t};
}

const Array& Node::at(const std::string& f, const std::string& file) const {
  const auto it = fields.find(f);
  if (it == fields.end())
    throw Error(file + ": node '" + name + "' (" + type + "): field '" + f + "' is missing");
  return it->second;
}

Node& Graph::add(const std::string& name, const std::string& type) {
  nodes.push_back(Node{});
  nodes.back().name = name;
  nodes.back().type = type;
  return nodes.back();
}

const Node* Graph::find(const std::string& name) const {
  for (const Node& n : nodes)
    if (n.name == name) return &n;
  return nullptr;
}

namespace {

void write_array(const h5::Handle& loc, const std::string& name, const Array& a) {
  // nir 1.0.8 gzips every ndarray (whole-array chunks); scalars cannot be chunked.
  const hsize_t chunk = a.dims.empty() || a.type == Array::Type::Int64 ? 0 : a.dims[0];
  switch (a.type) {
    case Array::Type::Float32: {
      const std::vector<float> v(a.values.begin(), a.values.end());
      h5::write(loc, name, a.dims, v.data(), chunk);
      break;
    }
    case Array::Type::Float64:
      h5::write(loc, name, a.dims, a.values.data(), chunk);
      break;
    case Array::Type::Int64: {
      std::vector<std::int64_t> v;
      for (double x : a.values) v.push_back(static_cast<std::int64_t>(x));
      h5::write(loc, name, a.dims, v.data(), chunk);
      break;
    }
  }
}

void write_meta(const h5::Handle& loc, const std::map<std::string, Array>& arrays,
                const std::map<std::string, std::vector<std::string>>& texts) {
  if (arrays.empty() && texts.empty()) return;  // nir writes no empty metadata group
  const h5::Handle m = h5::create_group(loc, "metadata");
  for (const auto& [k, a] : arrays) write_array(m, k, a);
  for (const auto& [k, t] : texts)
    h5::write_string_array(m, k, t,
                           t.size() == 1 ? std::vector<hsize_t>{} : std::vector<hsize_t>{t.size()});
}

bool numeric(H5T_class_t c) {
  return c == H5T_INTEGER || c == H5T_FLOAT;
}

// Arrays beyond this many values are refused before reading (a small chunked file can declare
// any shape).
constexpr hsize_t kMaxValues = hsize_t(1) << 28;

Array read_array(const h5::Handle& loc, const std::string& name) {
  hsize_t n = 1;
  for (hsize_t d : h5::shape(loc, name)) n = d > 0 && n > kMaxValues / d ? kMaxValues + 1 : n * d;
  if (n > kMaxValues)
    throw Error(loc.file() + ": dataset '" + name + "' is larger than 2^28 values");
  Array a;
  a.values = h5::read<double>(loc, name, &a.dims);
  const h5::DatasetType t = h5::dataset_type(loc, name);
  a.type = t.type_class == H5T_INTEGER ? Array::Type::Int64
           : t.size <= 4               ? Array::Type::Float32
                                       : Array::Type::Float64;
  return a;
}

void read_meta(const h5::Handle& loc, std::map<std::string, Array>& arrays,
               std::map<std::string, std::vector<std::string>>& texts) {
  if (!h5::is_group(loc, "metadata")) return;
  const h5::Handle m = h5::open_group(loc, "metadata");
  for (const std::string& k : h5::members(m)) {
    if (h5::is_group(m, k)) continue;  // nested metadata dictionaries: nothing supsnn reads
    // Metadata supsnn does not read may be of any type (booleans, compounds): skipped when it
    // is neither strings nor numbers.
    const H5T_class_t c = h5::dataset_type(m, k).type_class;
    if (c == H5T_STRING)
      texts[k] = h5::read_string_array(m, k);
    else if (numeric(c))
      arrays[k] = read_array(m, k);
  }
}

std::string read_text(const h5::Handle& loc, const std::string& name, const std::string& where) {
  if (!h5::exists(loc, name) || h5::is_group(loc, name) ||
      h5::dataset_type(loc, name).type_class != H5T_STRING)
    throw Error(where + ": no string dataset '" + name + "'");
  const auto v = h5::read_string_array(loc, name);
  if (v.size() != 1)
    throw Error(where + ": '" + name + "' holds " + std::to_string(v.size()) +
                " strings, expected one");
  return v[0];
}

}  // namespace

void write_graph(const std::string& path, const Graph& g) {
  const h5::Handle f = h5::create_file(path);
  h5::write_string_array(f, "version", {g.version}, {});
  const h5::Handle root = h5::create_group(f, "node");
  h5::write_string_array(root, "type", {"NIRGraph"}, {});
  std::vector<std::string> edges;
  for (const auto& [a, b] : g.edges) {
    edges.push_back(a);
    edges.push_back(b);
  }
  h5::write_string_array(root, "edges", edges, {static_cast<hsize_t>(g.edges.size()), 2});
  const h5::Handle nodes = h5::create_group(root, "nodes");
  for (const Node& n : g.nodes) {
    const h5::Handle ng = h5::create_group(nodes, n.name);
    h5::write_string_array(ng, "type", {n.type}, {});
    for (const auto& [k, a] : n.fields) write_array(ng, k, a);
    for (const auto& [k, t] : n.texts) h5::write_string_array(ng, k, {t}, {});
    write_meta(ng, n.meta, n.meta_texts);
  }
  write_meta(root, g.meta, g.meta_texts);
}

Graph read_graph(const std::string& path) {
  const h5::Handle f = h5::open_file(path);
  if (!h5::is_group(f, "node"))
    throw Error(path + ": not a NIR file (no group 'node'; NIR 1.0 files hold the graph there)");
  Graph g;
  g.version = h5::exists(f, "version") ? read_text(f, "version", path) : "";
  const h5::Handle root = h5::open_group(f, "node");
  const std::string type = read_text(root, "type", path + ": node");
  if (type != "NIRGraph")
    throw Error(path + ": the top node is a " + type + ", expected a NIRGraph");
  if (!h5::is_group(root, "nodes")) throw Error(path + ": the graph has no group 'nodes'");
  const h5::Handle nodes = h5::open_group(root, "nodes");
  for (const std::string& name : h5::members(nodes)) {
    if (!h5::is_group(nodes, name)) continue;
    const h5::Handle ng = h5::open_group(nodes, name);
    Node& n = g.add(name, read_text(ng, "type", path + ": node '" + name + "'"));
    if (n.type == "NIRGraph") continue;  // a nested graph: its type is all the importer needs
    for (const std::string& k : h5::members(ng)) {
      if (k == "type" || h5::is_group(ng, k)) continue;
      const H5T_class_t c = h5::dataset_type(ng, k).type_class;
      if (c == H5T_STRING)
        n.texts[k] = read_text(ng, k, path + ": node '" + name + "'");
      else if (numeric(c))
        n.fields[k] = read_array(ng, k);
      else
        throw Error(path + ": node '" + name + "': field '" + k +
                    "' is neither numbers nor a string");
    }
    read_meta(ng, n.meta, n.meta_texts);
  }
  if (h5::exists(root, "edges")) {
    std::vector<hsize_t> dims;
    const auto e = h5::read_string_array(root, "edges", &dims);
    if (!e.empty() && (dims.size() != 2 || dims[1] != 2))
      throw Error(path + ": 'edges' must be an E x 2 array of node names");
    for (std::size_t i = 0; i + 1 < e.size(); i += 2) g.connect(e[i], e[i + 1]);
  }
  read_meta(root, g.meta, g.meta_texts);
  return g;
}

}  // namespace supsnn::nir
