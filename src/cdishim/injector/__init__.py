"""The resident injector: the create path without an interpreter start per container.

``cdishim-injector`` keeps the settings and the registry in memory and injects
bundles handed to it over a unix socket by the compiled launcher; the
launcher falls back to the in-process path whenever it does not answer
"injected" or "nothing". Both run `cdishim.injection.pipeline`.
"""
