// The batchcost command line: one CLI11 app, one file per subcommand (add_X_command registers its
// flags, run_X runs it), nothing else. Host C++ only.
#pragma once

namespace batchcost {

// Parses and checks argv, then runs the subcommand (parse_only: stops after the checks, for
// tests/fuzz/cli_fuzz.cc). Returns the exit status: 0, 2 for a usage or input error (and a failed
// write of stdout), or the subcommand's own (fit: 3 for a refused fit).
int batchcost_cli(int argc, char** argv, bool parse_only);

}  // namespace batchcost
