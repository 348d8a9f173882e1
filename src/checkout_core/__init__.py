"""checkout: an embeddable checkout for Python."""
