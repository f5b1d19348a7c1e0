"""Composition, one module per feature.

``core/runtime.py`` builds the infrastructure, then calls each module's ``install(runtime)`` in
:data:`core.runtime.FEATURES` order. An install builds its feature's services with plain
constructor calls, sets them on the runtime under the feature's name, registers its event
handlers (``runtime.handle``) and its timed work (``runtime.scheduler``). Front ends find the
services there: ``BotServices.of(runtime)`` for the bot, ``runtime.web_services()`` for the web.
"""
