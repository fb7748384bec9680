"""The harness the client check scripts share: each check runs once, its outcome printed as a JSON line."""
import json
import time
import traceback

results = []


def check(name):
    """Runs the decorated function as the check `name`; every failure is reported, none is fatal."""

    def wrap(fn):
        started = time.monotonic()
        try:
            detail = fn()
            results.append({"check": name, "ok": True, "detail": detail or ""})
        except Exception as error:  # noqa: BLE001 - every failure is reported, none is fatal
            results.append({"check": name, "ok": False, "detail": f"{error!r}\n{traceback.format_exc(limit=3)}"})
        results[-1]["seconds"] = round(time.monotonic() - started, 2)
        print(json.dumps(results[-1]), flush=True)
        return fn

    return wrap


def expect(condition, message):
    if not condition:
        raise AssertionError(message)
