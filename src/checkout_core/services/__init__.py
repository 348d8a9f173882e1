"""Use cases: the core's services, which reach the world only through ports."""
