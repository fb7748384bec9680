"""The real `az` (Debian's azure-cli 2.45), unmodified, logged in to the ARM emulator through a
custom cloud whose Entra endpoint is the emulator's ADFS-style authority. Prints one JSON line
per check ({"check", "ok", "detail"}) and exits 1 when any failed.
Usage: az_checks.py ARM_URL TENANT_ID SUBSCRIPTION_ID CA_FILE"""
import json
import os
import subprocess
import sys
import tempfile
from checks import check, expect, results

ARM, TENANT, SUB, CA = sys.argv[1:5]
HERE = os.path.dirname(os.path.abspath(__file__))
CONFIG_DIR = tempfile.mkdtemp(prefix="azid-az-")
ENV = {
    **os.environ,
    "AZURE_CONFIG_DIR": CONFIG_DIR,
    "REQUESTS_CA_BUNDLE": CA,
    "AZURE_CORE_COLLECT_TELEMETRY": "false",
    "AZURE_CORE_ONLY_SHOW_ERRORS": "true",
    "AZURE_CORE_NO_COLOR": "true",
    # Fixes of Debian's az/SDK packaging mismatch only (see az-shim/sitecustomize.py).
    "PYTHONPATH": os.path.join(HERE, "az-shim"),
}
RG = "az-rg"


def az(*args, ok=True):
    """Runs az; returns its JSON output (or the failed process when ok=False)."""
    done = subprocess.run([os.environ.get("AZ_BINARY", "/usr/bin/az"), *args, "-o", "json"], env=ENV, capture_output=True, text=True, timeout=120)
    if not ok:
        return done
    if done.returncode != 0:
        raise AssertionError(f"az {' '.join(args)} exited {done.returncode}: {done.stderr[-1500:]}")
    return json.loads(done.stdout) if done.stdout.strip() else None


state = {}


@check("az cloud register + az login --service-principal (ADFS-style authority, no instance discovery)")
def _():
    cloud = {
        "endpoints": {
            "resourceManager": f"{ARM}/",
            "activeDirectory": f"{ARM}/adfs",
            "activeDirectoryResourceId": "https://management.core.windows.net/",
            "activeDirectoryGraphResourceId": f"{ARM}/",
            "microsoftGraphResourceId": f"{ARM}/",
            "management": "https://management.core.windows.net/",
        },
        "suffixes": {},
    }
    path = os.path.join(CONFIG_DIR, "sandbox-cloud.json")
    with open(path, "w") as f:
        json.dump(cloud, f)
    az("cloud", "register", "--name", "azid-sandbox", "--cloud-config", f"@{path}")
    az("cloud", "set", "--name", "azid-sandbox")
    accounts = az("login", "--service-principal", "-u", "5b0c8f7e-3a1d-4c2b-9e6f-8d7a1b2c3d4e", "-p", "any-secret",
                  "--tenant", TENANT)
    expect([(a["id"], a["tenantId"]) for a in accounts] == [(SUB, TENANT)], f"the sandbox subscription: {accounts}")
    return f"{len(accounts)} subscription, tenant {accounts[0]['tenantId']}"


@check("az group create / list")
def _():
    expect(az("group", "create", "-n", RG, "-l", "westeurope", "--tags", "by=az")["tags"] == {"by": "az"}, "tags")
    expect(RG in [g["name"] for g in az("group", "list")], "listed")


@check("az identity create / show")
def _():
    created = az("identity", "create", "-g", RG, "-n", "az-id")
    state["identity"] = created
    expect(created["clientId"] and created["principalId"], created)
    expect(az("identity", "show", "-g", RG, "-n", "az-id")["clientId"] == created["clientId"], "show")
    second = az("identity", "create", "-g", RG, "-n", "az-id-2")
    state["second"] = second
    return created["clientId"]


@check("az identity federated-credential create / list / delete")
def _():
    base = ["identity", "federated-credential"]
    where = ["-g", RG, "--identity-name", "az-id"]
    az(*base, "create", *where, "-n", "az-fic", "--issuer", "https://kubernetes.default.svc.cluster.local",
       "--subject", "system:serviceaccount:default:app", "--audiences", "api://AzureADTokenExchange")
    listed = az(*base, "list", *where)
    expect([(f["name"], f["subject"]) for f in listed] == [("az-fic", "system:serviceaccount:default:app")], listed)
    az(*base, "delete", *where, "-n", "az-fic", "--yes")


@check("az role definition list / create / delete")
def _():
    reader = az("role", "definition", "list", "--name", "Reader")
    expect([r["roleName"] for r in reader] == ["Reader"], reader)
    scope = f"/subscriptions/{SUB}/resourceGroups/{RG}"
    definition = {
        "Name": "az custom reader", "Description": "reads identities", "IsCustom": True,
        "Actions": ["Microsoft.ManagedIdentity/userAssignedIdentities/read"], "AssignableScopes": [scope],
    }
    made = az("role", "definition", "create", "--role-definition", json.dumps(definition))
    expect(made["roleName"] == "az custom reader", made)
    az("role", "definition", "delete", "--name", "az custom reader", "--scope", scope)
    return f"{len(reader)} built-in Reader"


@check("az role assignment create by object id, list, delete")
def _():
    principal = state["identity"]["principalId"]
    made = az("role", "assignment", "create", "--assignee-object-id", principal, "--assignee-principal-type",
              "ServicePrincipal", "--role", "Reader", "-g", RG)
    expect(made["principalId"] == principal, made)
    listed = az("role", "assignment", "list", "-g", RG, "--assignee", principal)
    expect([a["roleDefinitionName"] for a in listed] == ["Reader"], listed)
    az("role", "assignment", "delete", "--assignee", principal, "--role", "Reader", "-g", RG)


@check("az role assignment create --assignee <clientId> grants the identity's principal")
def _():
    identity = state["second"]
    made = az("role", "assignment", "create", "--assignee", identity["clientId"], "--role", "Contributor", "-g", RG)
    expect(made["principalId"] == identity["principalId"], f"principal {made['principalId']}, wanted {identity['principalId']}")
    listed = az("role", "assignment", "list", "-g", RG, "--assignee", identity["clientId"])
    expect([a["principalId"] for a in listed] == [identity["principalId"]], listed)
    return f"{identity['clientId']} -> {made['principalId']}"


@check("az vm identity assign / show / remove (user- and system-assigned)")
def _():
    vm_id = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Compute/virtualMachines/az-vm"
    az("resource", "create", "--id", vm_id, "--is-full-object", "--properties", json.dumps({"location": "westeurope", "properties": {}}))
    assigned = az("vm", "identity", "assign", "-g", RG, "-n", "az-vm", "--identities", "az-id")
    # The MSI resource provider spells ids with `resourcegroups`; compare them without case.
    expect([k.lower() for k in assigned["userAssignedIdentities"]] == [state["identity"]["id"].lower()], assigned)
    system = az("vm", "identity", "assign", "-g", RG, "-n", "az-vm")
    expect(system["systemAssignedIdentity"], system)
    az("vm", "identity", "remove", "-g", RG, "-n", "az-vm", "--identities", "az-id")
    after = az("vm", "identity", "show", "-g", RG, "-n", "az-vm")
    expect(after["type"] == "SystemAssigned" and not after.get("userAssignedIdentities"), after)
    return f"system principal {system['systemAssignedIdentity']}"


@check("az identity delete and az group delete")
def _():
    az("identity", "delete", "-g", RG, "-n", "az-id")
    missing = az("identity", "show", "-g", RG, "-n", "az-id", ok=False)
    expect(missing.returncode != 0 and "ResourceNotFound" in missing.stderr, missing.stderr[-500:])
    az("group", "delete", "-n", RG, "--yes")


failed = [r["check"] for r in results if not r["ok"]]
print(json.dumps({"summary": True, "passed": len(results) - len(failed), "total": len(results), "failed": failed}))
sys.exit(1 if failed else 0)
