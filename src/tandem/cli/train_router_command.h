#pragma once
// `tandem train router --data D --out R.tandem`: the learned router (routing/learned_router.h)
// trained on recorded LLM answers (a RouterBench CSV or a RouteLLM folder); with --test-share,
// on the part of the data outside the deterministic test split that `tandem eval --task` then
// evaluates on. Prints, per model, how well P(correct) is predicted out of fold.
#include <cstdint>
#include <string>
#include <vector>

#include "tandem/datasets/routing_data.h"
#include "tandem/routing/learned_router.h"

namespace tandem::cli {

struct TrainRouterOptions {
  std::string data;
  std::string format;      // routerbench | routellm | "" (detect)
  double test_share = 0;   // > 0: leave out the test split (in_test_split with seed)
  std::uint64_t seed = 1;  // of the split and of training
  std::string out;
  int folds = 5;
  double l2 = 0;  // 0: chosen by cross-validation
  int epochs = 12;
  std::string rule = "utility";  // utility | slack
};

// The examples of the recorded set's queries, in or out of the test split (test_share 0: all).
std::vector<routing::RouterExample> router_examples(const datasets::RecordedSet& set,
                                                    double test_share, std::uint64_t seed,
                                                    bool test_part);

int run_train_router(const TrainRouterOptions& options);
// Parses `tandem train router ...` (argv[0] is "router") and runs it.
int train_router_main(int argc, char** argv);

}  // namespace tandem::cli
