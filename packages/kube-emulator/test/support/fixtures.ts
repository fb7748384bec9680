// The custom resource the suites exercise: Widget (example.com/v1), namespaced, with a
// status subresource and printer columns, and helpers to register it and make objects.
import assert from "node:assert/strict";
import type { RawClient } from "./raw-client.js";

export const WIDGETS = "/apis/example.com/v1/namespaces/default/widgets";
export const CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";

export function widgetCrd(): Record<string, unknown> {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: "widgets.example.com" },
    spec: {
      group: "example.com",
      scope: "Namespaced",
      names: {
        plural: "widgets",
        singular: "widget",
        kind: "Widget",
        shortNames: ["wd"],
        categories: ["all"],
      },
      versions: [
        {
          name: "v1",
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            { name: "Size", type: "integer", jsonPath: ".spec.size" },
            { name: "Ready", type: "string", jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
            { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
          ],
          schema: {
            openAPIV3Schema: {
              type: "object",
              properties: {
                spec: {
                  type: "object",
                  properties: {
                    size: { type: "integer" },
                    color: { type: "string" },
                    tags: { type: "array", items: { type: "string" }, "x-kubernetes-list-type": "set" },
                  },
                },
                status: {
                  type: "object",
                  properties: {
                    phase: { type: "string" },
                    observedGeneration: { type: "integer" },
                    conditions: {
                      type: "array",
                      "x-kubernetes-list-type": "map",
                      "x-kubernetes-list-map-keys": ["type"],
                      items: {
                        type: "object",
                        required: ["type", "status"],
                        properties: {
                          type: { type: "string" },
                          status: { type: "string" },
                          reason: { type: "string" },
                          message: { type: "string" },
                          lastTransitionTime: { type: "string", format: "date-time" },
                        },
                      },
                    },
                  },
                },
              },
            },
          },
        },
      ],
    },
  };
}

export function widget(
  name: string,
  spec: Record<string, unknown> = { size: 1 },
  metadata: Record<string, unknown> = {},
) {
  return { apiVersion: "example.com/v1", kind: "Widget", metadata: { name, ...metadata }, spec };
}

/** Creates a CRD and waits until its resource is served. */
export async function registerCrd(
  client: RawClient,
  crd: Record<string, unknown>,
  resourcePath: string,
): Promise<void> {
  const created = await client.post(CRDS, crd);
  assert.equal(created.status, 201, created.text);
  for (let attempt = 0; attempt < 200; attempt++) {
    const list = await client.get(resourcePath);
    if (list.status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.fail(`${resourcePath} was never served`);
}
