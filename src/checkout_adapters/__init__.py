"""checkout adapters: the core plugged into databases, caches, gateways and the web."""
