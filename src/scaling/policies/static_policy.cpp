#include "scaling/policies/static_policy.h"

namespace tidal::scaling {

Recommendation StaticPolicy::recommend(const Signals&) { return {replicas_, "static size"}; }

}  // namespace tidal::scaling
