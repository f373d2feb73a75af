// batchcost: the command line (cli.h). Host C++ only.
#include "cli/cli.h"

int main(int argc, char** argv) { return batchcost::batchcost_cli(argc, argv, false); }
