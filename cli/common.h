// What several subcommands share: the fit options from --validate, the selection's options from
// --form, and the census line of what was read.
#pragma once

#include <string>
#include <vector>

#include "model/fit.h"
#include "model/results.h"
#include "model/select.h"

namespace batchcost {

// --validate FAMILY...: the families predicted, never fitted.
FitOptions options_with(const std::vector<std::string>& validate);
// The form selection's options for these inputs: the SMs of a wave from the results' context,
// and --form (auto: selected by held-out error; anything else throws InputError naming --form).
SelectOptions select_options(const Inputs& in, const std::string& form);
// One line saying what was read and what each sample is to the fit.
std::string census(const Inputs& in, const std::vector<Role>& roles);

}  // namespace batchcost
