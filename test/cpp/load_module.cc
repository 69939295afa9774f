// A C++ program with nothing of torchrnn in it: it loads a TorchScript archive with
// torch::jit::load, as a C++ server would, and runs forward on inputs read from a text file.
// test/57 builds it with g++ against the libtorch the addon links (test/cpp/load-module.ts)
// and compares what it prints with torchrnn's own outputs.
//
//   load_module <archive.pt> <inputs.txt> [<archive.pt> <inputs.txt> ...]
//
// (several archives in one run: libtorch loads once).
// inputs.txt: whitespace-separated, the number of inputs, then for each input its dtype
// (float32, float64, int64, int32), its number of dimensions, its sizes, and its values in
// row-major order.
//
// Prints one line of JSON per archive: {"training": mode as loaded, "evalTraining": mode after eval(),
// "parameters": [[name, [sizes]], ...], "buffers": [...] (named_parameters/named_buffers,
// recursive), "outputs": [{"shape": [...], "data": [...]}, ...] (forward in eval mode without
// gradients; tuples and lists flattened in order)}. Non-finite values print as "NaN",
// "Infinity", "-Infinity". Exit status 1 with the reason on stderr when anything fails.
// Only what it uses, not <torch/script.h>: a quarter less to compile.
#include <ATen/core/grad_mode.h>
#include <ATen/ops/from_blob.h>
#include <torch/csrc/jit/api/module.h>
#include <torch/csrc/jit/serialization/import.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

std::string Json(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string Sizes(const at::Tensor& t) {
  std::string out = "[";
  for (int64_t i = 0; i < t.dim(); i++) out += (i ? "," : "") + std::to_string(t.size(i));
  return out + "]";
}

std::string Number(double v, bool dbl) {
  if (std::isnan(v)) return "\"NaN\"";
  if (std::isinf(v)) return v > 0 ? "\"Infinity\"" : "\"-Infinity\"";
  char buf[40];
  std::snprintf(buf, sizeof buf, dbl ? "%.17g" : "%.9g", v);
  return buf;
}

at::Tensor ReadTensor(std::istream& in) {
  std::string dtype;
  int64_t ndim = 0;
  if (!(in >> dtype >> ndim) || ndim < 0) throw std::runtime_error("inputs file: expected a dtype and a number of dimensions");
  std::vector<int64_t> sizes(ndim);
  int64_t numel = 1;
  for (auto& s : sizes) {
    if (!(in >> s) || s < 0) throw std::runtime_error("inputs file: expected a size");
    numel *= s;
  }
  std::vector<double> values(numel);
  for (auto& v : values) {
    if (!(in >> v)) throw std::runtime_error("inputs file: expected " + std::to_string(numel) + " values");
  }
  at::ScalarType type;
  if (dtype == "float32") type = at::kFloat;
  else if (dtype == "float64") type = at::kDouble;
  else if (dtype == "int64") type = at::kLong;
  else if (dtype == "int32") type = at::kInt;
  else throw std::runtime_error("inputs file: unsupported dtype " + dtype);
  return at::from_blob(values.data(), {numel}, at::kDouble).to(type).reshape(sizes);
}

void Flatten(const c10::IValue& v, std::vector<at::Tensor>& out) {
  if (v.isTensor()) out.push_back(v.toTensor());
  else if (v.isTuple()) for (const auto& e : v.toTupleRef().elements()) Flatten(e, out);
  else if (v.isList()) for (const auto& e : v.toListRef()) Flatten(e, out);
  else throw std::runtime_error("forward returned a " + v.tagKind() + ", not tensors, tuples or lists");
}

// Loads one archive, runs it on the inputs in `inputs_file`, and prints its line.
void Run(const std::string& archive, const std::string& inputs_file) {
  torch::jit::Module m = torch::jit::load(archive);
  std::ifstream file(inputs_file);
  if (!file) throw std::runtime_error("cannot read " + inputs_file);
  int64_t n = 0;
  if (!(file >> n) || n < 0) throw std::runtime_error("inputs file: expected the number of inputs");
  std::vector<c10::IValue> inputs;
  for (int64_t i = 0; i < n; i++) inputs.emplace_back(ReadTensor(file));

  std::ostringstream out;
  out << "{\"training\":" << (m.is_training() ? "true" : "false");
  m.eval();
  out << ",\"evalTraining\":" << (m.is_training() ? "true" : "false");
  out << ",\"parameters\":[";
  bool first = true;
  for (const auto& p : m.named_parameters()) {
    out << (first ? "" : ",") << "[" << Json(p.name) << "," << Sizes(p.value) << "]";
    first = false;
  }
  out << "],\"buffers\":[";
  first = true;
  for (const auto& b : m.named_buffers()) {
    out << (first ? "" : ",") << "[" << Json(b.name) << "," << Sizes(b.value) << "]";
    first = false;
  }
  std::vector<at::Tensor> outputs;
  {
    at::NoGradGuard no_grad;
    Flatten(m.forward(inputs), outputs);
  }
  out << "],\"outputs\":[";
  for (size_t i = 0; i < outputs.size(); i++) {
    at::Tensor t = outputs[i].detach().contiguous();
    bool dbl = t.scalar_type() == at::kDouble;
    at::Tensor d = t.to(at::kDouble).reshape({-1});
    const double* p = d.data_ptr<double>();
    out << (i ? "," : "") << "{\"shape\":" << Sizes(t) << ",\"data\":[";
    for (int64_t j = 0; j < d.numel(); j++) out << (j ? "," : "") << Number(p[j], dbl);
    out << "]}";
  }
  out << "]}\n";
  std::cout << out.str();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3 || argc % 2 != 1) {
    std::cerr << "usage: load_module <archive.pt> <inputs.txt> [<archive.pt> <inputs.txt> ...]\n";
    return 2;
  }
  for (int i = 1; i < argc; i += 2) {
    try {
      Run(argv[i], argv[i + 1]);
    } catch (const std::exception& e) {
      std::string what = e.what();
      std::cerr << "load_module " << argv[i] << ": " << what.substr(0, what.find("\nException raised from")) << "\n";
      return 1;
    }
  }
  return 0;
}
