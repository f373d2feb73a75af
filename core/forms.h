// The forms of the cost model's compute-and-memory term (DESIGN.md): the paper's ("epoch")
//
//   max(flops / P[dtype], bytes / W)
//
// and the refined one, a few physical terms on top of it, each present only where the held-out
// selection (model/select.h) kept it:
//
//   compute = flops_q / P[dtype] · (1 + k_half / K)       tile/wave quantisation, K efficiency
//   memory  = bytes / (W · r_grouped)                      grouped/masked kernels only
//             · max(1, s / active)                          few tiles: too few SMs to saturate W
//   memory  = max(memory, l2_bytes / L2)                   operand tiles re-read through L2
//   time    = (compute^p + memory^p)^(1/p)                 smooth overlap; p → ∞ is the max
//
// flops_q = 2 · K · tile_rows · tile_cols · SMs · ceil(tiles / SMs) where tiles > SMs (else the
// declared flops: one partial wave is filled by smaller tiles), tiles = groups ·
// ceil(M / tile_rows) · ceil(N / tile_cols): the work of whole waves of whole output tiles;
// active = min(1, tiles / SMs), the share of the SMs that have a tile to stream operands for;
// l2_bytes = tiles · K · (tile_rows + tile_cols) · element size: every output tile loads its A
// rows and B columns, so small tiles read the operands many times over through L2.
// Terms that need a GEMM's shape read it from the sample's labels (m, n, k, groups, layout); a
// sample without them is priced by the terms that need nothing (overlap). Host C++ only.
#pragma once

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>

#include "core/cost_model.h"

namespace batchcost {

// The shape of a GEMM sample as its labels give it (not core/gemm_shapes.h GemmShape, a sweep's
// named shape): m, n, k (per group), groups (default 1), and
// whether it is a grouped kernel (layout other than dense, or groups > 1). Absent when m, n or k
// is missing; throws std::invalid_argument naming the label when one is not a positive integer.
struct LabelledShape {
  double m = 0, n = 0, k = 0, groups = 1;
  bool grouped = false;
};
std::optional<LabelledShape> gemm_shape_of(const Sample& sample);

// "128x128" <-> Tile; parse throws std::invalid_argument for anything else.
std::string tile_name(const Tile& tile);
Tile parse_tile(const std::string& text);

// The FLOPs of whole waves of whole tiles (see the header); `sm_count` > 0.
double quantised_flops(const LabelledShape& shape, const Tile& tile, int sm_count);

// What the refined compute-and-memory term of one sample depends on, apart from the constants:
// computed once per sample, so that a fit can evaluate the form with any number type.
struct FormInputs {
  double flops = 0;  // flops, or quantised flops where the tile term applies
  double bytes = 0;
  double k = 0;  // 0 where the K-efficiency term does not apply
  bool grouped = false;
  double active = 0;    // share of SMs with a tile (0 where the tile term does not apply)
  double l2_bytes = 0;  // operand bytes the tiles load (0 where the L2 term does not apply)
};

// Bytes per element of a dtype's GEMM operands; 0 for a dtype it does not know.
double element_bytes(const std::string& dtype);
// Throws std::invalid_argument (from gemm_shape_of) for a malformed shape label.
FormInputs form_inputs(const Sample& sample, const Constants& constants);

// (c^p + m^p)^(1/p), computed as big · (1 + (small/big)^p)^(1/p) so it stays finite and
// differentiable; the max when either is 0.
template <typename T>
T smooth_max(const T& c, const T& m, const T& p) {
  using std::pow;
  if (!(c > T(0.0))) return m;
  if (!(m > T(0.0))) return c;
  T big = c > m ? c : m, small = c > m ? m : c;
  return big * pow(T(1.0) + pow(small / big, p), T(1.0) / p);
}

// The refined compute-and-memory time of one sample, for P, W and the terms' values (any number
// type, so that Ceres can differentiate it); a null term is absent.
template <typename T>
T refined_core(const FormInputs& in, const T& P, const T& W, const T* overlap_p, const T* k_half,
               const T* grouped_ratio, const T* saturating_sms, const T* l2_bytes_per_s) {
  T compute(0.0), memory(0.0);
  if (in.flops > 0) {
    compute = in.flops / P;
    if (k_half && in.k > 0) compute = compute * (T(1.0) + *k_half / in.k);
  }
  if (in.bytes > 0) {
    memory = in.bytes / W;
    if (grouped_ratio && in.grouped) memory = memory / *grouped_ratio;
    if (saturating_sms && in.active > 0 && *saturating_sms > T(in.active)) {
      memory = memory * (*saturating_sms / in.active);
    }
  }
  if (l2_bytes_per_s && in.l2_bytes > 0) {
    T l2 = in.l2_bytes / *l2_bytes_per_s;
    if (l2 > memory) memory = l2;
  }
  if (overlap_p) return smooth_max(compute, memory, *overlap_p);
  return compute > memory ? compute : memory;
}

// Form names as the command line and model.json spell them: "epoch", "refined".
std::string form_name(Form form);
// Throws std::invalid_argument for an unknown name.
Form parse_form(const std::string& name);

}  // namespace batchcost
