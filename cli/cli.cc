// batchcost: the command line (DESIGN.md, "The command line"; cli.h). Host C++ only.
//
//   batchcost fit PATH... [--out FILE] [--validate FAMILY]... [--form auto|epoch|refined]
//                 [--json] [--force]
//   batchcost validate PATH... [--model FILE] [--validate FAMILY]... [--json]
//   batchcost compare BASELINE CANDIDATE [--validate FAMILY]... [--filter REGEX]
//                     [--family F]... [--threshold X] [--alpha A] [--json]
//   batchcost export PATH... --csv FILE
//   batchcost predict --hardware MODEL.json --model NAME|FILE [--batch LIST] [--context N]
//                     [--gpus N] [--tp N] [--ep N] [--pp N] [--gpus-per-node N]
//                     [--micro-batches N] [--cuda-graphs] [--price USD] [--stated FILE]
//                     [--whole-step] [--ops] [--weights DTYPE] [--kv-cache DTYPE]
//                     [--gamma G --acceptance A (--draft-model NAME|FILE | --draft-cost C)]
//                     [--arrival-rate R --window S] [--input-len LIST --output-len LIST
//                     [--concurrency LIST] [--chunk N]] [--gpu-memory GB] [--overlap]
//                     [--dispatch-dtype fp8] [--redundant-experts N] [--json]
//   batchcost predict --list-models
//   batchcost report PATH... --out FILE.md [--plots DIR] [--validate FAMILY]...
//   batchcost --version
//
// predict's --hardware may also be a results folder: it is fitted on the fly, as `fit` does.
//
// PATH is a results folder (its *.json files but model.json), a result file, or (compare, and
// validate --model) a model.json. Tables go to stdout, errors to stderr with exit status 2; so
// does a failed write of stdout (a full disk, `> /dev/full`). Every numeric flag is finite and in a
// stated range; --out may not name an input.
#include "cli/cli.h"

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <iostream>
#include <utility>
#include <vector>

#include "cli/compare_command.h"
#include "cli/export_command.h"
#include "cli/fit_command.h"
#include "cli/predict_command.h"
#include "cli/report_command.h"
#include "cli/serve_command.h"
#include "cli/validate_command.h"
#include "core/input_error.h"
#include "core/version.h"

namespace batchcost {
namespace {

// stdout's buffered text, written out: a failed write (ENOSPC, EIO, a closed pipe) is an error.
int flush_stdout(int status) {
  std::cout.flush();
  if (!std::cout || std::fflush(stdout) != 0 || std::ferror(stdout)) {
    std::cerr << "batchcost: stdout: write error: " << std::strerror(errno) << "\n";
    return status == 0 ? 2 : status;
  }
  return status;
}

}  // namespace

int batchcost_cli(int argc, char** argv, bool parse_only) {
  CLI::App app{"batchcost: fit, validate and compare the LLM inference cost model, and predict"};
  app.require_subcommand(1);
  app.set_version_flag("--version", version_line(), "print the version and exit");
  FitArgs fit;
  ValidateArgs validate;
  CompareArgs compare;
  ExportArgs export_args;
  ReportArgs report;
  PredictArgs predict;
  ServeArgs serve;
  // In the order `batchcost --help` lists them.
  const std::vector<std::pair<CLI::App*, std::function<int()>>> commands = {
      {add_fit_command(app, fit), [&] { return run_fit(fit); }},
      {add_validate_command(app, validate), [&] { return run_validate(validate); }},
      {add_compare_command(app, compare), [&] { return run_compare(compare); }},
      {add_export_command(app, export_args), [&] { return run_export(export_args); }},
      {add_report_command(app, report), [&] { return run_report(report); }},
      {add_predict_command(app, predict), [&] { return run_predict(predict); }},
      {add_serve_command(app, serve), [&] { return run_serve(serve); }},
  };
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  try {
    for (const auto& [command, run] : commands) {
      if (!command->parsed()) continue;
      if (parse_only) {
        if (command->get_name() == "predict") check_predict_args(predict);
        return 0;
      }
      return flush_stdout(run());
    }
    return 2;  // require_subcommand(1) leaves no way here
  } catch (const std::exception& e) {
    std::cerr << "batchcost: " << e.what() << "\n";
    return 2;
  }
}

}  // namespace batchcost
