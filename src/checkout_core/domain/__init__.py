"""The domain: pure values and aggregates, and the rules of money, pricing and state."""
