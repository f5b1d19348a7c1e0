"""Compiled templates shared by every Flask app of a process.

A server builds one app per process; the tests build hundreds, each with its own Jinja
environment, which would compile every template it renders again. Each part of the site that
renders templates (the dashboard, the overlays' pages, the setup page, the sign-in pages) calls
:func:`share_compiled_templates` when it registers on an app. A template whose source changed is
compiled again: Jinja keys the bytecode by the source's checksum.
"""

from __future__ import annotations

from flask import Flask
from jinja2.bccache import Bucket, BytecodeCache


class _CompiledTemplates(BytecodeCache):
    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


COMPILED_TEMPLATES = _CompiledTemplates()


def share_compiled_templates(app: Flask) -> None:
    app.jinja_env.bytecode_cache = COMPILED_TEMPLATES
