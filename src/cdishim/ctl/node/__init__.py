"""``cdishim-ctl node``: put a self-contained cdishim on a host, register it with the engine, take it away again."""
