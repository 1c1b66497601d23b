#include "scaling/policies/static_policy.h"

namespace tidal::scaling {

Recommendation StaticPolicy::recommend(const Signals&) { return {replicas_, "static"}; }

}  // namespace tidal::scaling
