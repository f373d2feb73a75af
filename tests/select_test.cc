// The refined form (core/forms.h) and its held-out selection (model/select.h): the terms by
// hand, the epoch form unchanged, recovery of known refined constants, no term kept where the
// data has none, and the held-out error of both forms on the published Hopper GEMM sets
// (tests/data/published/, converted by tools/published/), printed per set and family.
#include "model/select.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>

#include "core/forms.h"
#include "core/model_file.h"
#include "model/fit.h"
#include "model/results.h"

namespace batchcost {
namespace {

Estimate exact(double v) { return {v, v, v}; }

SelectOptions on_sms(int sm_count) {
  SelectOptions o;
  o.sm_count = sm_count;
  return o;
}

Sample gemm(double m, double n, double k, double groups = 1, std::string layout = "dense") {
  Sample s;
  s.name = "gemm/m:" + std::to_string(static_cast<int>(m)) +
           "/n:" + std::to_string(static_cast<int>(n)) +
           "/k:" + std::to_string(static_cast<int>(k)) +
           "/g:" + std::to_string(static_cast<int>(groups)) + "/" + layout;
  s.family = layout == "dense" ? "gemm" : "moe_" + layout;
  s.name = s.family + "/" + s.name;
  s.work.flops = 2 * groups * m * n * k;
  s.work.bytes = groups * (m * k + k * n + 2 * m * n);
  s.work.kernels = 1;
  auto i = [](double v) { return std::to_string(static_cast<long long>(v)); };
  s.labels = {{"dtype", "fp8_e4m3"}, {"m", i(m)},           {"n", i(n)},
              {"k", i(k)},           {"groups", i(groups)}, {"layout", layout}};
  return s;
}

TEST(Forms, ShapeFromLabels) {
  Sample s = gemm(257, 4096, 7168, 4, "masked");
  std::optional<LabelledShape> g = gemm_shape_of(s);
  ASSERT_TRUE(g);
  EXPECT_EQ(g->m, 257);
  EXPECT_EQ(g->groups, 4);
  EXPECT_TRUE(g->grouped);
  s.labels.erase("k");
  EXPECT_FALSE(gemm_shape_of(s));
  s.labels["k"] = "12x";
  EXPECT_THROW(gemm_shape_of(s), std::invalid_argument);
  s.labels["k"] = "0";
  EXPECT_THROW(gemm_shape_of(s), std::invalid_argument);
}

TEST(Forms, TileNames) {
  EXPECT_EQ(parse_tile("128x256"), (Tile{128, 256}));
  EXPECT_EQ(tile_name({64, 128}), "64x128");
  for (const char* bad : {"", "128", "x128", "128x", "0x128", "128x128x", "ax1"}) {
    EXPECT_THROW(parse_tile(bad), std::invalid_argument) << bad;
  }
  EXPECT_EQ(parse_form("epoch"), Form::kEpoch);
  EXPECT_EQ(form_name(Form::kRefined), "refined");
  EXPECT_THROW(parse_form("max"), std::invalid_argument);
}

TEST(Forms, WaveQuantisationByHand) {
  // M = 257 pays for three 128-row tiles: 3 · 128 = 384 tiles are three waves of 132 SMs, the
  // work of 396 tiles.
  LabelledShape s{257, 16384, 1000, 1, false};
  EXPECT_DOUBLE_EQ(quantised_flops(s, {128, 128}, 132), 2.0 * 1000 * 128 * 128 * 396);
  // 133 tiles need a second wave.
  LabelledShape t{128, 133 * 128, 1000, 1, false};
  EXPECT_DOUBLE_EQ(quantised_flops(t, {128, 128}, 132), 2.0 * 1000 * 128 * 128 * 264);
  // Fewer tiles than SMs: the declared work (the kernel fills the SMs with smaller tiles).
  LabelledShape u{257, 4096, 1000, 1, false};
  EXPECT_DOUBLE_EQ(quantised_flops(u, {128, 128}, 132), 2.0 * 257 * 4096 * 1000);
}

TEST(Forms, SmoothMaxLimits) {
  EXPECT_NEAR(smooth_max(3.0, 4.0, 1.0), 7.0, 1e-12);
  EXPECT_NEAR(smooth_max(3.0, 4.0, 2.0), 5.0, 1e-12);
  EXPECT_NEAR(smooth_max(3.0, 4.0, 200.0), 4.0, 1e-9);
  EXPECT_EQ(smooth_max(0.0, 4.0, 2.0), 4.0);
  EXPECT_EQ(smooth_max(3.0, 0.0, 2.0), 3.0);
}

Constants base() {
  Constants c;
  c.flops_per_s = {{"fp8_e4m3", exact(1.5e15)}};
  c.hbm_bytes_per_s = exact(3.0e12);
  c.latency_s = {{"kernel", exact(4e-6)}};
  return c;
}

TEST(Forms, PredictDispatchesOnTheForm) {
  Sample s = gemm(4096, 4096, 512, 2, "contiguous");
  Constants c = base();
  double compute = s.work.flops / 1.5e15, memory = s.work.bytes / 3.0e12;
  EXPECT_DOUBLE_EQ(predict(c, s).time_s, 4e-6 + std::max(compute, memory));
  c.form = Form::kRefined;  // no terms: the same as epoch
  EXPECT_DOUBLE_EQ(predict(c, s).time_s, 4e-6 + std::max(compute, memory));
  c.terms.overlap_p = exact(2);
  c.terms.k_half = exact(256);
  c.terms.grouped_bandwidth_ratio = exact(0.8);
  c.terms.tile["fp8_e4m3"] = {128, 128};
  c.terms.sm_count = 132;
  double q = quantised_flops(*gemm_shape_of(s), {128, 128}, 132);
  double rc = q / 1.5e15 * (1 + 256.0 / 512), rm = memory / 0.8;
  EXPECT_NEAR(predict(c, s).time_s, 4e-6 + std::sqrt(rc * rc + rm * rm), 1e-15);
  EXPECT_DOUBLE_EQ(predict(as_epoch(c), s).time_s, 4e-6 + std::max(compute, memory));
  // A malformed shape label makes the sample unpriceable, not the program fail.
  s.labels["m"] = "-3";
  EXPECT_NE(predict(c, s).missing, "");
}

TEST(ModelFile, RefinedFormRoundTrip) {
  ModelFile m;
  m.constants = base();
  m.constants.form = Form::kRefined;
  m.constants.terms.overlap_p = {2.5, 2.0, 3.0};
  m.constants.terms.k_half = {300, 250, 360};
  m.constants.terms.saturating_sms = {0.1, 0.09, 0.11};
  m.constants.terms.tile["fp8_e4m3"] = {128, 256};
  m.constants.terms.sm_count = 132;
  m.epoch = base();
  m.heldout["gemm"] = {{18, "fit", 0.12, 0.26}, {18, "fit", 0.05, 0.17}};
  m.selection = {"keep overlap: 12.69% -> 9.14%"};
  nlohmann::json doc = nlohmann::json::parse(model_to_json(m).dump());
  EXPECT_EQ(doc["schema"], "batchcost.model/2");
  EXPECT_EQ(doc["form"], "refined");
  ModelFile back = model_from_json(doc, "m.json");
  EXPECT_EQ(back.constants.form, Form::kRefined);
  EXPECT_EQ(back.constants.terms.overlap_p->value, 2.5);
  EXPECT_EQ(back.constants.terms.k_half->low, 250);
  EXPECT_EQ(back.constants.terms.saturating_sms->high, 0.11);
  EXPECT_EQ(back.constants.terms.tile.at("fp8_e4m3"), (Tile{128, 256}));
  EXPECT_EQ(back.constants.terms.sm_count, 132);
  ASSERT_TRUE(back.epoch);
  EXPECT_EQ(back.epoch->form, Form::kEpoch);
  EXPECT_EQ(back.epoch->hbm_bytes_per_s->value, 3.0e12);
  EXPECT_EQ(back.heldout.at("gemm").refined.p90_abs_rel_err, 0.17);
  EXPECT_EQ(back.heldout.at("gemm").epoch.role, "fit");
  EXPECT_EQ(back.selection, m.selection);
  Sample s = gemm(4096, 4096, 512);
  EXPECT_DOUBLE_EQ(predict(back.constants, s).time_s, predict(m.constants, s).time_s);
}

TEST(ModelFile, SchemaOneIsTheEpochForm) {
  nlohmann::json doc = {{"schema", "batchcost.model/1"},
                        {"form", "refined"},  // not a schema 1 key: ignored
                        {"constants", {{"hbm_bytes_per_s", 3e12}}}};
  ModelFile m = model_from_json(doc, "old.json");
  EXPECT_EQ(m.constants.form, Form::kEpoch);
  EXPECT_FALSE(m.epoch);
}

TEST(ModelFile, RejectsBadTermsNamingTheKey) {
  auto message = [](nlohmann::json doc) {
    try {
      model_from_json(doc, "m.json");
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  nlohmann::json ok = {{"schema", "batchcost.model/2"},
                       {"form", "refined"},
                       {"constants", {{"hbm_bytes_per_s", 3e12}, {"terms", {{"overlap_p", 2}}}}}};
  EXPECT_EQ(message(ok), "accepted");
  nlohmann::json d = ok;
  d["form"] = "max";
  EXPECT_EQ(message(d), "m.json: form: unknown form \"max\" (epoch or refined)");
  d = ok;
  d["constants"]["terms"]["overlap_p"] = 0.5;
  EXPECT_EQ(message(d),
            "m.json: constants.terms.overlap_p: below 1 (p = 1 is the sum of compute and memory)");
  d = ok;
  d["constants"]["terms"]["k_half"] = -3;
  EXPECT_EQ(message(d), "m.json: constants.terms.k_half: not a positive finite number");
  d = ok;
  d["constants"]["terms"]["tile"] = {{"bf16", "128"}};
  d["constants"]["terms"]["sm_count"] = 132;
  EXPECT_EQ(message(d),
            "m.json: constants.terms.tile.bf16: tile \"128\" is not ROWSxCOLS (e.g. 128x128)");
  d["constants"]["terms"]["tile"] = {{"bf16", "128x128"}};
  d["constants"]["terms"].erase("sm_count");
  EXPECT_EQ(message(d),
            "m.json: constants.terms.sm_count: a tile needs the SM count, a positive integer");
  d = ok;
  d["epoch"] = {{"constants", {{"hbm_bytes_per_s", "fast"}}}};
  EXPECT_EQ(message(d), "m.json (epoch): constants.hbm_bytes_per_s: not a number");
}

TEST(Forms, TileLabelsAndTheL2Term) {
  Constants c = base();
  c.form = Form::kRefined;
  c.terms.tile["fp8_e4m3"] = {0, 0};  // the samples' own labels only
  c.terms.sm_count = 132;
  c.terms.l2_bytes_per_s = exact(1e13);
  Sample s = gemm(64, 2112, 7168);
  FormInputs none = form_inputs(s, c);  // no label: no tile terms
  EXPECT_EQ(none.l2_bytes, 0);
  EXPECT_EQ(none.active, 0);
  s.labels["tile"] = "64x16";
  FormInputs in = form_inputs(s, c);
  // 132 tiles of 64x16: each loads 7168 · (64 + 16) one-byte operands through L2.
  EXPECT_DOUBLE_EQ(in.l2_bytes, 132.0 * 7168 * 80);
  EXPECT_DOUBLE_EQ(in.active, 1);
  EXPECT_DOUBLE_EQ(in.flops, s.work.flops);  // one wave: the declared work
  double memory = std::max(s.work.bytes / 3e12, in.l2_bytes / 1e13);
  EXPECT_NEAR(predict(c, s).time_s, 4e-6 + std::max(s.work.flops / 1.5e15, memory), 1e-15);
  s.labels["tile"] = "64";
  EXPECT_NE(predict(c, s).missing, "");  // a malformed hint: not priced
  EXPECT_EQ(element_bytes("bf16"), 2);
  EXPECT_EQ(element_bytes("int4"), 0);
}

// Samples of a sweep over M, N, K and groups priced by `truth`, with log-normal noise.
std::vector<Sample> sweep(const Constants& truth, double noise, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> gauss(0, 1);  // only for the noise's sign and size
  std::vector<Sample> out;
  for (double m : {16.0, 64.0, 128.0, 257.0, 512.0, 1024.0, 2048.0, 4096.0, 8192.0}) {
    for (auto [n, k] : {std::pair{2112.0, 7168.0},
                        {4096.0, 512.0},
                        {7168.0, 2048.0},
                        {24576.0, 1536.0},
                        {7168.0, 16384.0}}) {
      for (double g : {1.0, 4.0}) {
        Sample s = gemm(m, n, k, g, g > 1 ? "contiguous" : "dense");
        s.time_s = predict(truth, s).time_s * std::exp(noise * gauss(rng));
        out.push_back(s);
      }
    }
  }
  return out;
}

TEST(Select, RecoversKnownRefinedConstants) {
  Constants truth = base();
  truth.form = Form::kRefined;
  truth.terms.overlap_p = exact(2.5);
  truth.terms.k_half = exact(300);
  std::vector<Sample> s = sweep(truth, 0.01, 7);
  Selection sel = select_form(s, {}, on_sms(132));
  for (const std::string& step : sel.steps) std::printf("  %s\n", step.c_str());
  ASSERT_EQ(sel.selected, Form::kRefined);
  ASSERT_TRUE(sel.terms.overlap);
  ASSERT_TRUE(sel.terms.k_half);
  const Constants& r = sel.refined;
  EXPECT_NEAR(r.flops_per_s.at("fp8_e4m3").value / 1.5e15, 1, 0.03);
  EXPECT_NEAR(r.hbm_bytes_per_s->value / 3.0e12, 1, 0.03);
  EXPECT_NEAR(r.terms.overlap_p->value / 2.5, 1, 0.10);
  EXPECT_NEAR(r.terms.k_half->value / 300, 1, 0.10);
  EXPECT_LE(r.terms.k_half->low, 300);
  EXPECT_GE(r.terms.k_half->high, 300);
  EXPECT_LT(sel.heldout.at("gemm").refined.median_abs_rel_err,
            sel.heldout.at("gemm").epoch.median_abs_rel_err);
}

TEST(Select, AParameterTheDataCannotSeeIsBoundedOnlyByItsBounds) {
  // GEMMs that move no bytes: no sample depends on W or on the overlap p, whose Jacobian columns
  // are 0. The pseudo-inverse covariance gave such a parameter an interval of no width
  // ([4.291, 4.291] on the compare fixture); it must span the parameter's bounds instead.
  std::vector<Sample> s;
  for (Sample g : sweep(base(), 0.0, 3)) {
    if (g.family != "gemm") continue;
    g.work.bytes = 0;
    g.time_s = predict(base(), g).time_s * (1 + 0.01 * std::sin(g.work.flops));
    s.push_back(g);
  }
  std::vector<size_t> idx(s.size());
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  TermSet overlap_only;
  overlap_only.overlap = true;
  const Constants c = fit_refined(s, idx, base(), overlap_only, 132, true);
  ASSERT_TRUE(c.terms.overlap_p.has_value());
  EXPECT_NEAR(c.terms.overlap_p->low, 1.05, 1e-9);
  EXPECT_NEAR(c.terms.overlap_p->high, 201, 1e-9);
  EXPECT_NEAR(c.hbm_bytes_per_s->low, 3.0e12 / 100, 1e-3 * 3.0e12 / 100);
  EXPECT_NEAR(c.hbm_bytes_per_s->high, 3.0e12 * 100, 1e-3 * 3.0e12 * 100);
  // What the samples do see keeps a narrow interval around the truth.
  const Estimate& p = c.flops_per_s.at("fp8_e4m3");
  EXPECT_NEAR(p.value / 1.5e15, 1, 0.02);
  EXPECT_GT(p.high - p.low, 0);
  EXPECT_LT((p.high - p.low) / p.value, 0.2);
}

TEST(Select, UnseenParametersFromTheJacobian) {
  // Full rank: every parameter seen.
  EXPECT_EQ(unseen_parameters({1, 0, 0, 1, 1, 1}, 3, 2), (std::vector<bool>{false, false}));
  // A zero column: that parameter alone.
  EXPECT_EQ(unseen_parameters({1, 0, 2, 0, 3, 0}, 3, 2), (std::vector<bool>{false, true}));
  // Two parameters only their sum of which the data sees: both.
  EXPECT_EQ(unseen_parameters({1, 1, 2, 2, 3, 3, 0, 0}, 4, 2), (std::vector<bool>{true, true}));
  // Fewer samples than parameters: the null space is what the one row does not touch.
  EXPECT_EQ(unseen_parameters({1, 0, 0}, 1, 3), (std::vector<bool>{false, true, true}));
  // Nothing to go on.
  EXPECT_EQ(unseen_parameters({}, 0, 2), (std::vector<bool>{true, true}));
}

// Square GEMMs only (M = N = K, 256 to 16384, multiples of every Hopper tile, three
// repetitions, 1% noise), priced by the paper's form: their shapes cannot tell tiles apart, and
// the selection falls back to the paper's form.
std::vector<Sample> squares(uint64_t seed, bool with_memory) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> gauss(0, 1);
  std::vector<Sample> s;
  for (double n : {256.0, 512.0, 1024.0, 2048.0, 3072.0, 4096.0, 8192.0, 12288.0, 16384.0}) {
    for (int rep = 0; rep < 3; ++rep) {
      Sample g = gemm(n, n, n);
      g.time_s = predict(base(), g).time_s * std::exp(0.01 * gauss(rng));
      s.push_back(g);
    }
  }
  // The memory family of the same run: copies from 1 MiB to 1 GiB.
  for (double mib = 1; with_memory && mib <= 1024; mib *= 4) {
    for (int rep = 0; rep < 3; ++rep) {
      Sample m;
      m.family = "memory";
      m.name = "memory/copy/bytes:" + std::to_string(static_cast<long long>(mib * 1048576));
      m.work.bytes = mib * 1048576;
      m.work.kernels = 1;
      m.labels = {{"cache", "cold"}};
      m.time_s = predict(base(), m).time_s * std::exp(0.01 * gauss(rng));
      s.push_back(m);
    }
  }
  return s;
}

// GEMMs alone, all square: none is memory-bound, so W stays at the bound the data gives it (the
// epoch fit is refused, as `fit` says) and mis-prices the sizes near balance (M = 1024: +18%);
// tile and L2 terms then made up for it held out (64x128 + L2 kept, 3.1% -> 0.6%) though the
// squares cannot tell tiles apart. No term is tried, and the step says why. With the run's memory
// family beside them W is determined (3.0 TB/s within 3%) and the epoch form fits them to 1%.
TEST(Select, SquareGemmsAloneFallBackToThePapersForm) {
  Selection alone = select_form(squares(5, false), {}, on_sms(132));
  for (const std::string& step : alone.steps) std::printf("  %s\n", step.c_str());
  EXPECT_FALSE(alone.full.refusals.empty());
  EXPECT_EQ(alone.selected, Form::kEpoch);
  EXPECT_EQ(term_set_name(alone.terms), "none");
  ASSERT_FALSE(alone.steps.empty());
  EXPECT_NE(alone.steps.back().find("no term tried, the epoch fit is refused (W = "),
            std::string::npos)
      << alone.steps.back();
  // --form refined still searches.
  SelectOptions forced = on_sms(132);
  forced.force = Form::kRefined;
  EXPECT_NE(term_set_name(select_form(squares(5, false), {}, forced).terms), "none");

  Selection with_memory = select_form(squares(5, true), {}, on_sms(132));
  EXPECT_TRUE(with_memory.full.refusals.empty());
  EXPECT_NEAR(with_memory.epoch.hbm_bytes_per_s->value / 3.0e12, 1, 0.03);
  EXPECT_NEAR(with_memory.epoch.flops_per_s.at("fp8_e4m3").value / 1.5e15, 1, 0.03);
  for (const HeldOutRow& r : with_memory.rows) EXPECT_NEAR(r.epoch_ratio, 1, 0.04) << r.name;
}

TEST(Select, KeepsThePapersFormWhereTheDataHasNoTerm) {
  std::vector<Sample> s = sweep(base(), 0.01, 11);
  Selection sel = select_form(s, {}, on_sms(132));
  for (const std::string& step : sel.steps) std::printf("  %s\n", step.c_str());
  EXPECT_EQ(sel.selected, Form::kEpoch);
  EXPECT_EQ(term_set_name(sel.terms), "none");
  EXPECT_EQ(sel.chosen().form, Form::kEpoch);
  // --form epoch holds the paper's form even where a term would win held out; both forms are
  // still measured.
  Constants refined_truth = base();
  refined_truth.form = Form::kRefined;
  refined_truth.terms.overlap_p = exact(2.5);
  SelectOptions epoch_only;
  epoch_only.force = Form::kEpoch;
  Selection forced = select_form(sweep(refined_truth, 0.01, 11), {}, epoch_only);
  EXPECT_EQ(forced.selected, Form::kEpoch);
  EXPECT_EQ(forced.chosen().form, Form::kEpoch);
  EXPECT_TRUE(forced.terms.overlap);
  EXPECT_LT(forced.heldout.at("gemm").refined.median_abs_rel_err,
            forced.heldout.at("gemm").epoch.median_abs_rel_err);
}

// The published sets: every file under tests/data/published/ whose families are GEMMs.
std::vector<std::string> published_gemm_sets() {
  const char* root = std::getenv("BATCHCOST_SOURCE_DIR");
  std::vector<std::string> out;
  if (!root) return out;
  std::filesystem::path dir = std::filesystem::path(root) / "tests/data/published";
  if (!std::filesystem::exists(dir)) return out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    std::string name = e.path().filename().string();
    if (name.rfind("deepgemm_", 0) == 0 && e.path().extension() == ".json") {
      out.push_back(e.path().string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The table of one selection: per family, held-out median and p90 of both forms.
void print_heldout(const std::string& set, const std::string& split, const Selection& sel) {
  std::printf("%s, %s: selected %s (terms: %s)\n", set.c_str(), split.c_str(),
              form_name(sel.selected).c_str(), term_set_name(sel.terms).c_str());
  for (const std::string& step : sel.steps) std::printf("    %s\n", step.c_str());
  std::printf("    %-16s %-9s %3s  %13s %13s  %13s %13s\n", "family", "held out", "n",
              "epoch median", "epoch p90", "refined median", "refined p90");
  for (const auto& [family, q] : sel.heldout) {
    std::printf("    %-16s %-9s %3d  %12.1f%% %12.1f%%  %13.1f%% %12.1f%%\n", family.c_str(),
                q.epoch.role == "fit" ? "k-fold" : "family", q.epoch.n,
                100 * q.epoch.median_abs_rel_err, 100 * q.epoch.p90_abs_rel_err,
                100 * q.refined.median_abs_rel_err, 100 * q.refined.p90_abs_rel_err);
  }
  if (std::getenv("BATCHCOST_SHOW_ROWS")) {
    for (const HeldOutRow& r : sel.rows) {
      std::printf("      %-60s %9.2f us  epoch %+6.1f%%  refined %+6.1f%%\n", r.name.c_str(),
                  r.measured_s * 1e6, 100 * (r.epoch_ratio - 1), 100 * (r.refined_ratio - 1));
    }
  }
}

// NOTES: the target is median <= 5% and p90 <= 12% on every held-out family; where the
// refined form misses it, the table says by how much (README, "The refined form"). What is
// asserted: with every family fitted (k-fold), no family's held-out median is worse under the
// refined form than under the paper's by more than the tables' rounding (whole TFLOPS, < 0.5%);
// with the MoE families held out whole, the held-out mean |log error| over all samples is not
// worse. A family the fit never saw can still be: the selection cannot know it, and the table
// shows it.
TEST(Select, PublishedHopperGemmSets) {
  std::vector<std::string> sets = published_gemm_sets();
  if (sets.empty()) GTEST_SKIP() << "BATCHCOST_SOURCE_DIR unset or no published GEMM set";
  for (const std::string& path : sets) {
    Inputs in = read_inputs({path});
    int sms = in.context.value("sm_count", 0);
    std::string set = std::filesystem::path(path).filename().string();
    // Split 1: k-fold over shapes, every family fitted.
    Selection kfold = select_form(in.samples, {.validate_families = {}}, on_sms(sms));
    print_heldout(set, "5-fold over shapes", kfold);
    // Split 2: fitted on the dense GEMMs, the grouped MoE families held out whole.
    FitOptions dense_only{.validate_families = {"moe_contiguous", "moe_masked"}};
    Selection family = select_form(in.samples, dense_only, on_sms(sms));
    print_heldout(set, "MoE families held out", family);
    for (const auto& [name, q] : kfold.heldout) {
      EXPECT_GT(q.refined.n, 0) << set << " " << name;
      EXPECT_LE(q.refined.median_abs_rel_err, q.epoch.median_abs_rel_err + 0.005)
          << set << " " << name;
    }
    double epoch_sum = 0, refined_sum = 0;
    for (const HeldOutRow& r : family.rows) {
      ASSERT_GT(r.epoch_ratio, 0) << r.name;
      ASSERT_GT(r.refined_ratio, 0) << r.name;
      epoch_sum += std::abs(std::log(r.epoch_ratio));
      refined_sum += std::abs(std::log(r.refined_ratio));
    }
    std::printf("    mean |log error| over all %zu samples: epoch %.2f%%, refined %.2f%%\n",
                family.rows.size(), 100 * epoch_sum / family.rows.size(),
                100 * refined_sum / family.rows.size());
    EXPECT_LE(refined_sum, epoch_sum) << set;
  }
}

}  // namespace
}  // namespace batchcost
