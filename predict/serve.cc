// The serving simulator (see serve.h).
#include "predict/serve.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>
#include <queue>
#include <random>
#include <sstream>

#include "model/results.h"

namespace batchcost {
namespace {

// Portable draws: std::mt19937_64's sequence is fixed by the standard, the library's
// distributions are not, so the few draws needed are written out (the same seed gives the same
// load on every standard library).
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : g_(seed) {}
  double uniform() {  // in [0, 1), 53 bits
    return static_cast<double>(g_() >> 11) * (1.0 / 9007199254740992.0);
  }
  double exponential(double mean) { return -mean * std::log1p(-uniform()); }
  double normal() {  // Box-Muller, one of the pair
    double u1 = 1.0 - uniform(), u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  std::int64_t length(const LengthDist& d) {
    double v = d.mean;
    if (d.sd > 0) {
      double s2 = std::log1p((d.sd * d.sd) / (d.mean * d.mean));
      v = std::exp(std::log(d.mean) - s2 / 2 + std::sqrt(s2) * normal());
    }
    return std::clamp<std::int64_t>(std::llround(v), 1, d.max);
  }

 private:
  std::mt19937_64 g_;
};

double parse_positive(const std::string& text, const std::string& flag, const std::string& what) {
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || text.empty() || !std::isfinite(v) || v <= 0) {
    throw InputError(flag + ": " + what + " must be a positive number, got '" + text + "'");
  }
  return v;
}

// Where the requests come from: a sorted list (open loop), or users who send the next request
// a think time after the last one ended (closed loop).
class Source {
 public:
  virtual ~Source() = default;
  // The next arrival's time, or +inf when none is due any more (a closed loop may get more later).
  virtual double next_time() const = 0;
  virtual Request pop() = 0;
  virtual void completed(double /*now*/) {}
  virtual bool exhausted() const = 0;  // no request will ever arrive again
};

class ListSource : public Source {
 public:
  explicit ListSource(const std::vector<Request>& r) : r_(r) {}
  double next_time() const override {
    return i_ < r_.size() ? r_[i_].arrival_s : std::numeric_limits<double>::infinity();
  }
  Request pop() override { return r_[i_++]; }
  bool exhausted() const override { return i_ >= r_.size(); }

 private:
  const std::vector<Request>& r_;
  size_t i_ = 0;
};

class ClosedSource : public Source {
 public:
  ClosedSource(const ClosedLoop& loop, std::int64_t n, const LengthDist& in, const LengthDist& out,
               std::uint64_t seed)
      : loop_(loop), n_(n), in_(in), out_(out), rng_(seed) {
    for (std::int64_t u = 0; u < std::min(loop.users, n); ++u) schedule(0);
  }
  double next_time() const override {
    return due_.empty() ? std::numeric_limits<double>::infinity() : due_.top();
  }
  Request pop() override {
    Request r;
    r.arrival_s = due_.top();
    due_.pop();
    r.input = rng_.length(in_);
    r.output = rng_.length(out_);
    return r;
  }
  void completed(double now) override {
    if (issued_ < n_) schedule(now + (loop_.think_s > 0 ? rng_.exponential(loop_.think_s) : 0));
  }
  bool exhausted() const override { return due_.empty() && issued_ >= n_; }

 private:
  void schedule(double t) {
    due_.push(t);
    ++issued_;
  }
  ClosedLoop loop_;
  std::int64_t n_, issued_ = 0;
  LengthDist in_, out_;
  Rng rng_;
  std::priority_queue<double, std::vector<double>, std::greater<>> due_;
};

// The rates of a finished load from its makespan, output and requests: over `gpus`, busy for
// `busy_s` of the makespan (each GPU, on average), `in_system_s` request-seconds in the system.
void set_rates(ServeResult& r, double gpus, double busy_s, double in_system_s) {
  if (r.makespan_s > 0) {
    r.tokens_per_s_per_gpu = r.output_tokens / r.makespan_s / gpus;
    r.requests_per_s_per_gpu = static_cast<double>(r.requests) / r.makespan_s / gpus;
    r.busy_fraction = busy_s / r.makespan_s;
    r.mean_in_system = in_system_s / r.makespan_s;
    r.arrival_rate_s = static_cast<double>(r.requests + r.rejected) / r.makespan_s;
  }
  if (r.output_tokens > 0) {
    r.gpu_hours_per_million = gpus * r.makespan_s / 3600.0 / (r.output_tokens / 1e6);
  }
}

struct Live {
  Request r;
  std::int64_t prompt_left = 0;
  double first_token_s = -1;
  std::size_t group = 0;
  std::int64_t decode_steps = 0;  // steps from its first token to its last
};

// One data-parallel group's scheduler: its queue, its running batch and its share of the KV cache.
struct Group {
  std::deque<std::size_t> waiting, prefilling;
  std::int64_t running = 0, decoding = 0, kv_reserved = 0;
  double sum_ctx = 0;  // context tokens of its decoding sequences
};

class Simulator {
 public:
  Simulator(const StepCosts& c, const Policy& p, Source& s,
            std::vector<RequestTimes>* times = nullptr)
      : c_(c), p_(p), src_(s), times_(times) {
    if (c.groups < 1) throw InputError("serve: the deployment has no data-parallel group");
    kv_per_group_ = c.kv_capacity_tokens / c.groups;
    if (kv_per_group_ <= 0) throw InputError("serve: the KV cache holds no token");
    if (p.max_batch < 1) throw InputError("--max-batch must be at least 1");
    if (p.token_budget < p.max_batch) {
      throw InputError("--token-budget (" + std::to_string(p.token_budget) +
                       ") must be at least --max-batch (" + std::to_string(p.max_batch) +
                       "): every running sequence decodes one token per step");
    }
    if (c.gpus < 1) throw InputError("serve: the deployment has no GPU");
    if (!(c.tokens_per_step >= 1) || !std::isfinite(c.tokens_per_step)) {
      throw InputError("serve: a decode step must yield at least one token per sequence");
    }
    if (!(p.prefix_hit >= 0 && p.prefix_hit <= 1)) {
      throw InputError("--prefix-hit must be a share between 0 and 1");
    }
    groups_.resize(static_cast<std::size_t>(c.groups));
  }

  ServeResult run() {
    if (p_.kind == Policy::Kind::kContinuous) {
      continuous();
    } else {
      window();
    }
    return finish();
  }

 private:
  // Moves every request that has arrived by now into a group's waiting queue, round-robin (as
  // SGLang's data-parallel controller and vLLM's front end spread requests); the time it spent in
  // the system before this step boundary is added to Little's integral here.
  void pull() {
    while (src_.next_time() <= now_) {
      Request r = src_.pop();
      if (!seen_any_) first_arrival_ = r.arrival_s, seen_any_ = true;
      in_system_integral_ += now_ - r.arrival_s;
      const std::size_t g = next_group_;
      next_group_ = (next_group_ + 1) % groups_.size();
      groups_[g].waiting.push_back(live_.size());
      ++waiting_;
      // The cached prefix is context already done: only the rest is prefilled.
      const auto cached = std::min<std::int64_t>(
          r.input - 1,
          static_cast<std::int64_t>(std::floor(p_.prefix_hit * static_cast<double>(r.input))));
      live_.push_back({r, r.prefilled ? 0 : r.input - std::max<std::int64_t>(cached, 0), -1, g, 0});
      if (times_) times_->push_back({r.arrival_s, -1, -1, false});
    }
  }

  // Admits waiting requests into each group, first come first served, while its batch and its KV
  // cache allow.
  void admit() {
    for (Group& g : groups_) {
      while (!g.waiting.empty() && g.running < p_.max_batch) {
        Live& l = live_[g.waiting.front()];
        std::int64_t need = l.r.input + l.r.output;
        if (need > kv_per_group_) {  // would never fit: refused, not queued forever
          ++rejected_;
          if (times_) (*times_)[g.waiting.front()].rejected = true;
          g.waiting.pop_front();
          --waiting_;
          continue;
        }
        if (g.kv_reserved + need > kv_per_group_) break;  // waits for memory
        g.kv_reserved += need;
        ++g.running;
        ++running_;
        const std::size_t i = g.waiting.front();
        g.waiting.pop_front();
        --waiting_;
        if (l.r.prefilled) {
          start_decoding(i);  // its KV cache came from a prefill pool: it only decodes
        } else {
          g.prefilling.push_back(i);
        }
      }
    }
  }

  // One step of `dt` seconds: Little's integral and the batch statistics.
  void account(double dt) {
    in_system_integral_ += static_cast<double>(waiting_ + running_) * dt;
    batch_integral_ += static_cast<double>(running_) * dt;
    busy_ += dt;
    now_ += dt;
    ++steps_;
  }

  // Prefill chunks from the front of a group's prefilling queue within `budget` tokens: their
  // tokens and the sum of their tokens' contexts (a chunk attends to the prompt before it and
  // half of itself).
  std::pair<std::int64_t, double> take_chunks(Group& g, std::int64_t budget,
                                              std::vector<std::size_t>& completed) {
    std::int64_t tokens = 0;
    double ctx = 0;
    for (auto it = g.prefilling.begin(); it != g.prefilling.end() && budget > 0;) {
      Live& l = live_[*it];
      std::int64_t take = std::min(l.prompt_left, budget);
      double done = static_cast<double>(l.r.input - l.prompt_left);
      ctx += static_cast<double>(take) * (done + static_cast<double>(take) / 2);
      tokens += take;
      budget -= take;
      l.prompt_left -= take;
      if (l.prompt_left == 0) {
        completed.push_back(*it);
        it = g.prefilling.erase(it);
      } else {
        ++it;
      }
    }
    return {tokens, ctx};
  }

  // The seconds of a step in which the busiest group decodes `decoding` sequences and prefills
  // `chunk` tokens: the groups step together (their MoE and collectives are shared), so every
  // group is priced at the busiest one's load, exact when the load is balanced.
  double step_time(std::int64_t decoding, double ctx, std::int64_t chunk, double chunk_ctx) {
    double dt = 0;
    const std::int64_t sequences = decoding * c_.groups;
    if (decoding > 0) dt += c_.decode_s(sequences, ctx);
    if (chunk > 0) dt += c_.prefill_s(chunk, chunk_ctx);
    if (decoding > 0 || chunk > 0) dt += c_.step_overhead_s;
    if (decoding > 0 && c_.decode_weak_s) weak_busy_ += c_.decode_weak_s(sequences, ctx);
    if (chunk > 0 && c_.prefill_weak_s) weak_busy_ += c_.prefill_weak_s(chunk, chunk_ctx);
    if (!(dt > 0) || !std::isfinite(dt)) {
      throw InputError("serve: a step of " + std::to_string(sequences) + " sequences and " +
                       std::to_string(chunk) + " prompt tokens is priced at " + std::to_string(dt) +
                       " s");
    }
    return dt;
  }

  // One engine step over every group: each decodes its running sequences (where `decode`) and
  // spends the rest of its token budget on prompt chunks; then tokens are counted and first
  // tokens given.
  void step(bool decode) {
    completed_.clear();
    std::int64_t busiest_decode = 0, decoding = 0, busiest_chunk = 0, chunk = 0;
    double ctx = 0, chunk_ctx = 0;
    for (Group& g : groups_) {
      const std::int64_t d = decode ? g.decoding : 0;
      busiest_decode = std::max(busiest_decode, d);
      decoding += d;
      if (d > 0) ctx += g.sum_ctx;
      auto [tokens, tokens_ctx] = take_chunks(g, p_.token_budget - d, completed_);
      busiest_chunk = std::max(busiest_chunk, tokens);
      chunk += tokens;
      chunk_ctx += tokens_ctx;
    }
    account(step_time(busiest_decode, decoding > 0 ? ctx / static_cast<double>(decoding) : 0,
                      busiest_chunk, chunk > 0 ? chunk_ctx / static_cast<double>(chunk) : 0));
    if (decode) decode_done();
    for (std::size_t i : completed_) first_token(i);
  }

  void first_token(std::size_t i) {
    Live& l = live_[i];
    l.first_token_s = now_;
    ttft_.push_back(now_ - l.r.arrival_s);
    if (times_) (*times_)[i].first_token_s = now_;
    if (l.r.output == 1) {
      done(i);
    } else {
      start_decoding(i);
    }
  }

  // From the next step on, it decodes its output's remaining tokens.
  void start_decoding(std::size_t i) {
    Live& l = live_[i];
    if (l.first_token_s < 0) l.first_token_s = now_;
    Group& g = groups_[l.group];
    ++g.decoding;
    ++decoding_;
    g.sum_ctx += static_cast<double>(l.r.input + 1);
    // The last token may come part-way through a step: the step that yields it ends the request.
    l.decode_steps = c_.tokens_per_step == 1
                         ? l.r.output - 1
                         : static_cast<std::int64_t>(std::ceil(
                               static_cast<double>(l.r.output - 1) / c_.tokens_per_step - 1e-9));
    finishing_.push({steps_ + l.decode_steps, i});
  }

  void done(std::size_t i) {
    Live& l = live_[i];
    Group& g = groups_[l.group];
    e2e_.push_back(now_ - l.r.arrival_s);
    if (times_) (*times_)[i].end_s = now_;
    if (l.r.output > 1) tpot_.push_back((now_ - l.first_token_s) / static_cast<double>(l.r.output - 1));
    output_tokens_ += static_cast<double>(l.r.output);
    g.kv_reserved -= l.r.input + l.r.output;
    --g.running;
    --running_;
    last_finish_ = now_;
    src_.completed(now_);
  }

  // After a step: every decoding sequence gained a token; those at their last token leave.
  void decode_done() {
    for (Group& g : groups_) g.sum_ctx += static_cast<double>(g.decoding) * c_.tokens_per_step;
    while (!finishing_.empty() && finishing_.top().first <= steps_) {
      std::size_t i = finishing_.top().second;
      finishing_.pop();
      Group& g = groups_[live_[i].group];
      --g.decoding;
      --decoding_;
      g.sum_ctx -= static_cast<double>(live_[i].r.input + 1) +
                   static_cast<double>(live_[i].decode_steps) * c_.tokens_per_step;
      done(i);
    }
  }

  bool prefilling() const {
    return std::any_of(groups_.begin(), groups_.end(),
                       [](const Group& g) { return !g.prefilling.empty(); });
  }

  // Waits, idle, for the next arrival; false when none will come.
  bool idle_until_next() {
    if (src_.exhausted() && waiting_ == 0) return false;
    double t = src_.next_time();
    if (!std::isfinite(t)) return false;
    now_ = std::max(now_, t);
    return true;
  }

  void continuous() {
    for (;;) {
      pull();
      admit();
      if (running_ == 0) {
        if (!idle_until_next()) return;
        continue;
      }
      step(true);
    }
  }

  void window() {
    for (;;) {
      pull();
      if (waiting_ == 0) {
        if (!idle_until_next()) return;
        continue;
      }
      // The batch leaves at the first window boundary at which the engine is free.
      double boundary = std::ceil(now_ / p_.window_s - 1e-12) * p_.window_s;
      if (boundary > now_) {
        in_system_integral_ += static_cast<double>(waiting_) * (boundary - now_);
        now_ = boundary;
        pull();
      }
      admit();
      if (running_ == 0) continue;  // everything waiting was refused
      while (prefilling()) step(false);
      while (decoding_ > 0) step(true);
      pull();  // arrivals during the batch were in the system all along
    }
  }

  ServeResult finish() {
    ServeResult r;
    r.requests = static_cast<std::int64_t>(e2e_.size());
    r.rejected = rejected_;
    r.ttft_s = percentiles_of(ttft_);
    r.tpot_s = percentiles_of(tpot_);
    r.e2e_s = percentiles_of(e2e_);
    r.steps = steps_;
    r.output_tokens = output_tokens_;
    r.makespan_s = seen_any_ ? last_finish_ - first_arrival_ : 0;
    set_rates(r, c_.gpus, busy_, in_system_integral_);
    if (busy_ > 0) r.mean_batch = batch_integral_ / busy_;
    if (busy_ > 0) r.weak_share = std::min(1.0, weak_busy_ / busy_);
    return r;
  }

  const StepCosts& c_;
  const Policy& p_;
  Source& src_;
  std::vector<RequestTimes>* times_;  // per request in arrival order, where asked for
  std::vector<Live> live_;
  std::vector<Group> groups_;
  std::size_t next_group_ = 0;
  std::int64_t kv_per_group_ = 0;
  std::vector<std::size_t> completed_;  // requests whose prompt the current step finished
  std::priority_queue<std::pair<std::int64_t, std::size_t>,
                      std::vector<std::pair<std::int64_t, std::size_t>>, std::greater<>>
      finishing_;
  // Over all groups: waiting, running (admitted) and decoding requests.
  std::int64_t waiting_ = 0, running_ = 0, decoding_ = 0, rejected_ = 0, steps_ = 0;
  double now_ = 0, busy_ = 0, batch_integral_ = 0, in_system_integral_ = 0;
  double weak_busy_ = 0;  // seconds of busy_ priced with weak constants
  double first_arrival_ = 0, last_finish_ = 0, output_tokens_ = 0;
  bool seen_any_ = false;
  std::vector<double> ttft_, tpot_, e2e_;
};

}  // namespace

LengthDist parse_length(const std::string& text, const std::string& flag) {
  LengthDist d;
  auto colon = text.find(':');
  d.mean = parse_positive(text.substr(0, colon), flag, "the length");
  if (colon != std::string::npos) {
    std::string sd = text.substr(colon + 1);
    d.sd = sd == "0" ? 0 : parse_positive(sd, flag, "the standard deviation");
  }
  if (d.mean > static_cast<double>(d.max)) {
    throw InputError(flag + ": a length of " + text.substr(0, colon) + " tokens is above " +
                     std::to_string(d.max));
  }
  return d;
}

std::vector<Request> poisson_requests(double rate_per_s, std::int64_t n, const LengthDist& input,
                                      const LengthDist& output, std::uint64_t seed) {
  if (!(rate_per_s > 0) || !std::isfinite(rate_per_s)) {
    throw InputError("--rate: requests per second must be positive and finite");
  }
  if (n < 1) throw InputError("--requests must be at least 1");
  Rng rng(seed);
  std::vector<Request> out(static_cast<std::size_t>(n));
  double t = 0;
  for (Request& r : out) {
    t += rng.exponential(1.0 / rate_per_s);
    r.arrival_s = t;
    r.input = rng.length(input);
    r.output = rng.length(output);
  }
  return out;
}

std::vector<Request> offline_requests(std::int64_t n, const LengthDist& input,
                                      const LengthDist& output, std::uint64_t seed) {
  std::vector<Request> out = poisson_requests(1.0, n, input, output, seed);
  for (Request& r : out) r.arrival_s = 0;
  return out;
}

Policy parse_policy(const std::string& text) {
  Policy p;
  if (text == "continuous") return p;
  if (text.rfind("window:", 0) == 0) {
    p.kind = Policy::Kind::kWindow;
    p.window_s = parse_positive(text.substr(7), "--policy", "the window in seconds");
    return p;
  }
  throw InputError("--policy must be continuous or window:SECONDS, got '" + text + "'");
}

std::string describe(const Policy& p) {
  std::ostringstream o;
  if (p.kind == Policy::Kind::kContinuous) {
    o << "continuous";
  } else {
    o << "window:" << p.window_s;
  }
  return o.str();
}

Percentiles percentiles_of(std::vector<double> v) {
  Percentiles p;
  if (v.empty()) return p;
  std::sort(v.begin(), v.end());
  auto rank = [&](double q) {
    auto k = static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size())));
    return v[std::clamp<std::size_t>(k, 1, v.size()) - 1];
  };
  p.p50 = rank(0.50);
  p.p90 = rank(0.90);
  p.p99 = rank(0.99);
  double sum = 0;
  for (double x : v) sum += x;
  p.mean = sum / static_cast<double>(v.size());
  return p;
}

ServeResult simulate(const StepCosts& costs, const Policy& policy,
                     const std::vector<Request>& requests, std::vector<RequestTimes>* times) {
  if (!std::is_sorted(requests.begin(), requests.end(),
                      [](const Request& a, const Request& b) { return a.arrival_s < b.arrival_s; })) {
    throw InputError("serve: requests must be sorted by arrival");
  }
  if (times) times->clear();
  ListSource src(requests);
  return Simulator(costs, policy, src, times).run();
}

ServeResult simulate_disaggregated(const Disaggregated& d, const Policy& policy,
                                   const std::vector<Request>& requests) {
  if (!d.kv_transfer_s) throw InputError("serve: disaggregation needs the KV transfer's cost");
  // The prefill pool: every prompt, one output token (the first).
  std::vector<Request> prompts = requests;
  for (Request& r : prompts) r.output = 1;
  std::vector<RequestTimes> first;
  const ServeResult pre = simulate(d.prefill, policy, prompts, &first);
  // The decode pool: the requests with more to say, arriving when their KV cache has moved.
  std::vector<std::size_t> order;
  std::vector<double> arrival(requests.size(), 0);
  for (std::size_t i = 0; i < requests.size(); ++i) {
    if (first[i].rejected || requests[i].output <= 1) continue;
    arrival[i] = first[i].end_s + d.kv_transfer_s(requests[i].input);
    order.push_back(i);
  }
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return arrival[a] < arrival[b]; });
  std::vector<Request> decodes;
  for (std::size_t i : order) {
    Request r = requests[i];
    r.arrival_s = arrival[i];
    r.prefilled = true;
    decodes.push_back(r);
  }
  std::vector<RequestTimes> rest;
  const ServeResult dec = simulate(d.decode, policy, decodes, &rest);

  // Each request's times: its first token from the prefill pool, its last from the decode pool.
  ServeResult r;
  std::vector<double> ttft, tpot, e2e;
  double first_arrival = std::numeric_limits<double>::infinity(), last_end = 0, output = 0;
  double in_system = 0;
  std::vector<double> end(requests.size(), -1);
  for (std::size_t k = 0; k < order.size(); ++k) {
    if (rest[k].rejected) continue;
    end[order[k]] = rest[k].end_s;
  }
  for (std::size_t i = 0; i < requests.size(); ++i) {
    first_arrival = std::min(first_arrival, requests[i].arrival_s);
    if (first[i].rejected) {
      ++r.rejected;
      continue;
    }
    if (requests[i].output <= 1) end[i] = first[i].end_s;
    if (end[i] < 0) {  // refused by the decode pool's KV cache
      ++r.rejected;
      continue;
    }
    ttft.push_back(first[i].first_token_s - requests[i].arrival_s);
    e2e.push_back(end[i] - requests[i].arrival_s);
    if (requests[i].output > 1) {
      tpot.push_back((end[i] - first[i].first_token_s) /
                     static_cast<double>(requests[i].output - 1));
    }
    output += static_cast<double>(requests[i].output);
    last_end = std::max(last_end, end[i]);
    in_system += end[i] - requests[i].arrival_s;
  }
  r.requests = static_cast<std::int64_t>(e2e.size());
  r.ttft_s = percentiles_of(ttft);
  r.tpot_s = percentiles_of(tpot);
  r.e2e_s = percentiles_of(e2e);
  r.output_tokens = output;
  r.steps = pre.steps + dec.steps;
  r.mean_batch = dec.mean_batch;  // the decode pool's running batch
  r.makespan_s = r.requests > 0 ? last_end - first_arrival : 0;
  const double gpus = d.prefill.gpus + d.decode.gpus;
  const double busy_pre = pre.busy_fraction * pre.makespan_s * d.prefill.gpus;
  const double busy_dec = dec.busy_fraction * dec.makespan_s * d.decode.gpus;
  set_rates(r, gpus, (busy_pre + busy_dec) / gpus, in_system);  // busy: GPU-weighted
  if (busy_pre + busy_dec > 0) {
    r.weak_share = (pre.weak_share * busy_pre + dec.weak_share * busy_dec) / (busy_pre + busy_dec);
  }
  return r;
}

ServeResult simulate_closed(const StepCosts& costs, const Policy& policy, const ClosedLoop& loop,
                            std::int64_t n_requests, const LengthDist& input,
                            const LengthDist& output, std::uint64_t seed) {
  if (loop.users < 1) throw InputError("--users must be at least 1");
  if (n_requests < 1) throw InputError("--requests must be at least 1");
  if (!(loop.think_s >= 0) || !std::isfinite(loop.think_s)) {
    throw InputError("--think must be a non-negative number of seconds");
  }
  ClosedSource src(loop, n_requests, input, output, seed);
  return Simulator(costs, policy, src).run();
}

}  // namespace batchcost
