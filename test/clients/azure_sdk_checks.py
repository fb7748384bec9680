"""The Azure SDK for Python (Debian's python3-azure), each client with its default api-version,
against the ARM emulator. Prints one JSON line per check ({"check", "ok", "detail"}) and exits 1
when any failed. Usage: azure_sdk_checks.py ARM_URL TENANT_ID SUBSCRIPTION_ID
(REQUESTS_CA_BUNDLE names the sandbox CA)."""
import json
import sys
import time
import uuid

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.identity import ClientSecretCredential
from azure.mgmt.authorization import AuthorizationManagementClient
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.msi import ManagedServiceIdentityClient
from azure.mgmt.resource import ResourceManagementClient, SubscriptionClient
from checks import check, expect, results

ARM, TENANT, SUB = sys.argv[1], sys.argv[2], sys.argv[3]
RG = "py-sdk-rg"
credential = ClientSecretCredential(
    TENANT, "7d3c1a52-8f1e-4b39-9d0a-2f6c5e4b1a90", "any-secret", authority=ARM, instance_discovery=False
)
kwargs = {"base_url": ARM}


def api_version(client, group):
    return getattr(client, group)._config.api_version if hasattr(getattr(client, group), "_config") else "?"


subscriptions = SubscriptionClient(credential, **kwargs)
resources = ResourceManagementClient(credential, SUB, **kwargs)
msi = ManagedServiceIdentityClient(credential, SUB, **kwargs)
auth = AuthorizationManagementClient(credential, SUB, **kwargs)
compute = ComputeManagementClient(credential, SUB, **kwargs)
state = {}


@check("subscriptions, tenants and locations (SubscriptionClient's default api-version)")
def _():
    subs = list(subscriptions.subscriptions.list())
    expect(any(s.subscription_id == SUB for s in subs), f"the sandbox subscription is listed: {subs}")
    expect(subscriptions.subscriptions.get(SUB).tenant_id == TENANT, "its tenant")
    tenants = [t.tenant_id for t in subscriptions.tenants.list()]
    locations = [l.name for l in subscriptions.subscriptions.list_locations(SUB)]
    expect(TENANT in tenants and "eastus" in locations, f"{tenants} {locations}")
    return f"api-version {subscriptions._config.api_version}; {len(locations)} locations"


@check("resource groups and providers (ResourceManagementClient's default api-version)")
def _():
    group = resources.resource_groups.create_or_update(RG, {"location": "westeurope", "tags": {"by": "py"}})
    expect(group.name == RG and resources.resource_groups.check_existence(RG), "created and HEAD finds it")
    expect(any(g.name == RG for g in resources.resource_groups.list()), "listed")
    provider = resources.providers.get("Microsoft.ManagedIdentity")
    types = [t.resource_type for t in provider.resource_types]
    expect("userAssignedIdentities" in types, types)
    return f"api-version {resources._config.api_version}"


@check("user-assigned identities: create, get, list, update tags (ManagedServiceIdentityClient default)")
def _():
    identity = msi.user_assigned_identities.create_or_update(RG, "py-id", {"location": "westeurope"})
    expect(identity.client_id and identity.principal_id and identity.tenant_id == TENANT, str(identity))
    state["identity"] = identity
    got = msi.user_assigned_identities.get(RG, "py-id")
    expect(got.client_id == identity.client_id, "get")
    listed = [i.name for i in msi.user_assigned_identities.list_by_resource_group(RG)]
    expect(listed == ["py-id"], listed)
    updated = msi.user_assigned_identities.update(RG, "py-id", {"tags": {"team": "a"}})
    expect(updated.tags == {"team": "a"}, updated.tags)
    return f"api-version {ManagedServiceIdentityClient.DEFAULT_API_VERSION}"


@check("federated identity credentials (the first api-version that has them, 2022-01-31-preview)")
def _():
    fics = ManagedServiceIdentityClient(credential, SUB, api_version="2022-01-31-preview", **kwargs)
    ops = fics.federated_identity_credentials
    ops.create_or_update(RG, "py-id", "py-fic", {
        "issuer": "https://kubernetes.default.svc.cluster.local",
        "subject": "system:serviceaccount:default:app",
        "audiences": ["api://AzureADTokenExchange"],
    })
    got = ops.get(RG, "py-id", "py-fic")
    expect(got.subject == "system:serviceaccount:default:app", got.subject)
    time.sleep(0.05)  # one write per identity at a time (ficWriteSeconds, scaled)
    try:
        ops.create_or_update(RG, "py-id", "bad", {"issuer": "http://plain", "subject": "s", "audiences": ["a"]})
        raise AssertionError("an http issuer was accepted")
    except HttpResponseError as error:
        expect(error.status_code == 400, f"http issuer is 400, got {error.status_code}")
    names = [f.name for f in ops.list(RG, "py-id")]
    expect(names == ["py-fic"], names)
    ops.delete(RG, "py-id", "py-fic")
    return "create, get, refuse an http issuer, list, delete"


@check("role definitions and assignments (AuthorizationManagementClient default)")
def _():
    scope = f"/subscriptions/{SUB}/resourceGroups/{RG}"
    reader = next(iter(auth.role_definitions.list(scope, filter="roleName eq 'Reader'")))
    expect(reader.role_name == "Reader", reader.role_name)
    name = str(uuid.uuid4())
    created = auth.role_assignments.create(scope, name, {
        "role_definition_id": reader.id, "principal_id": state["identity"].principal_id, "principal_type": "ServicePrincipal",
    })
    expect(created.principal_id == state["identity"].principal_id, str(created))
    listed = list(auth.role_assignments.list_for_scope(scope, filter=f"principalId eq '{state['identity'].principal_id}'"))
    expect([a.name for a in listed] == [name], [a.name for a in listed])
    try:
        auth.role_assignments.create(scope, str(uuid.uuid4()), {
            "role_definition_id": reader.id, "principal_id": state["identity"].principal_id, "principal_type": "ServicePrincipal",
        })
        raise AssertionError("a duplicate assignment was accepted")
    except HttpResponseError as error:
        expect(error.error.code == "RoleAssignmentExists", error.error.code)
    custom_id = str(uuid.uuid4())
    custom = auth.role_definitions.create_or_update(scope, custom_id, {
        "role_name": "py custom reader", "description": "reads identities", "role_type": "CustomRole",
        "permissions": [{"actions": ["Microsoft.ManagedIdentity/userAssignedIdentities/read"]}],
        "assignable_scopes": [scope],
    })
    expect(custom.role_name == "py custom reader", custom.role_name)
    auth.role_definitions.delete(scope, custom_id)
    auth.role_assignments.delete(scope, name)
    return f"role assignments api-version {auth.role_assignments._config.api_version}"


@check("a VM's identities: system- and user-assigned, through Compute's long-running PATCH")
def _():
    vm = compute.virtual_machines.begin_create_or_update(RG, "py-vm", {
        "location": "westeurope", "identity": {"type": "SystemAssigned"},
    }).result()
    expect(vm.identity.principal_id, "a system-assigned principal")
    poller = compute.virtual_machines.begin_update(RG, "py-vm", {
        "identity": {"type": "SystemAssigned, UserAssigned", "user_assigned_identities": {state["identity"].id: {}}},
    })
    updated = poller.result()
    ids = [k.lower() for k in (updated.identity.user_assigned_identities or {})]
    expect(ids == [state["identity"].id.lower()], ids)
    expect(updated.provisioning_state == "Succeeded", updated.provisioning_state)
    system = msi.system_assigned_identities.get_by_scope(updated.id)
    expect(system.principal_id == vm.identity.principal_id, "the VM's system-assigned identity by scope")
    removed = compute.virtual_machines.begin_update(RG, "py-vm", {"identity": {"type": "SystemAssigned"}}).result()
    expect(not removed.identity.user_assigned_identities, removed.identity)
    return f"api-version {compute.virtual_machines._config.api_version}"


@check("deletes: identity, then the resource group")
def _():
    msi.user_assigned_identities.delete(RG, "py-id")
    try:
        msi.user_assigned_identities.get(RG, "py-id")
        raise AssertionError("the identity is still there")
    except ResourceNotFoundError:
        pass
    resources.resource_groups.begin_delete(RG).result()
    expect(not resources.resource_groups.check_existence(RG), "the group is gone")


failed = [r["check"] for r in results if not r["ok"]]
print(json.dumps({"summary": True, "passed": len(results) - len(failed), "total": len(results), "failed": failed}))
sys.exit(1 if failed else 0)
