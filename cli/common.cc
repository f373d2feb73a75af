// What several subcommands share (see common.h).
#include "cli/common.h"

#include "core/forms.h"
#include "core/input_file.h"

namespace batchcost {

FitOptions options_with(const std::vector<std::string>& validate) {
  FitOptions o;
  o.validate_families.insert(validate.begin(), validate.end());
  return o;
}

std::string census(const Inputs& in, const std::vector<Role>& roles) {
  int count[4] = {0, 0, 0, 0};
  for (Role r : roles) ++count[static_cast<int>(r)];
  std::string out = std::to_string(in.sources.size()) + " file" +
                    (in.sources.size() == 1 ? "" : "s") + ", " + std::to_string(in.samples.size()) +
                    " samples: " + std::to_string(count[0]) + " fitted, " +
                    std::to_string(count[1]) + " validation, " + std::to_string(count[2]) +
                    " excluded (cache=hot measures L2, not HBM), " + std::to_string(count[3]) +
                    " not modelled (declare no work)";
  if (in.skipped > 0) out += ", " + std::to_string(in.skipped) + " skipped by the harness";
  return out + "\n";
}

SelectOptions select_options(const Inputs& in, const std::string& form) {
  SelectOptions o = select_options_for(in.context);
  if (form != "auto") {
    try {
      o.force = parse_form(form);
    } catch (const std::invalid_argument& e) {
      throw InputError(std::string("--form: ") + e.what());
    }
  }
  return o;
}

}  // namespace batchcost
