// TorchScript export: a traced graph (trace.h) becomes a torch::jit::Module whose parameters
// and buffers are attributes under the module's own dotted names (submodules included) and
// whose forward is the graph, with those inputs replaced by attribute reads. Saved with
// Module::save (script.cc), it loads in Python's torch.jit.load and C++'s torch::jit::load.
#include "../addon.h"

#include <torch/csrc/jit/passes/dead_code_elimination.h>
#include <torch/script.h>

#include "../nn/module.h"
#include "../tensor.h"
#include "script.h"
#include "trace.h"

namespace trnn {

namespace {

using torch::jit::Graph;
using torch::jit::Module;
using torch::jit::Value;

std::vector<std::string> SplitPath(const std::string& dotted) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t dot; (dot = dotted.find('.', start)) != std::string::npos; start = dot + 1) parts.push_back(dotted.substr(start, dot - start));
  parts.push_back(dotted.substr(start));
  return parts;
}

// The modules of the tree by dotted path ("" is the root), each a torch::jit::Module of its own
// class (`__torch__.torchrnn.<Class>`, mangled when two differ) in one compilation unit, with
// PyTorch's `training` attribute.
class ModuleTree {
 public:
  explicit ModuleTree(const std::map<std::string, std::pair<std::string, bool>>& classes) : classes_(classes), root_(Make("")) {}
  Module& root() { return root_; }

  // The module at `path` (the parts before the attribute's own name), made on first use and
  // registered with its parent.
  Module& At(const std::vector<std::string>& parts, size_t n) {
    std::string path;
    Module* parent = &root_;
    for (size_t i = 0; i < n; i++) {
      std::string child = path.empty() ? parts[i] : path + "." + parts[i];
      auto it = made_.find(child);
      if (it == made_.end()) {
        Module m = Make(child);
        parent->register_module(parts[i], m);
        it = made_.emplace(child, m).first;
      }
      parent = &it->second;
      path = child;
    }
    return *parent;
  }

 private:
  Module Make(const std::string& path) {
    auto it = classes_.find(path);
    std::string cls = it == classes_.end() ? "Module" : it->second.first;
    bool training = it == classes_.end() ? true : it->second.second;
    auto cu = path.empty() ? std::make_shared<torch::jit::CompilationUnit>() : root_._ivalue()->compilation_unit();
    Module m(c10::QualifiedName("__torch__.torchrnn." + cls), cu, /*shouldMangle=*/true);
    m.register_attribute("training", c10::BoolType::get(), training);
    return m;
  }

  const std::map<std::string, std::pair<std::string, bool>>& classes_;  // before root_: Make reads it
  Module root_;
  std::map<std::string, Module> made_;
};

// The forward's result: a tensor for a number in the structure, a tuple for an array.
Value* Pack(Graph& g, const Napi::Value& structure, const std::vector<Value*>& outs) {
  if (structure.IsNumber()) return outs.at(structure.As<Napi::Number>().Uint32Value());
  Napi::Array a = structure.As<Napi::Array>();
  std::vector<Value*> items;
  for (uint32_t i = 0; i < a.Length(); i++) items.push_back(Pack(g, a.Get(i), outs));
  return g.insertNode(g.createTuple(items))->output();
}

}  // namespace

// tracedExport(traced, names, tensors, isBuffer, modules, structure) -> ScriptHandle
//   names/tensors/isBuffer: the graph's first inputs (parameters, then buffers) with their
//   dotted names; modules: [[path, className, training]] for every module of the tree;
//   structure: where each flat output goes (lib/jit.ts's Structure).
static Napi::Value TracedExport(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  TracedHandle* traced = TracedHandle::Get(info[0]);
  Napi::Array names = info[1].As<Napi::Array>();
  Tensors tensors = TensorsFrom(info[2]);
  Napi::Array isBuffer = info[3].As<Napi::Array>();
  Napi::Array modules = info[4].As<Napi::Array>();
  std::map<std::string, std::pair<std::string, bool>> classes;
  for (uint32_t i = 0; i < modules.Length(); i++) {
    Napi::Array m = modules.Get(i).As<Napi::Array>();
    classes[m.Get(0u).As<Napi::String>().Utf8Value()] = {m.Get(1u).As<Napi::String>().Utf8Value(), m.Get(2u).As<Napi::Boolean>().Value()};
  }

  // the attributes, each on its module
  ModuleTree tree(classes);
  std::vector<std::vector<std::string>> paths;
  for (uint32_t i = 0; i < names.Length(); i++) {
    auto parts = SplitPath(names.Get(i).As<Napi::String>().Utf8Value());
    Module& owner = tree.At(parts, parts.size() - 1);
    const auto& t = tensors.at(i);
    if (isBuffer.Get(i).As<Napi::Boolean>().Value()) owner.register_buffer(parts.back(), t.detach());
    else owner.register_parameter(parts.back(), t.detach().set_requires_grad(t.requires_grad()), false);
    paths.push_back(std::move(parts));
  }
  Module root = tree.root();
  for (const auto& [path, cls] : classes) {
    if (path.empty()) continue;
    auto parts = SplitPath(path);
    tree.At(parts, parts.size());  // modules without tensors too
  }

  // forward(self, inputs...): the parameter and buffer inputs become self.a.b reads
  auto graph = traced->fn->graph()->copy();
  size_t n = paths.size();
  if (graph->inputs().size() < n) throw std::runtime_error("tracedExport: the graph has fewer inputs than the module has tensors");
  Value* self = graph->insertInput(0, "self");
  self->setType(root.type());
  {
    torch::jit::WithInsertPoint guard(graph->block()->param_node()->next());
    for (size_t i = 0; i < n; i++) {
      Value* v = self;
      for (const auto& part : paths[i]) v = graph->insertGetAttr(v, part);
      graph->inputs()[i + 1]->replaceAllUsesWith(v);
    }
  }
  for (size_t i = n; i >= 1; i--) graph->eraseInput(i);
  for (size_t i = 1; i < graph->inputs().size(); i++) graph->inputs()[i]->setDebugName("input_" + std::to_string(i - 1));
  {
    std::vector<Value*> outs(graph->outputs().begin(), graph->outputs().end());
    if (traced->tupledOutputs) {  // the trace's flat outputs, as `structure` counts them
      torch::jit::Node* tuple = outs.at(0)->node();
      outs.assign(tuple->inputs().begin(), tuple->inputs().end());
    }
    while (!graph->outputs().empty()) graph->eraseOutput(0);
    torch::jit::WithInsertPoint guard(graph->return_node());
    graph->registerOutput(Pack(*graph, info[5], outs));
  }
  torch::jit::EliminateDeadCode(graph);
  for (const auto* node : graph->nodes()) {
    if (std::string(node->kind().ns().toUnqualString()) == "torchrnn") {
      throw std::runtime_error(std::string("tracedExport: the graph calls torchrnn's own operator ") + node->kind().toQualString() +
                               ", which other programs do not have");
    }
  }
  auto cu = root._ivalue()->compilation_unit();
  auto* fn = cu->create_function(c10::QualifiedName(*root.type()->name(), "forward"), graph);
  root.type()->addMethod(fn);
  return NewScriptHandle(env, root);
}

void InitJitExport(Napi::Env env, Napi::Object exports) {
  ExportOrdered<TracedExport>(env, exports, "tracedExport");
}

}  // namespace trnn
