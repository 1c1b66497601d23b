// The replicas of a Kubernetes Service, from its EndpointSlices: listed once, then kept
// current by a watch (a long-lived GET ?watch=1 on a thread of its own, resumed from
// the last resourceVersion when the server ends it, bookmarks accepted). When the watch
// fails or its resourceVersion expired (410 Gone), the next current() lists again and
// restarts it — so a broken watch degrades to listing, never to a frozen view.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "common/error.h"
#include "http/api_client.h"

namespace tidal::scaling {

struct PodEndpoint {
  std::string url;  // http://ip:port of the chosen port
  bool ready = true, terminating = false;
};
using PodEndpoints = std::map<std::string, PodEndpoint>;  // by pod name (targetRef), else by address

class EndpointSliceWatch {
 public:
  // `port`: the slice port's name or number; empty: each slice's first port.
  EndpointSliceWatch(const http::ApiClient& api, std::string ns, std::string service, std::string port);
  ~EndpointSliceWatch();
  EndpointSliceWatch(const EndpointSliceWatch&) = delete;
  EndpointSliceWatch& operator=(const EndpointSliceWatch&) = delete;

  // The Service's endpoints now. Errors: the list failed (the caller keeps its view).
  Result<PodEndpoints> current();
  [[nodiscard]] uint64_t lists() const { return lists_.load(); }

  // Parsing, exposed for tests: an EndpointSliceList body -> slices by name + its resourceVersion.
  struct Listing {
    std::map<std::string, PodEndpoints> slices;
    std::string resource_version;
  };
  [[nodiscard]] static Result<Listing> parse_list(const std::string& body, const std::string& port);

 private:
  void run();  // the watcher thread
  bool on_event(std::string_view line);
  [[nodiscard]] std::string path() const;

  const http::ApiClient& api_;
  std::string ns_, service_, port_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, PodEndpoints> slices_;  // by slice name
  std::string resource_version_;
  bool need_list_ = true;                       // no valid view: list before trusting it
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> lists_{0};
  std::thread watcher_;
};

}  // namespace tidal::scaling
