// The size sweep: powers of two, rounded to whole units, capped by free memory.
#include "core/collective_sizes.h"

#include <stdexcept>
#include <string>

namespace batchcost::collective {

std::vector<std::size_t> size_sweep(Op op, int ranks, std::size_t elem_bytes,
                                    const SweepOptions& options) {
  if (ranks < 1) throw std::invalid_argument("size_sweep: ranks must be >= 1");
  if (elem_bytes == 0) throw std::invalid_argument("size_sweep: elem_bytes must be > 0");
  if (options.min_bytes == 0) throw std::invalid_argument("size_sweep: min_bytes must be > 0");
  if (options.min_bytes > options.max_bytes) {
    throw std::invalid_argument("size_sweep: min_bytes " + std::to_string(options.min_bytes) +
                                " > max_bytes " + std::to_string(options.max_bytes));
  }
  const std::size_t f = options.step_factor;
  if (f < 2 || (f & (f - 1)) != 0) {
    throw std::invalid_argument("size_sweep: step_factor must be a power of two >= 2, got " +
                                std::to_string(f));
  }
  const std::size_t unit =
      divides_by_ranks(op) ? elem_bytes * static_cast<std::size_t>(ranks) : elem_bytes;

  std::vector<std::size_t> sizes;
  for (std::size_t target = options.min_bytes; target <= options.max_bytes;) {
    const std::size_t size = target < unit ? unit : target - target % unit;
    const Shape shape = shape_for_size(op, ranks, size, elem_bytes);
    if (memory_bytes_per_rank(shape) > options.memory_limit_bytes) break;  // larger ones too
    if (size <= options.max_bytes && (sizes.empty() || sizes.back() < size)) sizes.push_back(size);
    if (target > options.max_bytes / f) break;  // the next step would pass max (or overflow)
    target *= f;
  }
  return sizes;
}

}  // namespace batchcost::collective
