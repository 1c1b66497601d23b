// The simulator's event queue: events ordered by (time, kind, sequence number), so a
// seed gives the same order — and byte-identical reports — on every run.
#pragma once

#include <cstdint>
#include <queue>
#include <vector>

namespace tidal::sim {

enum class EventKind : uint8_t {
  kWorkDone = 0,     // a replica's step or decode stretch ends
  kReplicaReady = 1,
  kSpotNotice = 2,   // a spot replica is told it will be reclaimed
  kSpotGone = 3,     // ... and is
  kArrival = 4,
  kQueueTimeout = 5,
  kTick = 6,         // controller
  kSample = 7,       // time series
};

struct Event {
  double t_s = 0;
  EventKind kind = EventKind::kArrival;
  uint64_t seq = 0;
  uint64_t a = 0;  // replica id or request id
  uint64_t b = 0;  // replica work version
};

class EventQueue {
 public:
  void push(double t_s, EventKind kind, uint64_t a = 0, uint64_t b = 0) { q_.push(Event{t_s, kind, next_seq_++, a, b}); }
  [[nodiscard]] bool empty() const { return q_.empty(); }
  Event pop() {
    Event e = q_.top();
    q_.pop();
    return e;
  }
  [[nodiscard]] size_t size() const { return q_.size(); }
  [[nodiscard]] uint64_t pushed() const { return next_seq_; }

 private:
  struct Later {
    bool operator()(const Event& x, const Event& y) const {
      if (x.t_s != y.t_s) return x.t_s > y.t_s;
      if (x.kind != y.kind) return x.kind > y.kind;
      return x.seq > y.seq;
    }
  };
  std::priority_queue<Event, std::vector<Event>, Later> q_;
  uint64_t next_seq_ = 0;
};

}  // namespace tidal::sim
