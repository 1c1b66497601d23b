// A measuring instrument, not part of tidal: the leanest HTTP/1.1 keep-alive reverse proxy we can
// write for the gateway benchmark's exact traffic, to learn the floor of what any proxy costs on
// this machine. It does only what the benchmark needs: Content-Length bodies, no header rewriting,
// no admission, no metrics, no timeouts, least-outstanding over the upstreams, one edge-triggered
// epoll loop per thread (each with its own SO_REUSEPORT listener), a socket registered once for
// its life, and no read after a short read (the next edge says when more arrives), which is how
// nginx avoids the EAGAIN reads Asio makes.
//
// Usage: tidal_ceiling_proxy gateway --port 0 --threads N --replica http://127.0.0.1:P ... [ignored flags]
// (the same command line as `tidal gateway`, so scripts/ab_gateway can run it beside tidal and nginx).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

struct Conn;

struct Message {  // progress through one HTTP message arriving on a connection
  bool head_done = false;
  size_t remaining = 0;  // body bytes still to come once the head is done
};

struct Conn {
  int fd = -1;
  bool upstream = false;
  bool connecting = false;
  bool closed = false;
  int backend = -1;         // upstream index (upstream connections)
  Conn* peer = nullptr;     // the other side of the exchange in flight
  std::string in;           // bytes read and not yet consumed (client: requests; upstream: a partial head)
  std::string out;          // bytes to write when the socket becomes writable
  Message msg;
};

// Scans a head for Content-Length; returns the head's length (through CRLFCRLF) or 0 if incomplete.
size_t parse_head(std::string_view data, size_t& content_length) {
  size_t end = data.find("\r\n\r\n");
  if (end == std::string_view::npos) return 0;
  content_length = 0;
  std::string_view head = data.substr(0, end);
  size_t pos = 0;
  while ((pos = head.find("\r\n", pos)) != std::string_view::npos) {
    pos += 2;
    if (head.size() - pos > 15 && strncasecmp(head.data() + pos, "content-length:", 15) == 0) {
      content_length = std::strtoul(head.data() + pos + 15, nullptr, 10);
      break;
    }
  }
  return end + 4;
}

class Loop {
 public:
  Loop(int listen_fd, const std::vector<sockaddr_in>& backends)
      : listen_fd_(listen_fd), backends_(backends), idle_(backends.size()), outstanding_(backends.size()) {}

  void run() {
    epfd_ = epoll_create1(0);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = nullptr;  // the listener
    epoll_ctl(epfd_, EPOLL_CTL_ADD, listen_fd_, &ev);
    std::vector<epoll_event> events(256);
    for (;;) {
      int n = epoll_wait(epfd_, events.data(), static_cast<int>(events.size()), -1);
      for (int i = 0; i < n; ++i) {
        auto* c = static_cast<Conn*>(events[i].data.ptr);
        if (c == nullptr) { accept_all(); continue; }
        if (c->closed) continue;
        uint32_t e = events[i].events;
        if (e & (EPOLLERR | EPOLLHUP)) { fail(c); continue; }
        if ((e & EPOLLOUT) && (c->connecting || !c->out.empty())) writable(c);
        if (!c->closed && (e & (EPOLLIN | EPOLLRDHUP))) {
          if (c->upstream) upstream_readable(c); else client_readable(c);
        }
      }
      for (Conn* c : graveyard_) delete c;
      graveyard_.clear();
    }
  }

 private:
  void add(Conn* c) {
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.ptr = c;
    epoll_ctl(epfd_, EPOLL_CTL_ADD, c->fd, &ev);
  }

  void accept_all() {
    for (;;) {
      int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      auto* c = new Conn;
      c->fd = fd;
      add(c);
    }
  }

  void close_conn(Conn* c) {
    if (c->closed) return;
    c->closed = true;
    close(c->fd);  // also leaves the epoll set
    graveyard_.push_back(c);
  }

  void fail(Conn* c) {
    if (c->upstream) {
      auto& pool = idle_[c->backend];
      pool.erase(std::remove(pool.begin(), pool.end(), c), pool.end());
      if (c->peer != nullptr) { --outstanding_[c->backend]; close_conn(c->peer); }
    } else if (c->peer != nullptr) {
      --outstanding_[c->peer->backend];
      close_conn(c->peer);
    }
    close_conn(c);
  }

  // Reads what the socket has into `into`; false when the peer closed or failed.
  // A read shorter than the space offered means the socket is drained: no second read.
  bool read_some(Conn* c, std::string& into) {
    for (;;) {
      ssize_t n = ::read(c->fd, chunk_, sizeof chunk_);
      if (n <= 0) return n < 0 && (errno == EAGAIN || errno == EINTR);
      into.append(chunk_, static_cast<size_t>(n));
      if (static_cast<size_t>(n) < sizeof chunk_) return true;
    }
  }

  // Writes `data` now, keeping what the socket did not take for EPOLLOUT.
  bool send_or_keep(Conn* c, std::string_view data) {
    if (!c->out.empty() || c->connecting) { c->out.append(data); return true; }
    ssize_t n = ::send(c->fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno != EAGAIN) return false;
      n = 0;
    }
    if (static_cast<size_t>(n) < data.size()) c->out.append(data.substr(static_cast<size_t>(n)));
    return true;
  }

  void writable(Conn* c) {
    if (c->connecting) {
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) { fail(c); return; }
      c->connecting = false;
    }
    if (c->out.empty()) return;
    ssize_t n = ::send(c->fd, c->out.data(), c->out.size(), MSG_NOSIGNAL);
    if (n < 0) { if (errno != EAGAIN) fail(c); return; }
    c->out.erase(0, static_cast<size_t>(n));
  }

  void client_readable(Conn* c) {
    if (!read_some(c, c->in)) { fail(c); return; }
    if (c->peer == nullptr) dispatch(c);
  }

  // A whole request in the client's buffer goes to the least-loaded upstream.
  void dispatch(Conn* c) {
    size_t body = 0;
    size_t head = parse_head(c->in, body);
    if (head == 0 || c->in.size() < head + body) return;
    int b = 0;
    for (int i = 1; i < static_cast<int>(backends_.size()); ++i)
      if (outstanding_[i] < outstanding_[b]) b = i;
    Conn* u = nullptr;
    if (!idle_[b].empty()) {
      u = idle_[b].back();
      idle_[b].pop_back();
    } else {
      u = connect_to(b);
      if (u == nullptr) { close_conn(c); return; }
    }
    ++outstanding_[b];
    u->peer = c;
    c->peer = u;
    u->msg = Message{};
    if (!send_or_keep(u, std::string_view(c->in).substr(0, head + body))) { fail(u); return; }
    c->in.erase(0, head + body);
  }

  Conn* connect_to(int b) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    auto* u = new Conn;
    u->fd = fd;
    u->upstream = true;
    u->backend = b;
    if (connect(fd, reinterpret_cast<const sockaddr*>(&backends_[b]), sizeof(sockaddr_in)) < 0) {
      if (errno != EINPROGRESS) { close(fd); delete u; return nullptr; }
      u->connecting = true;
    }
    add(u);
    return u;
  }

  void upstream_readable(Conn* u) {
    std::string& buf = scratch_;
    buf.clear();
    bool ok = read_some(u, buf);
    Conn* c = u->peer;
    if (c == nullptr) { if (!ok || !buf.empty()) fail(u); return; }  // an idle connection closed
    size_t consumed = buf.size();
    if (!u->msg.head_done) {
      u->in.append(buf);
      size_t body = 0;
      size_t head = parse_head(u->in, body);
      if (head == 0) { if (!ok) fail(u); return; }
      u->msg.head_done = true;
      u->msg.remaining = head + body;
      buf.swap(u->in);
      u->in.clear();
      consumed = buf.size();
    }
    size_t take = std::min(consumed, u->msg.remaining);
    u->msg.remaining -= take;
    if (!send_or_keep(c, std::string_view(buf).substr(0, take))) { fail(c); return; }
    if (u->msg.remaining == 0) {
      --outstanding_[u->backend];
      u->peer = nullptr;
      c->peer = nullptr;
      if (ok) idle_[u->backend].push_back(u); else close_conn(u);
      if (!c->in.empty()) dispatch(c);
    } else if (!ok) {
      fail(u);
    }
  }

  int listen_fd_;
  int epfd_ = -1;
  std::vector<sockaddr_in> backends_;
  std::vector<std::vector<Conn*>> idle_;
  std::vector<int> outstanding_;
  std::vector<Conn*> graveyard_;
  std::string scratch_;
  char chunk_[16384];  // what one read takes, before it is appended where it belongs
};

int listener(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0 || listen(fd, 4096) < 0) {
    std::perror("bind/listen");
    std::exit(1);
  }
  return fd;
}

}  // namespace

int main(int argc, char** argv) {
  int port = 0;
  int threads = 1;
  std::vector<sockaddr_in> backends;
  for (int i = 1; i + 1 < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--port") port = std::atoi(argv[++i]);
    else if (a == "--threads") threads = std::atoi(argv[++i]);
    else if (a == "--replica") {
      std::string_view url = argv[++i];
      if (url.substr(0, 7) == "http://") url.remove_prefix(7);
      size_t colon = url.rfind(':');
      if (colon == std::string_view::npos) { std::fprintf(stderr, "--replica needs host:port\n"); return 2; }
      sockaddr_in s{};
      s.sin_family = AF_INET;
      s.sin_port = htons(static_cast<uint16_t>(std::atoi(std::string(url.substr(colon + 1)).c_str())));
      if (inet_pton(AF_INET, std::string(url.substr(0, colon)).c_str(), &s.sin_addr) != 1) {
        std::fprintf(stderr, "--replica needs a numeric IPv4 address\n");
        return 2;
      }
      backends.push_back(s);
    }
  }
  if (backends.empty() || threads < 1) { std::fprintf(stderr, "usage: tidal_ceiling_proxy gateway --port P --threads N --replica URL...\n"); return 2; }
  // Scripts start it in the background, where a shell ignores SIGINT: exit on it (and SIGTERM) explicitly.
  std::signal(SIGINT, [](int) { _exit(0); });
  std::signal(SIGTERM, [](int) { _exit(0); });
  std::vector<int> fds{listener(port)};
  sockaddr_in bound{};
  socklen_t len = sizeof bound;
  getsockname(fds[0], reinterpret_cast<sockaddr*>(&bound), &len);
  port = ntohs(bound.sin_port);
  for (int t = 1; t < threads; ++t) fds.push_back(listener(port));
  std::printf("ceiling proxy listening port=%d\n", port);
  std::fflush(stdout);
  std::vector<std::thread> loops;
  for (int t = 0; t < threads; ++t)
    loops.emplace_back([fd = fds[t], &backends] { Loop(fd, backends).run(); });
  for (auto& l : loops) l.join();
}
