"""The domain: entities, stages and stage policies, the state fold, the pure commands, validation, URI parsing,
typed events and history. No I/O and no clock: callers pass time in, and the store persists what comes out."""
