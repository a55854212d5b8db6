"""``cdishim-ctl device-plugin``: a Kubernetes device plugin for any CDI kind."""
