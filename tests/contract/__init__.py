"""One contract suite per port, subclassed by each adapter's test module."""
