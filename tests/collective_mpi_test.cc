// The MPI variant's host logic under `mpirun -np 2`, no GPU needed: where each rank sits, the
// broadcast that carries NCCL's 128-byte unique id, the agreements (-a times, #wrong sum, skip
// decisions, first failure), and that both ranks register the same benchmarks, while different
// flags on one rank are caught. Every test is collective: both ranks run them in the same order.
#include <gtest/gtest.h>
#include <mpi.h>

#include <array>
#include <cstring>
#include <vector>

#include "collectives/bench_options.h"
#include "collectives/mpi_world.h"

namespace batchcost::collective {
namespace {

MPI_Comm world() { return MPI_COMM_WORLD; }

TEST(MpiWorld, RanksAndNodes) {
  ASSERT_EQ(mpi::size(world()), 2) << "run under mpirun -np 2";
  const int local = mpi::local_rank(world());
  EXPECT_GE(local, 0);
  EXPECT_LT(local, 2);
  // Both ranks on one node (ctest's mpirun): distinct local ranks, one node.
  EXPECT_EQ(mpi::agree_sum(local, world()), 1);
  EXPECT_EQ(mpi::node_count(world()), 1);
}

TEST(MpiWorld, BroadcastsAUniqueIdFromRankZero) {
  std::array<char, 128> id{};  // the size of ncclUniqueId
  if (mpi::rank(world()) == 0) {
    for (std::size_t i = 0; i < id.size(); ++i) id[i] = static_cast<char>(i * 7 + 3);
  }
  mpi::broadcast_bytes(id.data(), id.size(), 0, world());
  for (std::size_t i = 0; i < id.size(); ++i) ASSERT_EQ(id[i], static_cast<char>(i * 7 + 3)) << i;
}

TEST(MpiWorld, AgreeOnTimesCountsAndDecisions) {
  const int r = mpi::rank(world());
  EXPECT_EQ(mpi::agree_max(r == 0 ? 1.5e-6 : 2.5e-6, world()), 2.5e-6);
  EXPECT_EQ(mpi::agree_sum(r == 0 ? 3 : 4, world()), 7);
  EXPECT_TRUE(mpi::agree_all(true, world()));
  EXPECT_FALSE(mpi::agree_all(r == 0, world()));
  EXPECT_TRUE(mpi::all_equal(42, world()));
  EXPECT_FALSE(mpi::all_equal(static_cast<unsigned long long>(r), world()));
}

TEST(MpiWorld, TimeOverRanksAsNcclTestsMinus_a) {
  const int r = mpi::rank(world());
  // Rank 0 holds two local ranks (1 and 3 us), rank 1 one (8 us), as a mixed layout would.
  const std::vector<double> mine =
      r == 0 ? std::vector<double>{1e-6, 3e-6} : std::vector<double>{8e-6};
  auto agreed = [&](TimeOverRanks how) {
    return mpi::agree_time_over_ranks(how, local_rank_times(how, mine, r == 0), world());
  };
  EXPECT_DOUBLE_EQ(agreed(TimeOverRanks::avg), 4e-6);  // (1 + 3 + 8) / 3 ranks
  EXPECT_EQ(agreed(TimeOverRanks::min), 1e-6);
  EXPECT_EQ(agreed(TimeOverRanks::max), 8e-6);
  EXPECT_EQ(agreed(TimeOverRanks::rank0), 1e-6);  // global rank 0's own time
  EXPECT_EQ(mpi::agree_min(r == 0 ? 2.0 : -1.0, world()), -1.0);
  EXPECT_EQ(mpi::agree_sum_double(r == 0 ? 0.25 : 0.5, world()), 0.75);
}

TEST(MpiWorld, BarrierWaitsForEveryRank) {
  // Rank 1 arrives late; rank 0 must not leave the barrier before rank 1 has reached it.
  const double t0 = MPI_Wtime();
  if (mpi::rank(world()) == 1) {
    while (MPI_Wtime() - t0 < 0.2) {
    }
  }
  mpi::barrier(world());
  const double left = MPI_Wtime() - t0;
  if (mpi::rank(world()) == 0) {
    EXPECT_GE(left, 0.15);
  }
}

TEST(MpiWorld, FirstFailureNamesTheLowestFailingRank) {
  const int r = mpi::rank(world());
  EXPECT_EQ(mpi::first_failure(true, "fine", world()), "");
  EXPECT_EQ(mpi::first_failure(r == 0, "rank one's buffers do not fit", world()),
            "rank 1: rank one's buffers do not fit");
  EXPECT_EQ(mpi::first_failure(false, r == 0 ? "zero" : "one", world()), "rank 0: zero");
  const std::string long_reason(1000, 'x');
  EXPECT_EQ(mpi::first_failure(r == 1, long_reason, world()), "rank 0: " + std::string(255, 'x'));
}

TEST(MpiWorld, RanksRegisterTheSameBenchmarks) {
  // As the MPI binary does: the same flags on every rank, ranks = the world's size.
  std::vector<std::string> args{"batchcost-collectives-mpi", "--quick"};
  const BenchOptions o = take_collective_flags(args, true);
  const auto specs = collective_specs(o, {mpi::size(world())});
  EXPECT_FALSE(specs.empty());
  EXPECT_TRUE(mpi::all_equal(fingerprint(specs), world()));
  // One rank started with other flags: caught before any collective runs.
  std::vector<std::string> other{"batchcost-collectives-mpi",
                                 mpi::rank(world()) == 0 ? "--ops=all_reduce" : "--ops=reduce"};
  const auto differ = collective_specs(take_collective_flags(other, true), {mpi::size(world())});
  EXPECT_FALSE(mpi::all_equal(fingerprint(differ), world()));
}

}  // namespace
}  // namespace batchcost::collective

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  ::testing::InitGoogleTest(&argc, argv);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (rank != 0) {  // one report: rank 1's failures still fail the exit status
    delete ::testing::UnitTest::GetInstance()->listeners().Release(
        ::testing::UnitTest::GetInstance()->listeners().default_result_printer());
  }
  const int rc = RUN_ALL_TESTS();
  int worst = 0;
  MPI_Allreduce(&rc, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  MPI_Finalize();
  return worst;
}
