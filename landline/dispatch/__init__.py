"""Workers that move accepted texts to carriers and carrier reports back into the store."""
