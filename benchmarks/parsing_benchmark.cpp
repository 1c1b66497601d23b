#include <benchmark/benchmark.h>

#include <string>

#include "http/sse.h"
#include "openai/request.h"

namespace tidal {
namespace {

void BM_ParseChatRequest(benchmark::State& state) {
  const std::string body = R"({"model":"m","messages":[{"role":"user","content":")" +
                           std::string(static_cast<size_t>(state.range(0)), 'a') + R"("}],"max_tokens":64,"stream":true})";
  for (auto _ : state) benchmark::DoNotOptimize(openai::parse_completion_request(openai::Endpoint::kChat, body));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
}
BENCHMARK(BM_ParseChatRequest)->Arg(256)->Arg(8192);

void BM_SseParse(benchmark::State& state) {
  std::string stream;
  for (int i = 0; i < 100; ++i) {
    stream += http::sse_event(R"({"id":"chatcmpl-1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":" tide"}}]})");
  }
  size_t events = 0;
  for (auto _ : state) {
    http::SseParser p([&](std::string_view) { ++events; });
    p.feed(stream);
  }
  benchmark::DoNotOptimize(events);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * 100));
}
BENCHMARK(BM_SseParse);

}  // namespace
}  // namespace tidal
