// The refined form's helpers (see forms.h).
#include "core/forms.h"

#include <stdexcept>

#include "core/dtype.h"

namespace batchcost {
namespace {

// A positive integer label, or absent; throws naming the label when it is malformed.
std::optional<double> positive_integer(const Sample& sample, const std::string& key) {
  auto it = sample.labels.find(key);
  if (it == sample.labels.end()) return std::nullopt;
  size_t used = 0;
  long long v = 0;
  try {
    v = std::stoll(it->second, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != it->second.size() || v < 1) {
    throw std::invalid_argument("label " + key + "=" + it->second + " is not a positive integer");
  }
  return static_cast<double>(v);
}

}  // namespace

std::optional<LabelledShape> gemm_shape_of(const Sample& sample) {
  auto m = positive_integer(sample, "m"), n = positive_integer(sample, "n"),
       k = positive_integer(sample, "k"), groups = positive_integer(sample, "groups");
  if (!m || !n || !k) return std::nullopt;
  LabelledShape s{*m, *n, *k, groups.value_or(1), false};
  auto layout = sample.labels.find("layout");
  s.grouped = s.groups > 1 || (layout != sample.labels.end() && layout->second != "dense");
  return s;
}

std::string tile_name(const Tile& t) {
  return std::to_string(t.rows) + "x" + std::to_string(t.cols);
}

double element_bytes(const std::string& dtype) { return dtype_bytes_or_zero(dtype); }

Tile parse_tile(const std::string& text) {
  size_t x = text.find('x');
  Tile t;
  if (text == "0x0") return t;  // a dtype's "labels only" tile (cost_model.h)
  try {
    size_t used_r = 0, used_c = 0;
    if (x != std::string::npos) {
      t.rows = std::stoi(text.substr(0, x), &used_r);
      t.cols = std::stoi(text.substr(x + 1), &used_c);
    }
    if (x == std::string::npos || used_r != x || used_c != text.size() - x - 1) t = {};
  } catch (const std::exception&) {
    t = {};
  }
  if (t.rows < 1 || t.cols < 1 || t.rows > 4096 || t.cols > 4096) {
    throw std::invalid_argument("tile \"" + text + "\" is not ROWSxCOLS (e.g. 128x128)");
  }
  return t;
}

double quantised_flops(const LabelledShape& s, const Tile& t, int sm_count) {
  double tiles = s.groups * std::ceil(s.m / t.rows) * std::ceil(s.n / t.cols);
  // NOTES: a kernel with fewer tiles than SMs runs smaller tiles or splits K (cuBLAS's and
  // DeepGEMM's heuristics both choose the block size to fill the SMs), so one partial wave is
  // not priced as a full one; from the second wave on, the tail wave costs a whole wave.
  if (tiles <= sm_count) return 2 * s.groups * s.m * s.n * s.k;
  double waves = std::ceil(tiles / sm_count);
  return 2 * s.k * t.rows * t.cols * sm_count * waves;
}

FormInputs form_inputs(const Sample& sample, const Constants& c) {
  FormInputs in{sample.work.flops, sample.work.bytes, 0, false};
  std::optional<LabelledShape> shape = gemm_shape_of(sample);
  if (!shape) return in;
  in.grouped = shape->grouped;
  if (c.terms.k_half) in.k = shape->k;
  auto tile = c.terms.tile.find(dtype_of(sample));
  if (tile != c.terms.tile.end() && c.terms.sm_count > 0 && in.flops > 0) {
    // A sample's own tile hint (label tile=ROWSxCOLS) wins over the dtype's.
    auto hint = sample.labels.find("tile");
    Tile t = hint == sample.labels.end() ? tile->second : parse_tile(hint->second);
    if (t.rows == 0 || t.cols == 0) return in;  // labels-only tile and no label
    // Never below the declared work: a shape label that disagrees cannot remove FLOPs.
    in.flops = std::max(in.flops, quantised_flops(*shape, t, c.terms.sm_count));
    double tiles = shape->groups * std::ceil(shape->m / t.rows) * std::ceil(shape->n / t.cols);
    in.active = std::min(1.0, tiles / c.terms.sm_count);
    if (c.terms.l2_bytes_per_s) {
      in.l2_bytes = tiles * shape->k * (t.rows + t.cols) * element_bytes(dtype_of(sample));
    }
  }
  return in;
}

std::string form_name(Form form) { return form == Form::kEpoch ? "epoch" : "refined"; }

Form parse_form(const std::string& name) {
  if (name == "epoch") return Form::kEpoch;
  if (name == "refined") return Form::kRefined;
  throw std::invalid_argument("unknown form \"" + name + "\" (epoch or refined)");
}

}  // namespace batchcost
