"""Host applications built on the checkout, to read and to run."""
