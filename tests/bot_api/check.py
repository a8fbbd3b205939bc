"""Checks every Bot API call the tests made against aiogram's models of Telegram's methods.

The fake Bot API (tests/it/fake_bot_api.rs) appends each call it receives to the file named
by SOUK_BOT_API_LOG, one JSON object per line: {"method": ..., "body": ...}. This script
validates each body with aiogram's pydantic model of that method (types, required fields,
nested objects such as prices and keyboards) and, stricter than aiogram, refuses any field
the method does not have, so a misspelt field cannot pass unnoticed.

Usage: python check.py CALLS.jsonl   (exit status 1 on any refused call)
"""

import json
import sys
from collections import Counter

from aiogram import methods
from pydantic import ValidationError


def models():
    """Telegram's method name -> aiogram's model of it."""
    found = {}
    for name in dir(methods):
        cls = getattr(methods, name)
        api = getattr(cls, "__api_method__", None)
        if isinstance(cls, type) and isinstance(api, str):
            found[api] = cls
    return found


def fields(cls):
    names = set()
    for name, info in cls.model_fields.items():
        names.add(info.alias or name)
    return names


def main(path):
    known = models()
    checked, refused = Counter(), []
    with open(path, encoding="utf-8") as calls:
        for n, line in enumerate(calls, 1):
            call = json.loads(line)
            method, body = call["method"], call["body"]
            model = known.get(method)
            if model is None:
                refused.append(f"line {n}: {method} is not a Bot API method")
                continue
            unknown = set(body) - fields(model)
            if unknown:
                refused.append(f"line {n}: {method} has no field {sorted(unknown)}")
            try:
                model.model_validate(body)
            except ValidationError as e:
                refused.append(f"line {n}: {method}: {e}")
            checked[method] += 1
    for method, count in sorted(checked.items()):
        print(f"{count:6} {method}")
    if not checked:
        refused.append("no calls were recorded")
    for problem in refused[:50]:
        print(problem, file=sys.stderr)
    total = sum(checked.values())
    print(f"{total} Bot API calls checked against aiogram's models, {len(refused)} refused")
    return 1 if refused else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
