"""The official Python Kubernetes client (Debian's python3-kubernetes) against the Kubernetes
emulator: a controller's life and a user's. Prints one JSON line per check
({"check", "ok", "detail"}) and exits 1 when any failed. Usage: kube_checks.py KUBECONFIG"""
import base64
import json
import sys
import threading
import time
import urllib.request

from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException
from checks import check, expect, results

config.load_kube_config(config_file=sys.argv[1])
api = client.ApiClient()
core = client.CoreV1Api(api)
apps = client.AppsV1Api(api)
NS = "py-client"


def status_of(call):
    try:
        call()
    except ApiException as error:
        return error.status, json.loads(error.body or "{}")
    return 200, {}


def raw(method, path, body=None, content_type="application/json", query=None):
    """A request with a content type the generated methods cannot choose (merge patch, apply)."""
    return api.call_api(
        path, method, query_params=query or [], header_params={"Content-Type": content_type, "Accept": "application/json"},
        body=body, response_type="object", auth_settings=["BearerToken"], _return_http_data_only=True,
    )


def cm(name, data=None, labels=None, finalizers=None):
    return client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name=name, labels=labels, finalizers=finalizers), data=data or {}
    )


core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=NS)))


@check("version and discovery")
def _():
    info = client.VersionApi(api).get_code()
    groups = client.ApisApi(api).get_api_versions()
    expect(info.major and any(g.name == "apps" for g in groups.groups), "version and the apps group")
    return f"{info.git_version}, {len(groups.groups)} groups"


@check("list then watch from the list's resourceVersion with bookmarks (watch=True)")
def _():
    core.create_namespaced_config_map(NS, cm("before"))
    listed = core.list_namespaced_config_map(NS)
    rv = listed.metadata.resource_version
    threading.Timer(0.3, lambda: core.create_namespaced_config_map(NS, cm("during"))).start()
    seen = []
    started = time.monotonic()
    for event in watch.Watch().stream(
        core.list_namespaced_config_map, NS, resource_version=rv, allow_watch_bookmarks=True, timeout_seconds=3
    ):
        seen.append((event["type"], event["raw_object"]["metadata"].get("name")))
    elapsed = time.monotonic() - started
    expect(("ADDED", "during") in seen, f"the new object arrives as ADDED: {seen}")
    expect(("ADDED", "before") not in seen, f"nothing from before the list: {seen}")
    expect(any(t == "BOOKMARK" for t, _ in seen), f"a bookmark before the timeout: {seen}")
    expect(2.5 < elapsed < 6, f"the watch lasted its timeoutSeconds (one request, no hot loop): {elapsed:.1f}s")
    return f"{seen} in {elapsed:.1f}s"


@check("410 Expired on a compacted resourceVersion, then relist and watch")
def _():
    old = core.list_namespaced_config_map(NS).metadata.resource_version
    for i in range(30):  # the emulator under test keeps 20 events per resource
        core.create_namespaced_config_map(NS, cm(f"churn-{i}"))
    code = None
    try:
        for _event in watch.Watch().stream(core.list_namespaced_config_map, NS, resource_version=old, timeout_seconds=2):
            pass
    except ApiException as error:
        code = error.status
    expect(code == 410, f"410 after the client's one retry, got {code}")
    relisted = core.list_namespaced_config_map(NS)
    threading.Timer(0.2, lambda: core.delete_namespaced_config_map("churn-0", NS)).start()
    events = [
        (e["type"], e["object"].metadata.name)
        for e in watch.Watch().stream(
            core.list_namespaced_config_map, NS, resource_version=relisted.metadata.resource_version, timeout_seconds=1
        )
    ]
    expect(("DELETED", "churn-0") in events, f"the relisted watch sees the delete: {events}")
    return f"relisted {len(relisted.items)} objects"


@check("patches: strategic merge, JSON merge, JSON patch with test")
def _():
    core.create_namespaced_config_map(NS, cm("patched", {"a": "1"}, labels={"app": "x"}))
    core.patch_namespaced_config_map("patched", NS, {"data": {"b": "2"}})  # strategic merge (a dict)
    raw("PATCH", f"/api/v1/namespaces/{NS}/configmaps/patched", {"data": {"a": None, "c": "3"}},
        "application/merge-patch+json")
    core.patch_namespaced_config_map(
        "patched", NS, [{"op": "test", "path": "/data/b", "value": "2"}, {"op": "add", "path": "/data/d", "value": "4"}]
    )
    code, body = status_of(lambda: core.patch_namespaced_config_map(
        "patched", NS, [{"op": "test", "path": "/data/b", "value": "nope"}]))
    got = core.read_namespaced_config_map("patched", NS).data
    expect(got == {"b": "2", "c": "3", "d": "4"}, f"data after three patches: {got}")
    expect(code == 422, f"a failed test op is 422: {code} {body.get('message')}")
    return json.dumps(got)


@check("server-side apply: conflict without force, force=True takes ownership")
def _():
    path = f"/api/v1/namespaces/{NS}/configmaps/applied"
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "applied", "namespace": NS}, "data": {"k": "one"}}

    def apply(manager, force=None):
        query = [("fieldManager", manager)] + ([("force", force)] if force is not None else [])
        # python3-kubernetes 22 sends an apply body only as a string (its REST layer knows JSON types only).
        return raw("PATCH", path, json.dumps(body), "application/apply-patch+yaml", query)

    apply("first")
    body["data"]["k"] = "two"
    code, conflict = status_of(lambda: apply("second"))
    expect(code == 409, f"a conflicting apply is 409, got {code}")
    apply("second", True)  # the client spells it force=True
    live = core.read_namespaced_config_map("applied", NS)
    managers = sorted(m.manager for m in live.metadata.managed_fields)
    expect(live.data == {"k": "two"}, f"forced apply wrote: {live.data}")
    expect(managers == ["second"], f"the forced manager owns the field: {managers}")
    return f"conflict: {conflict.get('message')}; managers after force {managers}"


@check("status subresource and generation (Deployment)")
def _():
    dep = client.V1Deployment(
        metadata=client.V1ObjectMeta(name="web"),
        spec=client.V1DeploymentSpec(
            replicas=1,
            selector=client.V1LabelSelector(match_labels={"app": "web"}),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels={"app": "web"}),
                spec=client.V1PodSpec(containers=[client.V1Container(name="c", image="nginx")]),
            ),
        ),
    )
    created = apps.create_namespaced_deployment(NS, dep)
    apps.patch_namespaced_deployment_status("web", NS, {"status": {"replicas": 1, "readyReplicas": 1}})
    apps.patch_namespaced_deployment("web", NS, {"status": {"replicas": 9}})  # ignored by the main endpoint
    live = apps.read_namespaced_deployment("web", NS)
    expect(live.status.replicas == 1 and live.status.ready_replicas == 1, f"status: {live.status}")
    expect(live.metadata.generation == created.metadata.generation, "status writes leave generation alone")
    return f"generation {live.metadata.generation}"


@check("scale subresource (Deployment): read, patch, replace")
def _():
    scale = apps.read_namespaced_deployment_scale("web", NS)
    expect(scale.spec.replicas == 1 and scale.status.selector == "app=web", f"scale: {scale}")
    apps.patch_namespaced_deployment_scale("web", NS, {"spec": {"replicas": 3}})
    scale = apps.read_namespaced_deployment_scale("web", NS)
    scale.spec.replicas = 4
    apps.replace_namespaced_deployment_scale("web", NS, scale)
    live = apps.read_namespaced_deployment("web", NS)
    expect(live.spec.replicas == 4, f"replicas {live.spec.replicas}")
    code, _ = status_of(lambda: apps.patch_namespaced_deployment_scale("web", NS, {"spec": {"replicas": -1}}))
    expect(code == 422, f"negative replicas are 422, got {code}")
    return "replicas 1 -> 3 -> 4"


@check("finalizers: delete marks, removing the last finalizer removes")
def _():
    core.create_namespaced_config_map(NS, cm("guarded", finalizers=["example.com/guard"]))
    core.delete_namespaced_config_map("guarded", NS)
    marked = core.read_namespaced_config_map("guarded", NS)
    expect(marked.metadata.deletion_timestamp is not None, "deletionTimestamp set")
    core.patch_namespaced_config_map("guarded", NS, [{"op": "remove", "path": "/metadata/finalizers"}])
    code, _ = status_of(lambda: core.read_namespaced_config_map("guarded", NS))
    expect(code == 404, f"gone after the last finalizer, got {code}")


@check("leases: create, renew, stale update is 409")
def _():
    coordination = client.CoordinationV1Api(api)
    lease = coordination.create_namespaced_lease(
        NS,
        client.V1Lease(
            metadata=client.V1ObjectMeta(name="leader"),
            spec=client.V1LeaseSpec(holder_identity="a", lease_duration_seconds=15),
        ),
    )
    stale = coordination.read_namespaced_lease("leader", NS)
    lease.spec.holder_identity = "b"
    coordination.replace_namespaced_lease("leader", NS, lease)
    stale.spec.holder_identity = "c"
    code, body = status_of(lambda: coordination.replace_namespaced_lease("leader", NS, stale))
    expect(code == 409, f"stale renew is 409, got {code}")
    expect(coordination.read_namespaced_lease("leader", NS).spec.holder_identity == "b", "holder b")


@check("events: core/v1 and events.k8s.io/v1, listed by field selector")
def _():
    ref = client.V1ObjectReference(kind="ConfigMap", name="patched", namespace=NS, api_version="v1")
    core.create_namespaced_event(
        NS,
        client.CoreV1Event(
            metadata=client.V1ObjectMeta(name="ev1"), involved_object=ref, reason="Tested", message="hello",
            type="Normal", count=1,
        ),
    )
    events_v1 = client.EventsV1Api(api)
    events_v1.create_namespaced_event(
        NS,
        client.EventsV1Event(
            metadata=client.V1ObjectMeta(name="ev2"), regarding=ref, reason="Tested2", note="hi", type="Warning",
            action="Check", reporting_controller="py/checks", reporting_instance="py-1",
            event_time=__import__("datetime").datetime.now(__import__("datetime").timezone.utc),
        ),
    )
    core_listed = core.list_namespaced_event(NS, field_selector="involvedObject.name=patched")
    # events.k8s.io/v1 shows a core event without eventTime as eventTime null, which this client's
    # model refuses (as against any API server): list the one written through events.k8s.io.
    new_listed = events_v1.list_namespaced_event(NS, field_selector="regarding.name=patched,type=Warning")
    expect(len(core_listed.items) == 2 and len(new_listed.items) == 1, f"{len(core_listed.items)}, {len(new_listed.items)}")
    expect(new_listed.items[0].note == "hi", new_listed.items[0].note)
    return "both events through core/v1, the new one through events.k8s.io/v1"


@check("CRD: create, established, custom objects with status and scale")
def _():
    ext = client.ApiextensionsV1Api(api)
    schema = {
        "type": "object",
        "properties": {
            "spec": {"type": "object", "properties": {"size": {"type": "integer", "minimum": 0}}},
            "status": {"type": "object", "properties": {"size": {"type": "integer"}, "selector": {"type": "string"}}},
        },
    }
    ext.create_custom_resource_definition({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com",
            "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
            "versions": [{
                "name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": schema},
                "subresources": {"status": {}, "scale": {
                    "specReplicasPath": ".spec.size", "statusReplicasPath": ".status.size",
                    "labelSelectorPath": ".status.selector"}},
            }],
        },
    })
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        crd = ext.read_custom_resource_definition("widgets.example.com")
        if any(c.type == "Established" and c.status == "True" for c in (crd.status.conditions or [])):
            break
        time.sleep(0.1)
    else:
        raise AssertionError("CRD not Established")
    custom = client.CustomObjectsApi(api)
    args = ("example.com", "v1", NS, "widgets")
    custom.create_namespaced_custom_object(*args, {"apiVersion": "example.com/v1", "kind": "Widget",
                                                   "metadata": {"name": "w1", "labels": {"tier": "a"}}, "spec": {"size": 2, "junk": 1}})
    code, body = status_of(lambda: custom.create_namespaced_custom_object(
        *args, {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w2"}, "spec": {"size": -1}}))
    expect(code == 422, f"schema violation is 422, got {code}")
    custom.patch_namespaced_custom_object_status(*args, "w1", {"status": {"size": 2, "selector": "tier=a"}})
    custom.patch_namespaced_custom_object_scale(*args, "w1", {"spec": {"replicas": 5}})
    scale = custom.get_namespaced_custom_object_scale(*args, "w1")
    w1 = custom.get_namespaced_custom_object(*args, "w1")
    expect("junk" not in w1["spec"], "unknown fields pruned")
    expect(w1["spec"]["size"] == 5 and scale["status"]["selector"] == "tier=a", f"{w1['spec']} {scale}")
    return f"scale {scale['spec']} {scale['status']}"


@check("selectors: label set-based and field selectors")
def _():
    for name, tier in (("sel-a", "a"), ("sel-b", "b"), ("sel-c", "c")):
        core.create_namespaced_config_map(NS, cm(name, labels={"tier": tier, "sel": "yes"}))
    names = lambda items: sorted(i.metadata.name for i in items)  # noqa: E731
    in_ab = names(core.list_namespaced_config_map(NS, label_selector="sel,tier in (a,b)").items)
    not_a = names(core.list_namespaced_config_map(NS, label_selector="sel=yes,tier!=a").items)
    by_name = names(core.list_namespaced_config_map(NS, field_selector="metadata.name=sel-c").items)
    expect(in_ab == ["sel-a", "sel-b"] and not_a == ["sel-b", "sel-c"] and by_name == ["sel-c"],
           f"{in_ab} {not_a} {by_name}")


@check("dry run stores nothing")
def _():
    made = core.create_namespaced_config_map(NS, cm("dry"), dry_run="All")
    code, _ = status_of(lambda: core.read_namespaced_config_map("dry", NS))
    expect(made.metadata.name == "dry" and code == 404, f"dry-run create answered, not stored ({code})")
    core.patch_namespaced_config_map("patched", NS, {"data": {"z": "9"}}, dry_run="All")
    expect("z" not in core.read_namespaced_config_map("patched", NS).data, "dry-run patch stored nothing")


@check("serviceaccounts/token: a JWT the issuer's JWKS verifies")
def _():
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    core.create_namespaced_service_account(NS, client.V1ServiceAccount(metadata=client.V1ObjectMeta(name="app")))
    request = client.AuthenticationV1TokenRequest(
        spec=client.V1TokenRequestSpec(audiences=["api://AzureADTokenExchange"], expiration_seconds=3600)
    )
    token = core.create_namespaced_service_account_token("app", NS, request).status.token
    head, payload, signature = token.split(".")
    pad = lambda s: base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))  # noqa: E731
    claims = json.loads(pad(payload))
    host = api.configuration.host
    discovery = json.load(urllib.request.urlopen(f"{host}/.well-known/openid-configuration"))
    jwks = json.load(urllib.request.urlopen(discovery["jwks_uri"]))
    kid = json.loads(pad(head))["kid"]
    jwk = next(k for k in jwks["keys"] if k["kid"] == kid)
    key = rsa.RSAPublicNumbers(int.from_bytes(pad(jwk["e"]), "big"), int.from_bytes(pad(jwk["n"]), "big")).public_key()
    key.verify(pad(signature), f"{head}.{payload}".encode(), padding.PKCS1v15(), hashes.SHA256())
    expect(claims["iss"] == discovery["issuer"], f"iss {claims['iss']} is the discovery issuer")
    expect(claims["sub"] == f"system:serviceaccount:{NS}:app", claims["sub"])
    expect(claims["aud"] == ["api://AzureADTokenExchange"], claims["aud"])
    code, _ = status_of(lambda: core.create_namespaced_service_account_token(
        "app", NS, client.AuthenticationV1TokenRequest(spec=client.V1TokenRequestSpec(audiences=["x"], expiration_seconds=60))))
    expect(code == 422, f"a 60 s token is refused (at least 10 minutes), got {code}")
    missing, _ = status_of(lambda: core.create_namespaced_service_account_token("nobody", NS, request))
    expect(missing == 404, f"a missing service account is 404, got {missing}")
    return f"issuer {discovery['issuer']}"


@check("namespace deletion: Terminating, writes refused, then gone")
def _():
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="py-doomed")))
    core.create_namespaced_config_map("py-doomed", cm("inside"))
    core.delete_namespace("py-doomed")
    phase = core.read_namespace("py-doomed").status.phase
    code, body = status_of(lambda: core.create_namespaced_config_map("py-doomed", cm("late")))
    expect(phase == "Terminating", f"phase {phase}")
    expect(code == 403 and body.get("reason") == "Forbidden", f"create refused while terminating: {code} {body}")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if status_of(lambda: core.read_namespace("py-doomed"))[0] == 404:
            return "Terminating, then removed"
        time.sleep(0.1)
    raise AssertionError("the namespace was never removed")


failed = [r["check"] for r in results if not r["ok"]]
print(json.dumps({"summary": True, "passed": len(results) - len(failed), "total": len(results), "failed": failed}))
sys.exit(1 if failed else 0)
