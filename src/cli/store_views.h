#pragma once
// What `uma show` prints about a model's store settings (Modelfile, template, parameters).
#include "args.h"
#include "uma/runtime/model_store.h"

namespace uma::cli {

// The flags of `uma show` that print one part of a model instead of the overview.
const std::vector<std::string>& show_part_flags();
// Prints the part asked for by a flag of show_part_flags(); false when no such flag was given.
bool print_model_part(const ResolvedModel& model, const Args& args);
// The Modelfile settings of a stored model, after the overview (nothing for a plain file).
void print_model_settings(const ResolvedModel& model);

}  // namespace uma::cli
