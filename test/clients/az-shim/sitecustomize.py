"""Client-side fixes of two mismatches between Debian's azure-cli 2.45 and Debian's own Azure SDK
packages (the same commands fail against real Azure). Loaded by Python at start when this folder
is on PYTHONPATH; it changes nothing the emulator answers.

1. az's role module reads `operations.config`, which the newer azure-mgmt-authorization names
   `_config` ('RoleDefinitionsOperations' object has no attribute 'config').
2. az asks Compute api-version 2022-11-01, which Debian's azure-mgmt-compute does not ship
   ("API version 2022-11-01 does not have operation group 'virtual_machines'"): use 2022-08-01,
   the newest it has.
"""
import importlib


def _authorization_config():
    for version in ("v2018_01_01_preview", "v2020_04_01_preview", "v2022_04_01"):
        try:
            module = importlib.import_module(f"azure.mgmt.authorization.{version}.operations")
        except ImportError:
            continue
        for name in dir(module):
            cls = getattr(module, name)
            if isinstance(cls, type) and name.endswith("Operations") and not hasattr(cls, "config"):
                cls.config = property(lambda self: self._config)


def _compute_api_version():
    try:
        from azure.cli.core.profiles import _shared
    except ImportError:
        return
    profile = _shared.AZURE_API_PROFILES["latest"][_shared.ResourceType.MGMT_COMPUTE]
    for group, version in list(profile.profile.items()):
        if version == "2022-11-01":
            profile.profile[group] = "2022-08-01"


_authorization_config()
_compute_api_version()
