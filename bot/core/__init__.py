"""The transport-free core: everything a channel needs, with no I/O of its own but storage."""
