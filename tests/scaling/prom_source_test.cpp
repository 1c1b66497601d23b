#include <gtest/gtest.h>

#include <yaml-cpp/yaml.h>

#include "common/config/yaml_reader.h"
#include "scaling/io/prom_source.h"

namespace tidal::scaling {
namespace {

TEST(PromSourceTest, ReadsVectorsAsSumsAndScalarsAsIs) {
  auto v = PromSource::parse_value(R"({"status":"success","data":{"resultType":"vector","result":[
    {"metric":{"pod":"a"},"value":[1700000000.123,"2.5"]},{"metric":{"pod":"b"},"value":[1700000000.123,"4"]}]}})");
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_DOUBLE_EQ(*v, 6.5);
  auto s = PromSource::parse_value(R"({"status":"success","data":{"resultType":"scalar","result":[1700000000,"0.75"]}})");
  ASSERT_TRUE(s);
  EXPECT_DOUBLE_EQ(*s, 0.75);
}

TEST(PromSourceTest, ErrorsEmptyResultsAndNonFiniteValuesAreMissing) {
  EXPECT_FALSE(PromSource::parse_value(R"({"status":"error","errorType":"bad_data","error":"parse error at char 5"})"));
  EXPECT_NE(PromSource::parse_value(R"({"status":"error","error":"parse error"})").error().message.find("parse error"),
            std::string::npos);
  EXPECT_FALSE(PromSource::parse_value(R"({"status":"success","data":{"resultType":"vector","result":[]}})"));
  EXPECT_FALSE(PromSource::parse_value(R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"NaN"]}]}})"));
  EXPECT_FALSE(PromSource::parse_value(R"({"status":"success","data":{"resultType":"matrix","result":[]}})"));
  EXPECT_FALSE(PromSource::parse_value("not json"));
}

TEST(PromSourceTest, QueryNamesBecomeMetricNamesAndOthersAreRefused) {
  ScalingConfig c;
  read_scaling(YAML::Load(R"(
policy: hpa
prometheus: {url: "http://127.0.0.1:9090", queries: {gpu_busy: 'avg(DCGM_FI_DEV_GPU_UTIL)'}}
metrics:
- {type: External, external: {metric: {name: gpu_busy}, target: {type: AverageValue, averageValue: 70}}}
)"), "scaling", c);
  EXPECT_TRUE(validate(c, "scaling"));
  ScalingConfig bad;
  try {
    read_scaling(YAML::Load(R"(
policy: hpa
metrics:
- {type: External, external: {metric: {name: gpu_busy}, target: {type: AverageValue, averageValue: 70}}}
)"), "scaling", bad);
    FAIL() << "an undeclared metric name was accepted";
  } catch (const config::KeyError& e) {
    EXPECT_EQ(e.key, "scaling.metrics[0].external.metric.name");
  }
  ScalingConfig shadow;
  read_scaling(YAML::Load("policy: hpa\nprometheus: {url: 'http://p:9090', queries: {concurrency: 'x'}}\n"
                          "metrics: [{type: External, external: {metric: {name: concurrency}, target: {type: Value, value: 3}}}]"),
               "scaling", shadow);
  auto ok = validate(shadow, "scaling");
  ASSERT_FALSE(ok);
  EXPECT_EQ(ok.error().param, "scaling.prometheus.queries.concurrency");
}

}  // namespace
}  // namespace tidal::scaling
