// MPI helpers of the collective benchmark's MPI variant (see mpi_world.h).
#include "collectives/mpi_world.h"

#include <cstring>
#include <limits>
#include <stdexcept>
#include <vector>

namespace batchcost::collective::mpi {
namespace {

void check(int rc, const char* call) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  throw std::runtime_error(std::string("MPI error in ") + call + ": " + std::string(text, len));
}

constexpr int kReasonBytes = 256;

}  // namespace

int rank(MPI_Comm comm) {
  int r = 0;
  check(MPI_Comm_rank(comm, &r), "MPI_Comm_rank");
  return r;
}

int size(MPI_Comm comm) {
  int n = 0;
  check(MPI_Comm_size(comm, &n), "MPI_Comm_size");
  return n;
}

int local_rank(MPI_Comm comm) {
  MPI_Comm node = MPI_COMM_NULL;
  check(MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, rank(comm), MPI_INFO_NULL, &node),
        "MPI_Comm_split_type");
  int r = 0;
  int rc = MPI_Comm_rank(node, &r);
  MPI_Comm_free(&node);
  check(rc, "MPI_Comm_rank");
  return r;
}

int node_count(MPI_Comm comm) {
  return static_cast<int>(agree_sum(local_rank(comm) == 0 ? 1 : 0, comm));
}

void broadcast_bytes(void* data, std::size_t bytes, int root, MPI_Comm comm) {
  if (bytes > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    throw std::invalid_argument("broadcast_bytes: too many bytes for one MPI_Bcast");
  }
  check(MPI_Bcast(data, static_cast<int>(bytes), MPI_BYTE, root, comm), "MPI_Bcast");
}

double agree_max(double value, MPI_Comm comm) {
  double out = 0;
  check(MPI_Allreduce(&value, &out, 1, MPI_DOUBLE, MPI_MAX, comm), "MPI_Allreduce(MAX)");
  return out;
}

double agree_min(double value, MPI_Comm comm) {
  double out = 0;
  check(MPI_Allreduce(&value, &out, 1, MPI_DOUBLE, MPI_MIN, comm), "MPI_Allreduce(MIN)");
  return out;
}

double agree_sum_double(double value, MPI_Comm comm) {
  double out = 0;
  check(MPI_Allreduce(&value, &out, 1, MPI_DOUBLE, MPI_SUM, comm), "MPI_Allreduce(SUM)");
  return out;
}

long long agree_sum(long long value, MPI_Comm comm) {
  long long out = 0;
  check(MPI_Allreduce(&value, &out, 1, MPI_LONG_LONG, MPI_SUM, comm), "MPI_Allreduce(SUM)");
  return out;
}

double agree_time_over_ranks(TimeOverRanks how, RankTimes local, MPI_Comm comm) {
  RankTimes all;
  switch (how) {
    case TimeOverRanks::rank0:
      all = {local.value, 1};
      broadcast_bytes(&all.value, sizeof all.value, 0, comm);
      break;
    case TimeOverRanks::avg:
      all = {agree_sum_double(local.value, comm), static_cast<int>(agree_sum(local.ranks, comm))};
      break;
    case TimeOverRanks::min:
      all = {agree_min(local.value, comm), 1};
      break;
    case TimeOverRanks::max:
      all = {agree_max(local.value, comm), 1};
      break;
  }
  return time_over_ranks(how, all);
}

bool agree_all(bool ok, MPI_Comm comm) {
  int in = ok ? 1 : 0, out = 0;
  check(MPI_Allreduce(&in, &out, 1, MPI_INT, MPI_MIN, comm), "MPI_Allreduce(MIN)");
  return out == 1;
}

bool all_equal(unsigned long long value, MPI_Comm comm) {
  unsigned long long lo = 0, hi = 0;
  check(MPI_Allreduce(&value, &lo, 1, MPI_UNSIGNED_LONG_LONG, MPI_MIN, comm), "MPI_Allreduce(MIN)");
  check(MPI_Allreduce(&value, &hi, 1, MPI_UNSIGNED_LONG_LONG, MPI_MAX, comm), "MPI_Allreduce(MAX)");
  return lo == hi;
}

void barrier(MPI_Comm comm) { check(MPI_Barrier(comm), "MPI_Barrier"); }

std::string first_failure(bool ok, const std::string& reason, MPI_Comm comm) {
  // The lowest failing rank (or size() where none fails), then its reason broadcast from it.
  int candidate = ok ? size(comm) : rank(comm), first = 0;
  check(MPI_Allreduce(&candidate, &first, 1, MPI_INT, MPI_MIN, comm), "MPI_Allreduce(MIN)");
  if (first == size(comm)) return "";
  std::vector<char> buf(kReasonBytes, '\0');
  if (rank(comm) == first) std::strncpy(buf.data(), reason.c_str(), kReasonBytes - 1);
  broadcast_bytes(buf.data(), buf.size(), first, comm);
  return "rank " + std::to_string(first) + ": " + std::string(buf.data());
}

}  // namespace batchcost::collective::mpi
