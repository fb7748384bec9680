import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Metrics } from "../../src/observability/metrics.js";
import { findObject, NAMESPACE, RELEASE, renderChart } from "./helm.js";
import { VALUE_SETS } from "./value-sets.js";

const objects = renderChart(VALUE_SETS["monitoring on"] as object);

/** Every series name the controller exposes, histograms with their _bucket/_sum/_count. */
async function exportedSeries(): Promise<Set<string>> {
  const metrics = new Metrics();
  const names = new Set<string>();
  for (const metric of await metrics.registry.getMetricsAsJSON()) {
    names.add(metric.name);
    if (String(metric.type) === "histogram")
      for (const suffix of ["_bucket", "_sum", "_count"]) names.add(metric.name + suffix);
  }
  return names;
}

/** Metric names a PromQL expression selects (`name{...}`), leaving out Prometheus's own `up`. */
function selectedMetrics(expr: string): string[] {
  return [...expr.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\{/g)]
    .map((m) => m[1] as string)
    .filter((n) => n !== "up");
}

describe("monitoring", () => {
  test("the ServiceMonitor scrapes the metrics Service's port in the release namespace", () => {
    const monitor = findObject(objects, "ServiceMonitor");
    const service = findObject(objects, "Service", `${RELEASE}-metrics`);
    assert.equal(monitor.metadata.labels?.release, "prometheus");
    assert.deepEqual(monitor.spec.namespaceSelector, { matchNames: [NAMESPACE] });
    for (const [key, value] of Object.entries(monitor.spec.selector.matchLabels)) {
      assert.equal(service.metadata.labels?.[key], value, `the Service carries ${key}`);
    }
    assert.equal(monitor.spec.endpoints[0].port, service.spec.ports[0].name);
    assert.equal(monitor.spec.endpoints[0].path, "/metrics");
  });

  test("the PrometheusRule alerts on reconcile errors, throttling and TenantMismatch, on metrics the controller exports", async () => {
    const rule = findObject(objects, "PrometheusRule");
    const alerts = rule.spec.groups.flatMap((g: { rules: { alert: string; expr: string }[] }) => g.rules);
    const names = alerts.map((a: { alert: string }) => a.alert);
    for (const wanted of [
      "AzidReconcileErrors",
      "AzidArmThrottled",
      "AzidTenantMismatch",
      "AzidReconcileStopped",
      "AzidControllerDown",
    ]) {
      assert.ok(names.includes(wanted), wanted);
    }
    const series = await exportedSeries();
    for (const alert of alerts) {
      assert.ok(alert.expr.includes(`namespace="${NAMESPACE}", service="${RELEASE}-metrics"`), alert.alert);
      for (const metric of selectedMetrics(alert.expr))
        assert.ok(series.has(metric), `${alert.alert}: ${metric}`);
      assert.ok(alert.labels.severity, alert.alert);
      assert.ok(alert.annotations.summary && alert.annotations.description, alert.alert);
    }
    const mismatch = alerts.find((a: { alert: string }) => a.alert === "AzidTenantMismatch");
    assert.match(mismatch.expr, /azid_tenant_mismatch/);
  });

  test("the alert thresholds come from values", () => {
    const custom = renderChart({ metrics: { prometheusRule: { enabled: true, reconcileErrorRatio: 0.2 } } });
    const rules = findObject(custom, "PrometheusRule").spec.groups[0].rules;
    assert.match(
      rules.find((r: { alert: string }) => r.alert === "AzidReconcileErrors").expr,
      />\s*0\.2\s*$/,
    );
  });

  test("the Grafana dashboard is valid JSON for the sidecar, on metrics the controller exports", async () => {
    const configMap = findObject(objects, "ConfigMap", `${RELEASE}-dashboard`);
    assert.equal(configMap.metadata.namespace, "monitoring");
    assert.equal(configMap.metadata.labels?.grafana_dashboard, "1");
    const dashboard = JSON.parse(configMap.data["azid.json"]);
    assert.equal(dashboard.uid, "azid");
    const series = await exportedSeries();
    const exprs: string[] = dashboard.panels.flatMap((p: { targets: { expr: string }[] }) =>
      p.targets.map((t) => t.expr),
    );
    assert.ok(exprs.length >= 10);
    const used = new Set(exprs.flatMap(selectedMetrics));
    for (const metric of used) assert.ok(series.has(metric), metric);
    for (const metric of [
      "controller_runtime_reconcile_total",
      "workqueue_depth",
      "azid_arm_throttled_total",
      "azid_tenant_mismatch",
    ]) {
      assert.ok(used.has(metric), `the dashboard shows ${metric}`);
    }
  });
});
