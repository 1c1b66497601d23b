#include "sim/html_report.h"

#include <boost/json.hpp>

#include "sim/chartjs_asset.h"
#include "sim/report.h"

namespace tidal::sim {
namespace {

// Escapes "</" so the embedded JSON cannot close the script element.
std::string script_safe(std::string s) {
  for (size_t pos = 0; (pos = s.find("</", pos)) != std::string::npos; pos += 3) s.replace(pos, 2, "<\\/");
  return s;
}

constexpr const char* kPage = R"HTML(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tidal simulate report</title>
<style>
body{font-family:system-ui,sans-serif;margin:24px;color:#1d2733;background:#fafbfc}
h1{font-size:20px} h2{font-size:15px;margin:18px 0 6px}
table{border-collapse:collapse;font-size:13px;margin-bottom:12px} td,th{border:1px solid #d0d7de;padding:4px 8px;text-align:right}
th:first-child,td:first-child{text-align:left} .chart{background:#fff;border:1px solid #d0d7de;padding:8px;margin-bottom:14px;height:260px}
</style></head><body>
<h1>tidal simulate</h1><div id="workload"></div>
<table id="summary"></table>
<div id="charts"></div>
<script>%CHARTJS%</script>
<script>
const data = %DATA%;
const runs = data.runs;
document.getElementById('workload').textContent = runs[0].workload;
const rows = [['policy','policy'],['requests','requests'],['availability','availability'],['SLO attainment','slo_attainment'],
  ['TTFT p95 ms',r=>r.ttft_ms.p95],['E2E p95 ms',r=>r.e2e_ms.p95],['cost $','cost_usd'],['GPU-hours','gpu_hours'],
  ['over-provisioning %','overprovisioning_pct'],['scale-up latency s','scale_up_latency_s'],['scaling events','scaling_events']];
const table = document.getElementById('summary');
for (const [label, key] of rows) {
  const tr = table.insertRow(); tr.insertCell().textContent = label;
  for (const r of runs) { let v = typeof key === 'function' ? key(r) : r[key];
    if (typeof v === 'number' && !Number.isInteger(v)) v = v.toFixed(3); tr.insertCell().textContent = v === null ? '-' : v; }
}
const palette = ['#2563eb','#dc2626','#16a34a','#9333ea','#ea580c','#0891b2'];
function chart(title, series, opts = {}) {
  const box = document.createElement('div'); box.className = 'chart';
  const h = document.createElement('h2'); h.textContent = title; document.getElementById('charts').append(h, box);
  const canvas = document.createElement('canvas'); box.append(canvas);
  new Chart(canvas, {type: 'line', data: {datasets: series},
    options: {animation: false, maintainAspectRatio: false, parsing: false, normalized: true,
      elements: {point: {radius: 0}}, interaction: {mode: 'nearest', axis: 'x', intersect: false},
      scales: {x: {type: 'linear', title: {display: true, text: 'time (h)'}},
               y: {stacked: !!opts.stacked, beginAtZero: true, title: {display: true, text: opts.unit || ''}}}}});
}
const pts = (r, f) => r.series.map(p => ({x: p.t_s / 3600, y: f(p)}));
const each = f => runs.map((r, i) => ({label: r.policy, borderColor: palette[i % palette.length], data: pts(r, f), borderWidth: 1.5}));
chart('Arrivals', [{label: 'req/s', borderColor: '#475569', data: pts(runs[0], p => p.arrivals_rps), borderWidth: 1.5}], {unit: 'req/s'});
runs.forEach((r, i) => chart('Replicas by state — ' + r.policy, [
  {label: 'ready', data: pts(r, p => p.ready), borderColor: '#16a34a', backgroundColor: '#16a34a55', fill: true},
  {label: 'starting', data: pts(r, p => p.starting), borderColor: '#f59e0b', backgroundColor: '#f59e0b55', fill: true},
  {label: 'draining', data: pts(r, p => p.draining), borderColor: '#64748b', backgroundColor: '#64748b55', fill: true}],
  {stacked: true, unit: 'replicas'}));
chart('Gateway queue depth', each(p => p.queue_depth), {unit: 'requests'});
const slo = runs[0].slo.ttft_ms;
chart('TTFT p95', each(p => p.ttft_p95_ms).concat(slo > 0 ? [{label: 'SLO', borderColor: '#000', borderDash: [6, 4],
  data: runs[0].series.map(p => ({x: p.t_s / 3600, y: slo})), borderWidth: 1}] : []), {unit: 'ms'});
chart('Cost', each(p => p.cost_usd), {unit: '$'});
</script></body></html>
)HTML";

}  // namespace

std::string to_html(const std::vector<SimResult>& runs) {
  std::string page = kPage;
  const std::string data = script_safe(to_json(runs));
  const std::string chart = script_safe(std::string(chartjs_source()));
  page.replace(page.find("%CHARTJS%"), 9, chart);
  page.replace(page.find("%DATA%"), 6, data);
  return page;
}

}  // namespace tidal::sim
