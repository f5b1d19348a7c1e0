"""Composition, one module per feature.

``core/runtime.py`` builds the parts every feature builds on (``assembly.py``, with
``infrastructure.py``), then calls each module's ``install(runtime)`` in
:data:`core.runtime.FEATURES` order. An install builds its feature's services with plain
constructor calls, sets them on the runtime under the names :class:`core.services.FeatureServices`
declares, registers its event handlers (``runtime.handle``) and its timed work
(``runtime.scheduler``). ``front_ends.py`` hands the services to the front ends
(``BotServices``, ``DashboardConfig``, ``WebServices``); the installs know only ``Assembly``, so
nothing here imports ``core/runtime.py`` back.
"""
